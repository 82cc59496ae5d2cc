# Outputs: what the region runs, for checks and reports.

output "detector_id" {
  description = "The GuardDuty detector ID, or null."
  value       = one(aws_guardduty_detector.this[*].id)
}

output "recorder_name" {
  description = "The Config recorder's name, or null."
  value       = one(aws_config_configuration_recorder.this[*].name)
}

output "hub_arn" {
  description = "The Security Hub hub's ARN, or null."
  value       = one(aws_securityhub_account.this[*].arn)
}

output "standards_subscription_arns" {
  description = "Standard (cis, foundational-best-practices) → its subscription's ARN; empty without Security Hub."
  value       = { for name, subscription in aws_securityhub_standards_subscription.this : name => subscription.id }
}

output "analyzer_arn" {
  description = "The organization Access Analyzer's ARN, or null."
  value       = one(aws_accessanalyzer_analyzer.organization[*].arn)
}

output "unused_access_analyzer_arn" {
  description = "The organization unused-access analyzer's ARN, or null."
  value       = one(aws_accessanalyzer_analyzer.unused_access[*].arn)
}
