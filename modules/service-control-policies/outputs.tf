# Outputs: policy IDs by name, and attachments as policy/target pairs for checks.

output "policy_ids" {
  description = "SCP name → policy ID (p-...)."
  value       = { for name, p in aws_organizations_policy.this : name => p.id }
}

output "attachments" {
  description = "Attachment key → { policy_id, target_id }."
  value       = { for key, a in aws_organizations_policy_attachment.this : key => { policy_id = a.policy_id, target_id = a.target_id } }
}
