# Developers and SecurityTeam come from the IdP (SCIM); AuditReaders is created here. DeveloperAccess has
# an AWS-managed policy, a customer-managed one, an inline policy and a customer-managed boundary;
# AuditReadOnly an AWS-managed boundary; PlatformAdmin just AdministratorAccess, with the defaults.
groups = {
  Developers   = { source = "scim" }
  SecurityTeam = { source = "scim" }
  AuditReaders = { source = "created", description = "External auditors, added for each audit" }
}
permission_sets = {
  DeveloperAccess = {
    description               = "Build and debug in dev and staging"
    session_duration          = "PT8H"
    managed_policies          = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    customer_managed_policies = [{ name = "DeployApps" }]
    inline_policy             = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"logs:GetLogEvents\",\"Resource\":\"*\"}]}"
    permissions_boundary = {
      customer_managed = { name = "DeveloperBoundary", path = "/securecart/" }
    }
  }
  AuditReadOnly = {
    managed_policies     = ["arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"]
    permissions_boundary = { managed_policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess" }
  }
  PlatformAdmin = {
    managed_policies = ["arn:aws:iam::aws:policy/AdministratorAccess"]
  }
}
assignments = {
  "Developers|DeveloperAccess|dev"        = { group = "Developers", permission_set = "DeveloperAccess", account_id = "111111111111" }
  "SecurityTeam|AuditReadOnly|security"   = { group = "SecurityTeam", permission_set = "AuditReadOnly", account_id = "222222222222" }
  "AuditReaders|AuditReadOnly|security"   = { group = "AuditReaders", permission_set = "AuditReadOnly", account_id = "222222222222" }
  "SecurityTeam|PlatformAdmin|management" = { group = "SecurityTeam", permission_set = "PlatformAdmin", account_id = "123456789012" }
}
tags = {
  "securecart:stack" = "identity-center"
}
