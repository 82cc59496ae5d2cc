# Outputs: what the baseline created, for checks and reports.

output "log_bucket" {
  description = "The log bucket's name."
  value       = aws_s3_bucket.logs.id
}

output "trail_arn" {
  description = "The organization trail's ARN, or null."
  value       = var.cloudtrail ? aws_cloudtrail.organization[0].arn : null
}

output "detector_id" {
  description = "The GuardDuty detector ID, or null."
  value       = var.guardduty ? aws_guardduty_detector.this[0].id : null
}

output "aggregator_arn" {
  description = "The Config aggregator's ARN, or null."
  value       = var.config ? aws_config_configuration_aggregator.organization[0].arn : null
}

output "analyzer_arn" {
  description = "The Access Analyzer's ARN, or null."
  value       = var.access_analyzer ? aws_accessanalyzer_analyzer.organization[0].arn : null
}
