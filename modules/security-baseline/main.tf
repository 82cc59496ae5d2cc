# The security and logging account's baseline: an organization CloudTrail trail into an encrypted,
# versioned, private bucket (access-logged, see access-logs.tf) and CloudWatch Logs, with the CIS alarms
# (alarms.tf); and, through ./region for the home region, GuardDuty, AWS Config, Security Hub and IAM Access
# Analyzer, with an organization Config aggregator over every region the organization may use.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id  = data.aws_caller_identity.current.account_id
  partition   = data.aws_partition.current.partition
  bucket_name = "${var.name_prefix}-security-logs-${local.account_id}"
  trail_name  = "${var.name_prefix}-organization-trail"
  # An organization trail belongs to the management account, even when the delegated administrator
  # (this account) creates it: CloudTrail checks aws:SourceArn and the encryption context against that ARN.
  trail_arn = "arn:${local.partition}:cloudtrail:${var.home_region}:${var.management_account_id}:trail/${local.trail_name}"
  # Both log buckets' one lifecycle rule, put by aws_s3_bucket_lifecycle_configuration or, with
  # lifecycle_rules_inline, by the bucket's own lifecycle_rule: S3 receives the same rule either way.
  lifecycle_rule = {
    id     = "retention"
    prefix = ""
    days   = var.log_retention_days
    # parts of uploads never completed are billed until deleted
    abort_incomplete_multipart_upload_days = 7
  }
}

resource "aws_kms_key" "logs" {
  description             = "Encrypts ${var.name_prefix} organization logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudTrailEncrypts"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = ["kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource  = "*"
        Condition = { StringLike = { "kms:EncryptionContext:aws:cloudtrail:arn" = "arn:${local.partition}:cloudtrail:*:${var.management_account_id}:trail/*" } }
      },
      {
        Sid       = "ConfigEncrypts"
        Effect    = "Allow"
        Principal = { Service = "config.amazonaws.com" }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
      },
      {
        # The trail's CloudWatch Logs group is encrypted with this key; Logs may use it for this account's groups only.
        Sid       = "CloudWatchLogsEncrypts"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.home_region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${var.home_region}:${local.account_id}:log-group:*" } }
      },
      {
        # CloudWatch publishes the CIS alarms to a topic encrypted with this key.
        Sid       = "CloudWatchPublishesAlarms"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
      },
    ]
  })
  tags = var.tags

  lifecycle {
    # Deleting the key makes every log it encrypted unreadable.
    prevent_destroy = true
  }
}

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is an option (var.replication), off by default: it needs a bucket and key in another region first.
  #checkov:skip=CKV_AWS_143:Object Lock is an option (var.object_lock), off by default: it can only be set when the bucket is created, and locked logs outlive any retention change.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object-created events; CloudTrail and Config deliveries are watched through the trail's CloudWatch Logs group instead.
  bucket              = local.bucket_name
  force_destroy       = var.force_destroy_logs
  object_lock_enabled = var.object_lock != null
  tags                = var.tags

  dynamic "lifecycle_rule" {
    for_each = var.lifecycle_rules_inline ? [local.lifecycle_rule] : []
    content {
      id                                     = lifecycle_rule.value.id
      enabled                                = true
      prefix                                 = lifecycle_rule.value.prefix
      abort_incomplete_multipart_upload_days = lifecycle_rule.value.abort_incomplete_multipart_upload_days
      expiration {
        days = lifecycle_rule.value.days
      }
      noncurrent_version_expiration {
        days = lifecycle_rule.value.days
      }
    }
  }

  lifecycle {
    # The organization's audit trail lives here; a plan never deletes it.
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.logs.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# CloudTrail and Config write with the bucket-owner-full-control ACL, which an enforced bucket owner accepts.
resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_logging" "logs" {
  bucket        = aws_s3_bucket.logs.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "${local.bucket_name}/"
  depends_on    = [aws_s3_bucket_policy.access_logs]
}

