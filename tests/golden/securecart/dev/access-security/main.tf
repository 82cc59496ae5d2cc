# Access layer: one account's customer-managed policies, OIDC providers, roles and service roles.

variable "account" {
  type = any
}

variable "policies" {
  type = any
}

variable "oidc_providers" {
  type = any
}

variable "roles" {
  type = any
}

# The security baseline's settings in this account: account-wide, and per region (keyed by region name).
variable "account_settings" {
  type = any
}

module "account_iam" {
  source         = "../../modules/account-iam"
  policies       = var.policies
  oidc_providers = var.oidc_providers

  s3_public_access_block     = var.account_settings.s3_public_access_block
  config_service_linked_role = var.account_settings.config_service_linked_role
  ebs_encryption             = var.account_settings.regions[var.region].ebs_encryption
  config_recorder            = var.account_settings.regions[var.region].config_recorder
}

module "role" {
  source   = "../../modules/iam-role"
  for_each = var.roles

  name                 = each.key
  description          = each.value.description
  trust_policy         = each.value.trust_policy
  max_session_duration = each.value.max_session_duration
  inline_policies      = each.value.inline_policies
  tags                 = each.value.tags
  permissions_boundary = (
    each.value.permissions_boundary == null ? null :
    each.value.permissions_boundary.arn != null ? each.value.permissions_boundary.arn :
    module.account_iam.policy_arns[each.value.permissions_boundary.policy]
  )
  managed_policies = {
    for ref in each.value.managed_policies :
    (ref.arn != null ? ref.arn : "policy:${ref.policy}") => (ref.arn != null ? ref.arn : module.account_iam.policy_arns[ref.policy])
  }

  # A trust policy may name the account's OIDC provider, which must exist first.
  depends_on = [module.account_iam]
}

output "role_arns" {
  value = { for name, role in module.role : name => role.arn }
}

output "policy_arns" {
  value = module.account_iam.policy_arns
}
