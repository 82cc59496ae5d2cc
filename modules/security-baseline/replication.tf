# Optional: the log bucket replicated to a bucket in another region (var.replication), KMS-encrypted there
# with the destination's key. The destination bucket and key exist first, outside this module.

resource "aws_iam_role" "replication" {
  count = var.replication == null ? 0 : 1
  name  = "${var.name_prefix}-log-replication"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "s3.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "replication" {
  count = var.replication == null ? 0 : 1
  name  = "replicate-logs"
  role  = aws_iam_role.replication[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
        Resource = aws_s3_bucket.logs.arn
      },
      {
        Effect   = "Allow"
        Action   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
        Resource = "${aws_s3_bucket.logs.arn}/*"
      },
      {
        Effect   = "Allow"
        Action   = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]
        Resource = "${var.replication.destination_bucket_arn}/*"
      },
      {
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = aws_kms_key.logs.arn
      },
      {
        Effect   = "Allow"
        Action   = "kms:Encrypt"
        Resource = var.replication.destination_kms_key_arn
      },
    ]
  })
}

resource "aws_s3_bucket_replication_configuration" "logs" {
  count  = var.replication == null ? 0 : 1
  bucket = aws_s3_bucket.logs.id
  role   = aws_iam_role.replication[0].arn
  rule {
    id     = "audit-copy"
    status = "Enabled"
    filter {}
    delete_marker_replication {
      status = "Disabled"
    }
    source_selection_criteria {
      sse_kms_encrypted_objects {
        status = "Enabled"
      }
    }
    destination {
      bucket = var.replication.destination_bucket_arn
      encryption_configuration {
        replica_kms_key_id = var.replication.destination_kms_key_arn
      }
    }
  }
  depends_on = [aws_s3_bucket_versioning.logs]
}
