# service-control-policies on its own, in the management account: SCPs attached to the organization's
# root, an OU and an account, given by ID.

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

variable "policies" { type = any }
variable "attachments" { type = any }
variable "target_ids" { type = map(string) }
variable "tags" { type = map(string) }

module "scps" {
  source      = "./modules/service-control-policies"
  policies    = var.policies
  attachments = var.attachments
  target_ids  = var.target_ids
  tags        = var.tags
}

output "policy_ids" {
  value = module.scps.policy_ids
}

output "attachments" {
  value = module.scps.attachments
}
