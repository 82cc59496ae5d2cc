# Account-wide IAM objects that roles refer to: customer-managed policies and OIDC identity providers.

resource "aws_iam_policy" "this" {
  for_each    = var.policies
  name        = each.key
  path        = each.value.path
  description = each.value.description
  policy      = each.value.document
  tags        = var.tags
}

resource "aws_iam_openid_connect_provider" "this" {
  for_each        = var.oidc_providers
  url             = each.value.url
  client_id_list  = each.value.client_ids
  thumbprint_list = each.value.thumbprints
  tags            = var.tags
}
