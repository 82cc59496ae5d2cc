# IAM Identity Center: groups (created here or looked up after SCIM provisioning), permission sets with
# their policies and boundary, and group assignments to accounts.

data "aws_ssoadmin_instances" "this" {
  lifecycle {
    postcondition {
      condition     = length(self.arns) > 0
      error_message = "IAM Identity Center is not enabled in this account and region. Enable it in the management account (console: IAM Identity Center → Enable), in the organization's home region, then plan again."
    }
  }
}

locals {
  instance_arn      = tolist(data.aws_ssoadmin_instances.this.arns)[0]
  identity_store_id = tolist(data.aws_ssoadmin_instances.this.identity_store_ids)[0]

  created_groups = { for name, g in var.groups : name => g if g.source == "created" }
  scim_groups    = { for name, g in var.groups : name => g if g.source == "scim" }

  managed_policy_attachments = merge([
    for ps, p in var.permission_sets : { for arn in p.managed_policies : "${ps}|${arn}" => { permission_set = ps, arn = arn } }
  ]...)
  customer_policy_attachments = merge([
    for ps, p in var.permission_sets : {
      for ref in p.customer_managed_policies : "${ps}|${ref.path}${ref.name}" => { permission_set = ps, name = ref.name, path = ref.path }
    }
  ]...)
}

resource "aws_identitystore_group" "created" {
  for_each          = local.created_groups
  identity_store_id = local.identity_store_id
  display_name      = each.key
  description       = each.value.description == "" ? null : each.value.description
}

data "aws_identitystore_group" "scim" {
  for_each          = local.scim_groups
  identity_store_id = local.identity_store_id
  alternate_identifier {
    unique_attribute {
      attribute_path  = "DisplayName"
      attribute_value = each.key
    }
  }
}

locals {
  group_ids = merge(
    { for name, g in aws_identitystore_group.created : name => g.group_id },
    { for name, g in data.aws_identitystore_group.scim : name => g.group_id },
  )
}

resource "aws_ssoadmin_permission_set" "this" {
  for_each         = var.permission_sets
  name             = each.key
  description      = each.value.description == "" ? null : each.value.description # AWS refuses an empty one
  instance_arn     = local.instance_arn
  session_duration = each.value.session_duration
  tags             = var.tags
}

resource "aws_ssoadmin_managed_policy_attachment" "this" {
  for_each           = local.managed_policy_attachments
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.this[each.value.permission_set].arn
  managed_policy_arn = each.value.arn
}

resource "aws_ssoadmin_customer_managed_policy_attachment" "this" {
  for_each           = local.customer_policy_attachments
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.this[each.value.permission_set].arn
  customer_managed_policy_reference {
    name = each.value.name
    path = each.value.path
  }
}

resource "aws_ssoadmin_permission_set_inline_policy" "this" {
  for_each           = { for ps, p in var.permission_sets : ps => p if p.inline_policy != null }
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.this[each.key].arn
  inline_policy      = each.value.inline_policy
}

resource "aws_ssoadmin_permissions_boundary_attachment" "this" {
  for_each           = { for ps, p in var.permission_sets : ps => p.permissions_boundary if p.permissions_boundary != null }
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.this[each.key].arn
  permissions_boundary {
    managed_policy_arn = each.value.managed_policy_arn
    dynamic "customer_managed_policy_reference" {
      for_each = each.value.customer_managed == null ? [] : [each.value.customer_managed]
      content {
        name = customer_managed_policy_reference.value.name
        path = customer_managed_policy_reference.value.path
      }
    }
  }
}

resource "aws_ssoadmin_account_assignment" "this" {
  for_each           = var.assignments
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.this[each.value.permission_set].arn
  principal_id       = local.group_ids[each.value.group]
  principal_type     = "GROUP"
  target_id          = each.value.account_id
  target_type        = "AWS_ACCOUNT"

  # Provision a permission set only once its policies are attached, so every account gets all of them.
  depends_on = [
    aws_ssoadmin_managed_policy_attachment.this,
    aws_ssoadmin_customer_managed_policy_attachment.this,
    aws_ssoadmin_permission_set_inline_policy.this,
    aws_ssoadmin_permissions_boundary_attachment.this,
  ]
}
