bucket         = "newsflow-tfstate"
key            = "prod/terraform.tfstate"
region         = "eu-west-1"
dynamodb_table = "newsflow-tflock"
encrypt        = true
