# security-baseline on its own, in the security account: the management account's credentials assume
# OrganizationAccountAccessRole there. The organization trusts CloudTrail, GuardDuty, Config, Security Hub
# and Access Analyzer, and delegates them to that account (the organization module does this).

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
    session_name = "security-baseline"
  }
}

variable "account_id" {
  description = "The security account."
  type        = string
}

variable "name_prefix" { type = string }
variable "home_region" { type = string }
variable "management_account_id" { type = string }
variable "organization_id" { type = string }
variable "log_retention_days" { type = number }
variable "tags" { type = map(string) }
variable "regions" { type = list(string) }

variable "force_destroy_logs" {
  description = "Let destroy delete a log bucket that holds logs; for a sandbox."
  type        = bool
  default     = false
}

module "security_baseline" {
  source                = "./modules/security-baseline"
  name_prefix           = var.name_prefix
  home_region           = var.home_region
  management_account_id = var.management_account_id
  organization_id       = var.organization_id
  log_retention_days    = var.log_retention_days
  force_destroy_logs    = var.force_destroy_logs
  tags                  = var.tags
  regions               = var.regions
}

# Making this account Security Hub's administrator (the organization module does, in each region) turned Security
# Hub on here, as AWS does, and AWS refuses to turn it on twice: the hub is adopted.
import {
  to = module.security_baseline.module.home_region.aws_securityhub_account.this[0]
  id = var.account_id
}

# Each region in var.regions gets the regional services through ./region under a provider of its own, e.g.
#
#   provider "aws" {
#     alias  = "eu_west_1"
#     region = "eu-west-1"
#     # the same assume_role as above
#   }
#
#   module "security_baseline_eu_west_1" {
#     source          = "./modules/security-baseline/region"
#     providers       = { aws = aws.eu_west_1 }
#     name_prefix     = var.name_prefix
#     config_role_arn = module.security_baseline.config_role_arn
#     log_bucket      = module.security_baseline.config_bucket
#   }
#
# This example covers the home region only; the security stack securecart-tf renders does the rest.

output "log_bucket" {
  value = module.security_baseline.log_bucket
}

output "trail_arn" {
  value = module.security_baseline.trail_arn
}

output "detector_id" {
  value = module.security_baseline.detector_id
}

output "aggregator_arn" {
  value = module.security_baseline.aggregator_arn
}

output "analyzer_arn" {
  value = module.security_baseline.analyzer_arn
}

output "unused_access_analyzer_arn" {
  value = module.security_baseline.unused_access_analyzer_arn
}

output "hub_arn" {
  value = module.security_baseline.hub_arn
}

output "access_log_bucket" {
  value = module.security_baseline.access_log_bucket
}

output "alarm_topic_arn" {
  value = module.security_baseline.alarm_topic_arn
}

output "trail_log_group" {
  value = module.security_baseline.trail_log_group
}
