# The log bucket's two options on: Object Lock in compliance mode for 400 days, and replication into a bucket
# in another region under that region's key. Only the trail and its buckets, to keep the plan small.
name_prefix           = "audit"
management_account_id = "111111111111"
organization_id       = "o-abcdefghij"
guardduty             = false
config                = false
security_hub          = false
access_analyzer       = false
object_lock           = { mode = "COMPLIANCE", days = 400 }
replication = {
  destination_bucket_arn  = "arn:aws:s3:::audit-replica-eu-west-1"
  destination_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}
