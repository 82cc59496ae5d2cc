# An SCP over a 100-character limit and one that is not JSON. (Attachments are checked only once the
# policies they name are valid, so they are a separate concern.)
max_policy_chars = 100
policies = {
  deny-root-user = {
    content = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"DenyRootUser\",\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringLike\":{\"aws:PrincipalArn\":[\"arn:aws:iam::*:root\"]}}}]}"
  }
  prose = {
    content = "Deny everything outside us-east-1"
  }
}
attachments = {
  "deny-root-user|root" = { policy = "deny-root-user", target = "root" }
}
target_ids = {
  root = "r-ab12"
}
