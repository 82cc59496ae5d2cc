# Outputs: ARNs by name, for roles to attach and trust.

output "policy_arns" {
  description = "Policy name → ARN."
  value       = { for name, p in aws_iam_policy.this : name => p.arn }
}

output "oidc_provider_arns" {
  description = "Provider short name → ARN."
  value       = { for name, p in aws_iam_openid_connect_provider.this : name => p.arn }
}
