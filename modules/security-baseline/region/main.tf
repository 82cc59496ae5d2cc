# One region's share of the security baseline, in the security account: GuardDuty, administering the
# organization's detectors; AWS Config's recorder and delivery channel; Security Hub, administering the
# organization, with the CIS AWS Foundations and AWS Foundational Security Best Practices standards; and IAM
# Access Analyzer's organization analyzers. The parent module calls it for the home region; a root calls it
# again, with a provider per region, for every other region the organization may use.

data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  region    = data.aws_region.current.name
  partition = data.aws_partition.current.partition
  # Standards ARNs are regional; CIS 1.4.0 is the version the parent module's metric filters and alarms follow.
  standards = var.security_hub ? {
    cis                         = "arn:${local.partition}:securityhub:${local.region}::standards/cis-aws-foundations-benchmark/v/1.4.0"
    foundational-best-practices = "arn:${local.partition}:securityhub:${local.region}::standards/aws-foundational-security-best-practices/v/1.0.0"
  } : {}
}

resource "aws_guardduty_detector" "this" {
  count                        = var.guardduty ? 1 : 0
  enable                       = true
  finding_publishing_frequency = "FIFTEEN_MINUTES"
  tags                         = var.tags
}

# The management account makes this account GuardDuty's delegated administrator in each region first.
resource "aws_guardduty_organization_configuration" "this" {
  count                            = var.guardduty ? 1 : 0
  detector_id                      = aws_guardduty_detector.this[0].id
  auto_enable_organization_members = "ALL"
}

resource "aws_config_configuration_recorder" "this" {
  count    = var.config ? 1 : 0
  name     = coalesce(var.config_recorder_name, "${var.name_prefix}-recorder")
  role_arn = var.config_role_arn
  recording_group {
    all_supported = true
    # IAM and other global resources are recorded once, in the home region, or each region would record them again.
    include_global_resource_types = var.record_global_resources
  }
}

resource "aws_config_delivery_channel" "this" {
  count          = var.config ? 1 : 0
  name           = coalesce(var.config_delivery_channel_name, "${var.name_prefix}-delivery")
  s3_bucket_name = var.log_bucket
  s3_key_prefix  = "config"
  depends_on     = [aws_config_configuration_recorder.this]
}

resource "aws_config_configuration_recorder_status" "this" {
  count      = var.config ? 1 : 0
  name       = aws_config_configuration_recorder.this[0].name
  is_enabled = true
  depends_on = [aws_config_delivery_channel.this]
}

resource "aws_securityhub_account" "this" {
  count = var.security_hub ? 1 : 0
  # The standards are subscribed below by version, not left to whatever AWS enables by default.
  enable_default_standards = false
  auto_enable_controls     = true
}

# The management account makes this account Security Hub's delegated administrator in each region first.
resource "aws_securityhub_organization_configuration" "this" {
  count                 = var.security_hub ? 1 : 0
  auto_enable           = true
  auto_enable_standards = "DEFAULT"
  depends_on            = [aws_securityhub_account.this]
}

resource "aws_securityhub_standards_subscription" "this" {
  for_each      = local.standards
  standards_arn = each.value
  depends_on    = [aws_securityhub_account.this]
}

resource "aws_accessanalyzer_analyzer" "organization" {
  count         = var.access_analyzer ? 1 : 0
  analyzer_name = "${var.name_prefix}-organization"
  type          = "ORGANIZATION"
  tags          = var.tags
}

# Unused access is IAM's, which is global: one analyzer finds it for every region (and each one is billed).
resource "aws_accessanalyzer_analyzer" "unused_access" {
  count         = var.access_analyzer && var.unused_access_age != null ? 1 : 0
  analyzer_name = "${var.name_prefix}-organization-unused-access"
  type          = "ORGANIZATION_UNUSED_ACCESS"
  configuration {
    unused_access {
      unused_access_age = var.unused_access_age
    }
  }
  tags = var.tags
}
