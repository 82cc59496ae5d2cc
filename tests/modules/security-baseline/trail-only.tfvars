# Only the organization trail; GuardDuty, Config and Access Analyzer are off. A sandbox may delete the
# bucket with its logs; retention keeps its default.
name_prefix           = "acme-sec"
management_account_id = "111111111111"
organization_id       = "o-abcdefghij"
guardduty             = false
config                = false
access_analyzer       = false
force_destroy_logs    = true
