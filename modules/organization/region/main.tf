# One region's share of the organization's security services, in the management account: its own GuardDuty
# detector (GuardDuty's delegated administrator is designated from an account with a detector in the region),
# and the security account as GuardDuty's and Security Hub's delegated administrator, which both services
# designate per region. The parent module calls it for the home region; a root calls it again, with a
# provider per region, for every other region the organization may use.

resource "aws_guardduty_detector" "management" {
  count                        = var.guardduty ? 1 : 0
  enable                       = true
  finding_publishing_frequency = "FIFTEEN_MINUTES"
  tags                         = var.tags
}

resource "aws_guardduty_organization_admin_account" "this" {
  count            = var.guardduty ? 1 : 0
  admin_account_id = var.admin_account_id
  depends_on       = [aws_guardduty_detector.management]
}

resource "aws_securityhub_organization_admin_account" "this" {
  count            = var.security_hub ? 1 : 0
  admin_account_id = var.admin_account_id
}
