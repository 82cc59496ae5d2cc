# The log bucket's server access logs, in a bucket of their own: a bucket cannot usefully log into itself,
# and S3 delivers access logs only to a bucket encrypted with S3-managed keys.

locals {
  access_log_bucket_name = "${var.name_prefix}-access-logs-${local.account_id}"
}

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log bucket; logging its own access would log every log delivery, without end.
  #checkov:skip=CKV_AWS_145:S3 delivers server access logs only to a bucket whose default encryption is SSE-S3, not SSE-KMS.
  #checkov:skip=CKV_AWS_144:Access logs are a record of the log bucket's reads, kept for its retention; the log bucket's own replication option covers the audit trail.
  #checkov:skip=CKV_AWS_143:Object Lock is an option for the log bucket only; access logs expire with the log bucket's retention.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object-created events of access logs.
  bucket        = local.access_log_bucket_name
  force_destroy = var.force_destroy_logs
  tags          = var.tags

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
    # Who read the audit trail is part of the audit trail.
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    # S3 answers false where none was put; saying so keeps the next refresh from reading it as drift
    bucket_key_enabled = false
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# With ACLs disabled, S3's logging service writes through the bucket policy below, not the log-delivery group.
resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  count  = var.lifecycle_rules_inline ? 0 : 1
  bucket = aws_s3_bucket.access_logs.id
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

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "S3LogsTheLogBucket"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.access_logs.arn}/${local.bucket_name}/*"
        # Only the log bucket's access logs, from this account (confused-deputy protection).
        Condition = {
          ArnLike      = { "aws:SourceArn" = aws_s3_bucket.logs.arn }
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })
  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}
