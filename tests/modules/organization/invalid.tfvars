# A feature set that cannot hold SCPs, an OU whose parent is missing, an OU six levels deep, and a role
# name with a space. (Accounts and delegations are checked only once the OUs and settings are valid.)
organization = {
  feature_set = "CONSOLIDATED_BILLING"
}
units = {
  "WorkloadsOU/ProdOU" = { name = "ProdOU", parent = "WorkloadsOU", depth = 2 }
  "A/B/C/D/E/F"        = { name = "F", parent = "A/B/C/D/E", depth = 6 }
}
accounts = {
  prod = { email = "aws-prod@securecart.example", parent = "WorkloadsOU/ProdOU" }
}
management_account = "management"
account_role_name  = "Org Access"
