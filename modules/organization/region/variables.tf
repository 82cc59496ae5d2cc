# Inputs: which services the security account administers in this region.

variable "admin_account_id" {
  description = "The account (12-digit ID) that administers the services below for the organization; null when neither is on."
  type        = string
  default     = null
}

variable "guardduty" {
  description = "Enable GuardDuty in this account and make admin_account_id GuardDuty's delegated administrator here."
  type        = bool
  default     = false
}

variable "security_hub" {
  description = "Make admin_account_id Security Hub's delegated administrator here."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every taggable resource."
  type        = map(string)
  default     = {}
}
