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
  value       = module.home_region.detector_id
}

output "aggregator_arn" {
  description = "The Config aggregator's ARN, or null."
  value       = one(aws_config_configuration_aggregator.organization[*].arn)
}

output "analyzer_arn" {
  description = "The organization Access Analyzer's ARN in the home region, or null."
  value       = module.home_region.analyzer_arn
}

output "unused_access_analyzer_arn" {
  description = "The organization unused-access analyzer's ARN, or null."
  value       = module.home_region.unused_access_analyzer_arn
}

output "hub_arn" {
  description = "The Security Hub hub's ARN in the home region, or null."
  value       = module.home_region.hub_arn
}

output "config_role_arn" {
  description = "Config's service-linked role, for ./region in the other regions; null without Config."
  value       = one(aws_iam_service_linked_role.config[*].arn)
}

output "config_bucket" {
  description = "The log bucket, once Config may deliver to it, for ./region in the other regions; null without Config."
  value       = var.config ? aws_s3_bucket_policy.logs.bucket : null
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
