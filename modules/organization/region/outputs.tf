# Outputs: what the region holds, for checks.

output "detector_id" {
  description = "This account's GuardDuty detector ID, or null."
  value       = one(aws_guardduty_detector.management[*].id)
}
