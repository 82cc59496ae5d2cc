# Blocks public access to every S3 bucket of the account, whatever each bucket's own settings say.

variable "account_id" {
  description = "The account the block is set in."
  type        = string
}

variable "restrict_public_buckets" {
  description = "Also restrict access to buckets that have a public policy."
  type        = bool
  default     = true
}

resource "aws_s3_account_public_access_block" "this" {
  account_id              = var.account_id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = var.restrict_public_buckets
}
