# A member account's home region with every baseline setting on: the account's S3 public access block, EBS
# encryption by default, Config's service-linked role, and a recorder delivering to the security account's bucket.
s3_public_access_block     = true
ebs_encryption             = true
config_service_linked_role = true
config_recorder = {
  name                          = "securecart-recorder"
  delivery_channel_name         = "securecart-delivery"
  bucket                        = "securecart-security-logs-222222222222"
  key_prefix                    = "config"
  role_arn                      = "arn:aws:iam::333333333333:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
  include_global_resource_types = true
}
