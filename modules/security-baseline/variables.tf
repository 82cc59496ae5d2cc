# Inputs: which services the baseline turns on, and names.

variable "name_prefix" {
  description = "Prefix for bucket, trail, recorder and analyzer names."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,34}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix is 2 to 36 lowercase letters, digits and dashes, not ending in a dash, so that \"<prefix>-security-logs-<account id>\" fits S3's 63-character bucket names (got \"${var.name_prefix}\")."
  }
}

variable "home_region" {
  description = "The region the trail, the aggregator and the home region's services live in."
  type        = string
  default     = "us-east-1"
  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\\d$", var.home_region))
    error_message = "home_region is an AWS region name like \"us-east-1\" (got \"${var.home_region}\")."
  }
}

variable "management_account_id" {
  description = "The management account's ID: it owns the organization trail, and its own trail logs land under AWSLogs/<id>/."
  type        = string
  validation {
    condition     = can(regex("^\\d{12}$", var.management_account_id))
    error_message = "management_account_id is a 12-digit account ID."
  }
}

variable "organization_id" {
  description = "The organization's ID (o-...); organization trail logs land under AWSLogs/<id>/."
  type        = string
  validation {
    condition     = can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id looks like o-abcdefghij."
  }
}

variable "cloudtrail" {
  description = "Create the organization trail."
  type        = bool
  default     = true
}

variable "guardduty" {
  description = "Enable GuardDuty and auto-enable it for members."
  type        = bool
  default     = true
}

variable "config" {
  description = "Enable AWS Config and an organization aggregator."
  type        = bool
  default     = true
}

variable "security_hub" {
  description = "Enable Security Hub, auto-enable it for members, and subscribe the CIS AWS Foundations 1.4.0 and AWS Foundational Security Best Practices standards."
  type        = bool
  default     = true
}

variable "access_analyzer" {
  description = "Create an organization IAM Access Analyzer, and in the home region an organization unused-access analyzer."
  type        = bool
  default     = true
}

variable "unused_access_age" {
  description = "Days without use after which the unused-access analyzer reports a role, user, key or permission."
  type        = number
  default     = 90
  validation {
    condition     = var.unused_access_age >= 1 && var.unused_access_age <= 365
    error_message = "unused_access_age is 1 to 365 days."
  }
}

variable "regions" {
  description = "The other regions the organization may use, which the root covers with ./region under their own providers; the Config aggregator covers them and the home region."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for r in var.regions : can(regex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\\d$", r))])
    error_message = "regions are AWS region names like \"eu-west-1\"."
  }
}

variable "log_retention_days" {
  description = "Days to keep logs."
  type        = number
  default     = 365
  validation {
    condition     = var.log_retention_days >= 1 && var.log_retention_days <= 3653
    error_message = "log_retention_days is 1 to 3653."
  }
}

variable "force_destroy_logs" {
  description = "Let destroy delete a non-empty log bucket. Only for sandboxes."
  type        = bool
  default     = false
}

variable "lifecycle_rules_inline" {
  description = "Put the log buckets' lifecycle rules through aws_s3_bucket's inline lifecycle_rule instead of aws_s3_bucket_lifecycle_configuration. S3 receives the same PutBucketLifecycleConfiguration either way; the separate resource then reads the rules back until ten reads in a row match (55 s), which guards S3's eventual consistency in AWS regions. Only for endpoints that are consistent at once, such as a sandbox. Set it when the buckets are created: turned on later, the apply that turns it on deletes the rules (the separate resource's destroy), and the next apply with a refresh puts them back."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every taggable resource."
  type        = map(string)
  default     = {}
}

variable "config_recorder_name" {
  description = "The name of the region's configuration recorder when one exists already (AWS allows one per region, and renaming replaces it); null names a new one after name_prefix."
  type        = string
  default     = null
}

variable "config_delivery_channel_name" {
  description = "The name of the region's delivery channel when one exists already (one per region, as for the recorder); null names a new one after name_prefix."
  type        = string
  default     = null
}

variable "trail_log_group_retention_days" {
  description = "Days CloudWatch Logs keeps the trail's events, which the CIS alarms read; 365 or more for CIS."
  type        = number
  default     = 365
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.trail_log_group_retention_days)
    error_message = "trail_log_group_retention_days is one of CloudWatch Logs' retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "object_lock" {
  description = "Object Lock's default retention for the log bucket (mode GOVERNANCE or COMPLIANCE, days), or null for none. Only a new bucket can be locked."
  type = object({
    mode = string
    days = number
  })
  default = null
  validation {
    condition     = var.object_lock == null || try(contains(["GOVERNANCE", "COMPLIANCE"], var.object_lock.mode) && var.object_lock.days >= 1, false)
    error_message = "object_lock.mode is GOVERNANCE or COMPLIANCE, and object_lock.days at least 1."
  }
}

variable "replication" {
  description = "Replicate the log bucket into this bucket (its ARN, in another region, versioned) encrypted with this KMS key (its ARN); null for no replication."
  type = object({
    destination_bucket_arn  = string
    destination_kms_key_arn = string
  })
  default = null
}
