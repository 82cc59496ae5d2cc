# Only the organization trail; GuardDuty, Config, Security Hub and Access Analyzer are off. As in securecart-tf's
# sandbox, destroy may delete the bucket with its logs, and the buckets carry their lifecycle rules inline;
# retention keeps its default.
name_prefix            = "acme-sec"
management_account_id  = "111111111111"
organization_id        = "o-abcdefghij"
guardduty              = false
config                 = false
security_hub           = false
access_analyzer        = false
force_destroy_logs     = true
lifecycle_rules_inline = true
