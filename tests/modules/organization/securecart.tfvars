# SecureCart's organization: security, workloads (non-prod, prod, and a PCI OU inside prod) and shared
# services; the security account administers Access Analyzer, GuardDuty and Security Hub for everyone. The dev account
# is marked for closing: removing it closes it, where removing any other only takes it out.
organization = {
  service_access_principals = ["sso.amazonaws.com", "guardduty.amazonaws.com", "access-analyzer.amazonaws.com", "securityhub.amazonaws.com"]
}
units = {
  SecurityOU                 = { name = "SecurityOU", parent = "/", depth = 1 }
  WorkloadsOU                = { name = "WorkloadsOU", parent = "/", depth = 1 }
  SharedServicesOU           = { name = "SharedServicesOU", parent = "/", depth = 1 }
  "WorkloadsOU/NonProdOU"    = { name = "NonProdOU", parent = "WorkloadsOU", depth = 2 }
  "WorkloadsOU/ProdOU"       = { name = "ProdOU", parent = "WorkloadsOU", depth = 2 }
  "WorkloadsOU/ProdOU/PciOU" = { name = "PciOU", parent = "WorkloadsOU/ProdOU", depth = 3 }
}
accounts = {
  security        = { email = "aws-security@securecart.example", parent = "SecurityOU" }
  shared-services = { email = "aws-shared@securecart.example", parent = "SharedServicesOU", id = "333333333333" }
  dev = {
    email             = "aws-dev@securecart.example"
    parent            = "WorkloadsOU/NonProdOU"
    tags              = { "securecart:environment" = "dev" }
    close_on_deletion = true
  }
  payments = {
    email  = "aws-payments@securecart.example"
    parent = "WorkloadsOU/ProdOU/PciOU"
    tags   = { "securecart:environment" = "prod" }
  }
}
management_account = "management"
delegated_administrators = {
  access-analyzer = { service_principal = "access-analyzer.amazonaws.com", account = "security" }
}
guardduty_admin_account    = "security"
security_hub_admin_account = "security"
tags = {
  "securecart:stack" = "organization"
}
