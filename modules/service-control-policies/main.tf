# Service and resource control policies and their attachments to the root, OUs and accounts.

resource "aws_organizations_policy" "this" {
  for_each    = var.policies
  name        = each.key
  description = each.value.description
  type        = each.value.type
  content     = each.value.content
  tags        = var.tags
}

resource "aws_organizations_policy_attachment" "this" {
  for_each  = var.attachments
  policy_id = aws_organizations_policy.this[each.value.policy].id
  target_id = var.target_ids[each.value.target]
}
