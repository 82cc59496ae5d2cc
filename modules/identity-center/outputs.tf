# Outputs: ARNs and IDs by name, for checks and reports.

output "instance_arn" {
  description = "The Identity Center instance ARN."
  value       = local.instance_arn
}

output "permission_set_arns" {
  description = "Permission set name → ARN."
  value       = { for name, ps in aws_ssoadmin_permission_set.this : name => ps.arn }
}

output "group_ids" {
  description = "Group display name → group ID."
  value       = local.group_ids
}
