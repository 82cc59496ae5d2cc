# Organization layer: OUs, accounts, service control policies and their attachments.

variable "organization" {
  type = any
}

variable "units" {
  type = any
}

variable "accounts" {
  type = any
}

variable "management_account" {
  type = string
}

variable "account_role_name" {
  type = string
}

variable "delegated_administrators" {
  type = any
}

variable "cloudtrail_admin_account" {
  type = string
}

variable "guardduty_admin_account" {
  type = string
}

variable "security_hub_admin_account" {
  type = string
}

variable "guardrails" {
  type = any
}

variable "attachments" {
  type = any
}

variable "scp_max_chars" {
  type = number
}

variable "adopted_accounts" {
  description = "Existing accounts (name → ID) brought under management by import."
  type        = map(string)
}

module "organization" {
  source                   = "../../modules/organization"
  organization             = var.organization
  units                    = var.units
  accounts                 = var.accounts
  management_account       = var.management_account
  account_role_name        = var.account_role_name
  delegated_administrators = var.delegated_administrators
  guardduty_admin_account  = var.guardduty_admin_account
  cloudtrail_admin_account = var.cloudtrail_admin_account

  security_hub_admin_account = var.security_hub_admin_account
}

# eu-west-1: this account's GuardDuty detector, and the services' delegated administrator there.
module "organization_eu_west_1" {
  source           = "../../modules/organization/region"
  providers        = { aws = aws.eu_west_1 }
  admin_account_id = module.organization.security_administrator_id
  guardduty        = var.guardduty_admin_account != null
  security_hub     = var.security_hub_admin_account != null
}

module "service_control_policies" {
  source           = "../../modules/service-control-policies"
  policies         = var.guardrails
  attachments      = var.attachments
  max_policy_chars = var.scp_max_chars
  target_ids = merge(
    { root = module.organization.root_id },
    { for path, id in module.organization.ou_ids : "ou:${path}" => id if path != "/" },
    { for name, id in module.organization.account_ids : "account:${name}" => id },
  )

  # SCPs exist only in an organization with the SERVICE_CONTROL_POLICY type enabled.
  depends_on = [module.organization]
}

import {
  for_each = var.adopted_accounts
  to       = module.organization.aws_organizations_account.this[each.key]
  id       = each.value
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

output "policy_ids" {
  value = module.service_control_policies.policy_ids
}
