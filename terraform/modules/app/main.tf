# The news-sentiment application, described once for every environment.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  prefix           = "${var.environment}-"
  account_id       = data.aws_caller_identity.current.account_id
  region           = data.aws_region.current.name
  partition        = data.aws_partition.current.partition
  analysis_timeout = 60
}

locals {
  functions = {
    ingestion = module.ingestion
    analysis  = module.analysis
    dashboard = module.dashboard
    canary    = module.canary
  }
}
