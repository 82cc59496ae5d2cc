# organization on its own, in an account that belongs to no organization yet: it becomes the management
# account of a new organization with an OU tree, member accounts and delegated administrators.

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
}

variable "organization" { type = any }
variable "units" { type = any }
variable "accounts" { type = any }
variable "management_account" { type = string }
variable "delegated_administrators" { type = any }
variable "guardduty_admin_account" { type = string }
variable "security_hub_admin_account" { type = string }
variable "tags" { type = map(string) }

module "organization" {
  source                   = "./modules/organization"
  organization             = var.organization
  units                    = var.units
  accounts                 = var.accounts
  management_account       = var.management_account
  delegated_administrators = var.delegated_administrators
  guardduty_admin_account  = var.guardduty_admin_account
  tags                     = var.tags

  security_hub_admin_account = var.security_hub_admin_account

  # An account the organization created leaves it only by being closed (it has no standalone billing),
  # so a root that is torn down whole closes its accounts.
  close_on_deletion = true
}

output "organization_id" {
  value = module.organization.organization_id
}

output "root_id" {
  value = module.organization.root_id
}

output "ou_ids" {
  value = module.organization.ou_ids
}

output "account_ids" {
  value = module.organization.account_ids
}
