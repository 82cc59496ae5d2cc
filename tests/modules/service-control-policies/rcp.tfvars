# A resource control policy beside an SCP: the RCP's type is given, the SCP takes the default.
policies = {
  deny-leave = {
    content = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"organizations:LeaveOrganization\",\"Resource\":\"*\"}]}"
  }
  enforce-tls = {
    description = "Resources answer only over TLS"
    type        = "RESOURCE_CONTROL_POLICY"
    content     = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"DenyInsecureTransport\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":[\"s3:*\",\"kms:*\"],\"Resource\":\"*\",\"Condition\":{\"BoolIfExists\":{\"aws:SecureTransport\":\"false\"}}}]}"
  }
}
attachments = {
  "enforce-tls|root"          = { policy = "enforce-tls", target = "root" }
  "deny-leave|ou:WorkloadsOU" = { policy = "deny-leave", target = "ou:WorkloadsOU" }
}
target_ids = {
  root             = "r-ab12"
  "ou:WorkloadsOU" = "ou-ab12-workload"
}
