# account-iam on its own, in a member account: the management account's credentials assume
# OrganizationAccountAccessRole there, and the module creates that account's policies and OIDC providers.

terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60.0, < 6.0.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
  assume_role {
    role_arn     = "arn:aws:iam::${var.account_id}:role/OrganizationAccountAccessRole"
    session_name = "account-iam"
  }
}

variable "account_id" {
  description = "The member account the policies and providers live in."
  type        = string
}

variable "policies" { type = any }
variable "oidc_providers" { type = any }
variable "tags" { type = map(string) }

module "account_iam" {
  source         = "./modules/account-iam"
  policies       = var.policies
  oidc_providers = var.oidc_providers
  tags           = var.tags
}

output "policy_arns" {
  value = module.account_iam.policy_arns
}

output "oidc_provider_arns" {
  value = module.account_iam.oidc_provider_arns
}
