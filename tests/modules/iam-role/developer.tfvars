# DeveloperRole in a dev account: people from the shared-services account, with MFA, assume it.
name                 = "DeveloperRole"
path                 = "/securecart/"
description          = "Developers build and debug in dev and staging"
trust_policy         = <<-EOT
  {
    "Version": "2012-10-17",
    "Statement": [
      {
        "Effect": "Allow",
        "Principal": { "AWS": "arn:aws:iam::222222222222:root" },
        "Action": "sts:AssumeRole",
        "Condition": { "Bool": { "aws:MultiFactorAuthPresent": "true" } }
      }
    ]
  }
EOT
permissions_boundary = "arn:aws:iam::111111111111:policy/DeveloperBoundary"
managed_policies = {
  "arn:aws:iam::aws:policy/ReadOnlyAccess" = "arn:aws:iam::aws:policy/ReadOnlyAccess"
  "policy:DeployApps"                      = "arn:aws:iam::111111111111:policy/DeployApps"
}
inline_policies = {
  logs = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"logs:GetLogEvents\",\"Resource\":\"*\"}]}"
}
max_session_duration = 14400
tags = {
  "securecart:audience" = "human"
}
