# Rendered by securecart-tf from the access matrix; edit the matrix, not this file.
# Stack organization: organization layer in account management.

terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60.0, < 6.0.0"
    }
  }

  # State lives outside the build folder; securecart-tf passes its path at init.
  backend "local" {}
}

provider "aws" {
  region = var.region

  # The sandbox: endpoints and throwaway credentials come from the environment securecart-tf sets.
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
  max_retries                 = 2

  default_tags {
    tags = {
      "securecart:managed-by" = "securecart-tf"
      "securecart:stack"      = "organization"
    }
  }
}

# The same account in eu-west-1, another region the organization may use.
provider "aws" {
  alias  = "eu_west_1"
  region = "eu-west-1"

  # The sandbox: endpoints and throwaway credentials come from the environment securecart-tf sets.
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
  max_retries                 = 2

  default_tags {
    tags = {
      "securecart:managed-by" = "securecart-tf"
      "securecart:stack"      = "organization"
    }
  }
}

variable "region" {
  description = "The organization's home region."
  type        = string
}

variable "account_id" {
  description = "The account this stack manages."
  type        = string
}
