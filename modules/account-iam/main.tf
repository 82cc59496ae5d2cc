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

# The security baseline's settings in the account, each off unless asked for. The account-wide ones (the S3
# public access block, Config's service-linked role) are set by the home region's module block only; EBS
# encryption and the Config recorder are per region, so the access stack calls this module once per region.

resource "aws_s3_account_public_access_block" "this" {
  count                   = var.s3_public_access_block ? 1 : 0
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_ebs_encryption_by_default" "this" {
  count   = var.ebs_encryption ? 1 : 0
  enabled = true
}

resource "aws_iam_service_linked_role" "config" {
  count            = var.config_service_linked_role ? 1 : 0
  aws_service_name = "config.amazonaws.com"
}

resource "aws_config_configuration_recorder" "this" {
  count    = var.config_recorder == null ? 0 : 1
  name     = var.config_recorder.name
  role_arn = var.config_recorder.role_arn
  recording_group {
    all_supported                 = true
    include_global_resource_types = var.config_recorder.include_global_resource_types
  }
  depends_on = [aws_iam_service_linked_role.config]
}

resource "aws_config_delivery_channel" "this" {
  count          = var.config_recorder == null ? 0 : 1
  name           = var.config_recorder.delivery_channel_name
  s3_bucket_name = var.config_recorder.bucket
  s3_key_prefix  = var.config_recorder.key_prefix
  depends_on     = [aws_config_configuration_recorder.this]
}

resource "aws_config_configuration_recorder_status" "this" {
  count      = var.config_recorder == null ? 0 : 1
  name       = aws_config_configuration_recorder.this[0].name
  is_enabled = true
  depends_on = [aws_config_delivery_channel.this]
}
