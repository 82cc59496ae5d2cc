# Every service on, for SecureCart's security account; logs kept 400 days. Workloads may also use eu-west-1,
# which the root covers with ./region: the Config aggregator covers it too.
name_prefix           = "securecart"
home_region           = "us-east-1"
management_account_id = "111111111111"
organization_id       = "o-abcdefghij"
log_retention_days    = 400
regions               = ["eu-west-1"]
tags = {
  "securecart:stack" = "security"
}
