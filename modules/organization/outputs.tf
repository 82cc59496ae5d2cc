# Outputs: IDs that the other stacks and the attachment module look up by name.

output "organization_id" {
  description = "The organization's ID (o-...)."
  value       = aws_organizations_organization.this.id
}

output "root_id" {
  description = "The organization root's ID (r-...)."
  value       = local.root_id
}

output "ou_ids" {
  description = "OU path → OU ID, with \"/\" for the root."
  value       = local.ou_ids
}

output "account_ids" {
  description = "Account name → 12-digit account ID, the management account included."
  value       = local.account_ids
}

output "security_administrator_id" {
  description = "The account ID GuardDuty and Security Hub are delegated to, for ./region in the other regions; null when neither is."
  value       = local.security_admin_id
}
