# A group source that is neither scim nor created; a permission set name with spaces, a 13-hour session,
# a boundary that is both AWS-managed and customer-managed, and a customer policy given as managed.
# (Assignments are checked only once the groups and permission sets they name are valid.)
groups = {
  Contractors = { source = "okta" }
}
permission_sets = {
  "Contractor Access" = {
    session_duration = "PT13H"
    managed_policies = ["arn:aws:iam::111111111111:policy/DeployApps"]
    permissions_boundary = {
      managed_policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
      customer_managed   = { name = "DeveloperBoundary" }
    }
  }
}