resource "aws_s3_bucket_object_lock_configuration" "logs" {
  count  = var.object_lock == null ? 0 : 1
  bucket = aws_s3_bucket.logs.id
  rule {
    default_retention {
      mode = var.object_lock.mode
      days = var.object_lock.days
    }
  }
  depends_on = [aws_s3_bucket_versioning.logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  count  = var.lifecycle_rules_inline ? 0 : 1
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = local.lifecycle_rule.id
    status = "Enabled"
    filter {
      prefix = local.lifecycle_rule.prefix
    }
    expiration {
      days = local.lifecycle_rule.days
    }
    noncurrent_version_expiration {
      noncurrent_days = local.lifecycle_rule.days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = local.lifecycle_rule.abort_incomplete_multipart_upload_days
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "LogServicesCheckAcl"
        Effect    = "Allow"
        Principal = { Service = ["cloudtrail.amazonaws.com", "config.amazonaws.com"] }
        Action    = ["s3:GetBucketAcl", "s3:ListBucket"]
        Resource  = aws_s3_bucket.logs.arn
      },
      {
        Sid       = "CloudTrailWritesOrganizationLogs"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource = distinct([
          "${aws_s3_bucket.logs.arn}/AWSLogs/${local.account_id}/*",
          "${aws_s3_bucket.logs.arn}/AWSLogs/${var.management_account_id}/*",
          "${aws_s3_bucket.logs.arn}/AWSLogs/${var.organization_id}/*",
        ])
        # Only this baseline's trail may write here (confused-deputy protection).
        Condition = { StringEquals = { "s3:x-amz-acl" = "bucket-owner-full-control", "aws:SourceArn" = local.trail_arn } }
      },
      {
        Sid       = "ConfigWrites"
        Effect    = "Allow"
        Principal = { Service = "config.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/config/AWSLogs/*"
        Condition = { StringEquals = { "s3:x-amz-acl" = "bucket-owner-full-control" } }
      },
    ]
  })
  depends_on = [aws_s3_bucket_public_access_block.logs]
}

resource "aws_cloudtrail" "organization" {
  #checkov:skip=CKV_AWS_252:A notification per delivered log file would drown the CIS alarms; the alarm topic gets what matters.
  count                         = var.cloudtrail ? 1 : 0
  name                          = local.trail_name
  s3_bucket_name                = aws_s3_bucket.logs.id
  kms_key_id                    = aws_kms_key.logs.arn
  is_organization_trail         = true
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  cloud_watch_logs_group_arn    = "${aws_cloudwatch_log_group.trail[0].arn}:*"
  cloud_watch_logs_role_arn     = aws_iam_role.trail_logs[0].arn
  tags                          = var.tags
  depends_on                    = [aws_s3_bucket_policy.logs, aws_iam_role_policy.trail_logs]
}

resource "aws_iam_service_linked_role" "config" {
  count            = var.config ? 1 : 0
  aws_service_name = "config.amazonaws.com"
}

# GuardDuty, Config's recorder, Security Hub and Access Analyzer in the home region; a root covers every other
# region the organization may use with another call of ./region, under that region's provider.
module "home_region" {
  source          = "./region"
  name_prefix     = var.name_prefix
  guardduty       = var.guardduty
  config          = var.config
  security_hub    = var.security_hub
  access_analyzer = var.access_analyzer
  config_role_arn = one(aws_iam_service_linked_role.config[*].arn)
  # The bucket's name as its policy has it: Config checks that it may deliver when the channel is created.
  log_bucket                   = var.config ? aws_s3_bucket_policy.logs.bucket : null
  record_global_resources      = true
  unused_access_age            = var.unused_access_age
  config_recorder_name         = var.config_recorder_name
  config_delivery_channel_name = var.config_delivery_channel_name
  tags                         = var.tags
}

# These lived in this module before ./region took them: moved, not destroyed and created again.
moved {
  from = aws_guardduty_detector.this
  to   = module.home_region.aws_guardduty_detector.this
}

moved {
  from = aws_guardduty_organization_configuration.this
  to   = module.home_region.aws_guardduty_organization_configuration.this
}

moved {
  from = aws_config_configuration_recorder.this
  to   = module.home_region.aws_config_configuration_recorder.this
}

moved {
  from = aws_config_delivery_channel.this
  to   = module.home_region.aws_config_delivery_channel.this
}

moved {
  from = aws_config_configuration_recorder_status.this
  to   = module.home_region.aws_config_configuration_recorder_status.this
}

moved {
  from = aws_accessanalyzer_analyzer.organization
  to   = module.home_region.aws_accessanalyzer_analyzer.organization
}

resource "aws_iam_role" "config_aggregator" {
  count = var.config ? 1 : 0
  name  = "${var.name_prefix}-config-aggregator"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "config.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "config_aggregator" {
  count      = var.config ? 1 : 0
  role       = aws_iam_role.config_aggregator[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSConfigRoleForOrganizations"
}

resource "aws_config_configuration_aggregator" "organization" {
  #checkov:skip=CKV_AWS_121:The aggregator covers every region the organization may use (var.regions, the region guardrail's allow-list); Config records nowhere else, so other regions would aggregate nothing.
  count = var.config ? 1 : 0
  name  = "${var.name_prefix}-organization"
  organization_aggregation_source {
    # Every region the organization may use: the home region and those a root covers with ./region.
    regions  = distinct(concat([var.home_region], var.regions))
    role_arn = aws_iam_role.config_aggregator[0].arn
  }
  tags       = var.tags
  depends_on = [aws_iam_role_policy_attachment.config_aggregator]
}

