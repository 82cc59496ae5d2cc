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

# Customizations: their inputs, per account, are data in terraform.tfvars.json.
variable "customizations" {
  type = any
}

module "account_iam" {
  source         = "../../modules/account-iam"
  policies       = var.policies
  oidc_providers = var.oidc_providers
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

# Customization account-public-access-block, from the access matrix: ./customizations/account-public-access-block
module "customization-account-public-access-block" {
  source                  = "./customizations/account-public-access-block"
  account_id              = var.customizations["account-public-access-block"]["account_id"]
  restrict_public_buckets = var.customizations["account-public-access-block"]["restrict_public_buckets"]
}

output "role_arns" {
  value = { for name, role in module.role : name => role.arn }
}

output "policy_arns" {
  value = module.account_iam.policy_arns
}
