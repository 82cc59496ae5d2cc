# iam-role on its own, in a member account: the management account's credentials assume
# OrganizationAccountAccessRole there. The boundary and customer-managed policies it names already exist in
# that account (account-iam creates them).

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
    session_name = "iam-role"
  }
}

variable "account_id" {
  description = "The member account the role lives in."
  type        = string
}

variable "name" { type = string }
variable "path" { type = string }
variable "description" { type = string }
variable "trust_policy" { type = string }
variable "permissions_boundary" { type = string }
variable "managed_policies" { type = map(string) }
variable "inline_policies" { type = map(string) }
variable "max_session_duration" { type = number }
variable "tags" { type = map(string) }

module "role" {
  source               = "./modules/iam-role"
  name                 = var.name
  path                 = var.path
  description          = var.description
  trust_policy         = var.trust_policy
  permissions_boundary = var.permissions_boundary
  managed_policies     = var.managed_policies
  inline_policies      = var.inline_policies
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

output "arn" {
  value = module.role.arn
}

output "name" {
  value = module.role.name
}
