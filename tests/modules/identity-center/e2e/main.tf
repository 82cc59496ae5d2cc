# identity-center on its own, in the management account (the Identity Center instance's home): groups,
# permission sets and their assignments to member accounts. The groups marked "scim" exist already.

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

variable "groups" { type = any }
variable "permission_sets" { type = any }
variable "assignments" { type = any }
variable "tags" { type = map(string) }

module "identity_center" {
  source          = "./modules/identity-center"
  groups          = var.groups
  permission_sets = var.permission_sets
  assignments     = var.assignments
  tags            = var.tags
}

output "instance_arn" {
  value = module.identity_center.instance_arn
}

output "permission_set_arns" {
  value = module.identity_center.permission_set_arns
}

output "group_ids" {
  value = module.identity_center.group_ids
}
