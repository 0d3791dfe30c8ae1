bucket         = "newsflow-tfstate"
key            = "preprod/terraform.tfstate"
region         = "eu-west-1"
dynamodb_table = "newsflow-tflock"
encrypt        = true
