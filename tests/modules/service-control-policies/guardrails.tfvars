# Two guardrails: deny-root-user on the workloads OU and one account, a region allow-list on the root.
policies = {
  deny-root-user = {
    description = "Nobody works as the root user"
    content     = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"DenyRootUser\",\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringLike\":{\"aws:PrincipalArn\":[\"arn:aws:iam::*:root\"]}}}]}"
  }
  region-allow-list = {
    content = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"DenyOutsideAllowedRegions\",\"Effect\":\"Deny\",\"NotAction\":[\"iam:*\",\"sts:*\"],\"Resource\":\"*\",\"Condition\":{\"StringNotEquals\":{\"aws:RequestedRegion\":[\"us-east-1\",\"eu-west-1\"]}}}]}"
  }
}
attachments = {
  "deny-root-user|ou:WorkloadsOU" = { policy = "deny-root-user", target = "ou:WorkloadsOU" }
  "deny-root-user|account:dev"    = { policy = "deny-root-user", target = "account:dev" }
  "region-allow-list|root"        = { policy = "region-allow-list", target = "root" }
}
target_ids = {
  root             = "r-ab12"
  "ou:WorkloadsOU" = "ou-ab12-workload"
  "account:dev"    = "111111111111"
}
tags = {
  "securecart:stack" = "organization"
}
