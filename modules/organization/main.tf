# The organization itself, its OU tree (up to five levels) and its member accounts.

resource "aws_organizations_organization" "this" {
  feature_set                   = var.organization.feature_set
  aws_service_access_principals = var.organization.service_access_principals
  enabled_policy_types          = var.organization.enabled_policy_types

  lifecycle {
    # Deleting the organization removes every account's governance; never from a plan.
    prevent_destroy = true
  }
}

locals {
  root_id = aws_organizations_organization.this.roots[0].id
  units_at = {
    for depth in range(1, 6) : depth => { for path, unit in var.units : path => unit if unit.depth == depth }
  }
}

# for_each cannot refer to itself, so each nesting level is its own resource; keys are OU paths.
resource "aws_organizations_organizational_unit" "level1" {
  for_each  = local.units_at[1]
  name      = each.value.name
  parent_id = local.root_id
  tags      = merge(var.tags, { "securecart:ou" = each.key })
}

resource "aws_organizations_organizational_unit" "level2" {
  for_each  = local.units_at[2]
  name      = each.value.name
  parent_id = aws_organizations_organizational_unit.level1[each.value.parent].id
  tags      = merge(var.tags, { "securecart:ou" = each.key })
}

resource "aws_organizations_organizational_unit" "level3" {
  for_each  = local.units_at[3]
  name      = each.value.name
  parent_id = aws_organizations_organizational_unit.level2[each.value.parent].id
  tags      = merge(var.tags, { "securecart:ou" = each.key })
}

resource "aws_organizations_organizational_unit" "level4" {
  for_each  = local.units_at[4]
  name      = each.value.name
  parent_id = aws_organizations_organizational_unit.level3[each.value.parent].id
  tags      = merge(var.tags, { "securecart:ou" = each.key })
}

resource "aws_organizations_organizational_unit" "level5" {
  for_each  = local.units_at[5]
  name      = each.value.name
  parent_id = aws_organizations_organizational_unit.level4[each.value.parent].id
  tags      = merge(var.tags, { "securecart:ou" = each.key })
}

locals {
  ou_ids = merge(
    { "/" = local.root_id },
    { for path, ou in aws_organizations_organizational_unit.level1 : path => ou.id },
    { for path, ou in aws_organizations_organizational_unit.level2 : path => ou.id },
    { for path, ou in aws_organizations_organizational_unit.level3 : path => ou.id },
    { for path, ou in aws_organizations_organizational_unit.level4 : path => ou.id },
    { for path, ou in aws_organizations_organizational_unit.level5 : path => ou.id },
  )
}

resource "aws_organizations_account" "this" {
  for_each          = var.accounts
  name              = each.key
  email             = each.value.email
  parent_id         = local.ou_ids[each.value.parent]
  role_name         = var.account_role_name
  close_on_deletion = each.value.close_on_deletion == null ? var.close_on_deletion : each.value.close_on_deletion
  tags              = merge(var.tags, each.value.tags)

  lifecycle {
    # AWS does not return role_name after creation; changing it would replace the account.
    ignore_changes = [role_name, iam_user_access_to_billing]
  }
}

locals {
  account_ids = merge(
    { (var.management_account) = aws_organizations_organization.this.master_account_id },
    { for name, account in aws_organizations_account.this : name => account.id },
  )
}

resource "aws_organizations_delegated_administrator" "this" {
  for_each          = var.delegated_administrators
  account_id        = local.account_ids[each.value.account]
  service_principal = each.value.service_principal
}

# An organization trail created outside the management account needs CloudTrail's delegated administrator.
resource "aws_cloudtrail_organization_delegated_admin_account" "this" {
  count      = var.cloudtrail_admin_account == null ? 0 : 1
  account_id = local.account_ids[var.cloudtrail_admin_account]
  depends_on = [aws_organizations_organization.this]
}

# GuardDuty and Security Hub designate their administrator per region: the home region here, every other
# region the organization may use through another call of ./region under that region's provider.
module "home_region" {
  source           = "./region"
  admin_account_id = local.security_admin_id
  guardduty        = var.guardduty_admin_account != null
  security_hub     = var.security_hub_admin_account != null
  tags             = var.tags
  depends_on       = [aws_organizations_organization.this]
}

locals {
  security_admin    = coalesce(var.guardduty_admin_account, var.security_hub_admin_account, "-")
  security_admin_id = local.security_admin == "-" ? null : local.account_ids[local.security_admin]
}

# It lived in this module before ./region took it: moved, not destroyed and created again.
moved {
  from = aws_guardduty_organization_admin_account.this
  to   = module.home_region.aws_guardduty_organization_admin_account.this
}
