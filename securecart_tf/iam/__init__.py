"""IAM policy documents and what they mean.

Documents, the guardrail library, AWS quotas, the policy lint engine, the lockout and escalation
predicates and AWS managed policies. Nothing here knows the access matrix's model.
"""
