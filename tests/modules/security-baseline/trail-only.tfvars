# Only the organization trail; GuardDuty, Config, Security Hub and Access Analyzer are off. A sandbox may delete the
# bucket with its logs; retention keeps its default.
name_prefix           = "acme-sec"
management_account_id = "111111111111"
organization_id       = "o-abcdefghij"
guardduty             = false
config                = false
security_hub          = false
access_analyzer       = false
force_destroy_logs    = true
