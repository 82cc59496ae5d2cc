# Outputs: what the baseline created, for checks and reports.

output "log_bucket" {
  description = "The log bucket's name."
  value       = aws_s3_bucket.logs.id
}

output "trail_arn" {
  description = "The organization trail's ARN, or null."
  value       = one(aws_cloudtrail.organization[*].arn)
}

output "detector_id" {
  description = "The GuardDuty detector ID, or null."
  value       = one(aws_guardduty_detector.this[*].id)
}

output "aggregator_arn" {
  description = "The Config aggregator's ARN, or null."
  value       = one(aws_config_configuration_aggregator.organization[*].arn)
}

output "analyzer_arn" {
  description = "The Access Analyzer's ARN, or null."
  value       = one(aws_accessanalyzer_analyzer.organization[*].arn)
}

output "access_log_bucket" {
  description = "The bucket that receives the log bucket's server access logs."
  value       = aws_s3_bucket.access_logs.id
}

output "alarm_topic_arn" {
  description = "The encrypted SNS topic the CIS alarms notify, or null without the trail."
  value       = one(aws_sns_topic.alarms[*].arn)
}

output "trail_log_group" {
  description = "The CloudWatch Logs group the trail delivers to, or null without the trail."
  value       = one(aws_cloudwatch_log_group.trail[*].name)
}
