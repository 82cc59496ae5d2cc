# Inputs: the organization's settings, OU tree and member accounts, as rendered from the access matrix.

variable "organization" {
  description = "Organization settings: feature set, trusted service principals and enabled policy types."
  type = object({
    feature_set               = optional(string, "ALL")
    service_access_principals = optional(list(string), [])
    enabled_policy_types      = optional(list(string), ["SERVICE_CONTROL_POLICY"])
  })
  validation {
    condition     = var.organization.feature_set == "ALL"
    error_message = "Service control policies need feature_set = \"ALL\" (got \"${var.organization.feature_set}\")."
  }
  validation {
    condition     = alltrue([for p in var.organization.service_access_principals : can(regex("^[a-z0-9.-]+\\.amazonaws\\.com$", p))])
    error_message = "Service access principals are service names like \"sso.amazonaws.com\"; not one: ${join(", ", [for p in var.organization.service_access_principals : p if !can(regex("^[a-z0-9.-]+\\.amazonaws\\.com$", p))])}."
  }
  validation {
    condition = alltrue([
      for t in var.organization.enabled_policy_types : contains(["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY", "TAG_POLICY", "BACKUP_POLICY", "AISERVICES_OPT_OUT_POLICY", "DECLARATIVE_POLICY_EC2", "CHATBOT_POLICY"], t)
    ])
    error_message = "Unknown policy type(s): ${join(", ", [for t in var.organization.enabled_policy_types : t if !contains(["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY", "TAG_POLICY", "BACKUP_POLICY", "AISERVICES_OPT_OUT_POLICY", "DECLARATIVE_POLICY_EC2", "CHATBOT_POLICY"], t)])}; use SERVICE_CONTROL_POLICY, RESOURCE_CONTROL_POLICY, TAG_POLICY, BACKUP_POLICY, AISERVICES_OPT_OUT_POLICY, DECLARATIVE_POLICY_EC2 or CHATBOT_POLICY."
  }
}

variable "units" {
  description = "OUs keyed by path (\"WorkloadsOU/ProdOU\"); parent is the parent's path or \"/\" for the root, depth counts from 1."
  type = map(object({
    name   = string
    parent = string
    depth  = number
  }))
  default = {}
  validation {
    condition     = alltrue([for u in values(var.units) : u.depth >= 1 && u.depth <= 5])
    error_message = "OUs nest at most 5 levels under the root; too deep or below 1: ${join(", ", [for path, u in var.units : "${path} (depth ${u.depth})" if u.depth < 1 || u.depth > 5])}."
  }
  validation {
    condition = alltrue([
      for path, u in var.units : u.depth == 1 ? u.parent == "/" : try(var.units[u.parent].depth == u.depth - 1, false)
    ])
    error_message = "Every OU's parent must be \"/\" at depth 1, or an OU in units one level up; wrong parent or depth: ${join(", ", [for path, u in var.units : "${path} (parent \"${u.parent}\", depth ${u.depth})" if !(u.depth == 1 ? u.parent == "/" : try(var.units[u.parent].depth == u.depth - 1, false))])}."
  }
  validation {
    condition     = alltrue([for u in values(var.units) : length(u.name) >= 1 && length(u.name) <= 128])
    error_message = "An OU name is 1 to 128 characters."
  }
}

variable "accounts" {
  description = "Member accounts keyed by name; parent is an OU path or \"/\"; id is set when an existing account is adopted; close_on_deletion overrides the module's default for one account."
  type = map(object({
    email             = string
    parent            = string
    id                = optional(string)
    tags              = optional(map(string), {})
    close_on_deletion = optional(bool)
  }))
  default = {}
  validation {
    condition     = alltrue([for a in values(var.accounts) : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", a.email))])
    error_message = "Every account needs a valid email address; not valid: ${join(", ", [for name, a in var.accounts : "${name} (\"${a.email}\")" if !can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", a.email))])}."
  }
  validation {
    condition     = alltrue([for a in values(var.accounts) : a.parent == "/" || contains(keys(var.units), a.parent)])
    error_message = "Every account's parent must be \"/\" or an OU path in units; unknown parent: ${join(", ", [for name, a in var.accounts : "${name} (\"${a.parent}\")" if !(a.parent == "/" || contains(keys(var.units), a.parent))])}."
  }
  validation {
    condition     = alltrue([for name, a in var.accounts : length(name) >= 1 && length(name) <= 50 && (a.id == null || can(regex("^\\d{12}$", a.id)))])
    error_message = "An account name is 1 to 50 characters and an adopted account's id is 12 digits; check: ${join(", ", [for name, a in var.accounts : name if !(length(name) >= 1 && length(name) <= 50 && (a.id == null || can(regex("^\\d{12}$", a.id))))])}."
  }
  validation {
    condition     = !contains(keys(var.accounts), var.management_account)
    error_message = "The management account (${var.management_account}) owns the organization and is not created here; leave it out of accounts."
  }
}

variable "management_account" {
  description = "Name of the management account (it is not created here; it owns the organization)."
  type        = string
}

variable "account_role_name" {
  description = "Role AWS creates in each new account for the management account to assume."
  type        = string
  default     = "OrganizationAccountAccessRole"
  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.account_role_name))
    error_message = "account_role_name is an IAM role name: 1 to 64 letters, digits and +=,.@_- (got \"${var.account_role_name}\")."
  }
}

variable "close_on_deletion" {
  description = "Close an account when it leaves the matrix. Off by default: removal only leaves the organization."
  type        = bool
  default     = false
}

variable "delegated_administrators" {
  description = "Service principal registrations keyed by a stable name: the account (by name) that administers a service for the organization."
  type = map(object({
    service_principal = string
    account           = string
  }))
  default = {}
  validation {
    condition     = alltrue([for d in values(var.delegated_administrators) : contains(concat(keys(var.accounts), [var.management_account]), d.account)])
    error_message = "A delegated administrator must be an account in accounts; unknown: ${join(", ", [for key, d in var.delegated_administrators : "${key} (\"${d.account}\")" if !contains(concat(keys(var.accounts), [var.management_account]), d.account)])}."
  }
  validation {
    condition     = alltrue([for d in values(var.delegated_administrators) : contains(var.organization.service_access_principals, d.service_principal)])
    error_message = "Trust a service before delegating it: add these to organization.service_access_principals: ${join(", ", distinct([for d in values(var.delegated_administrators) : d.service_principal if !contains(var.organization.service_access_principals, d.service_principal)]))}."
  }
}

variable "guardduty_admin_account" {
  description = "Account name to make GuardDuty's delegated administrator, or null."
  type        = string
  default     = null
  validation {
    condition     = var.guardduty_admin_account == null ? true : contains(concat(keys(var.accounts), [var.management_account]), var.guardduty_admin_account)
    error_message = "guardduty_admin_account must name an account in accounts (got \"${coalesce(var.guardduty_admin_account, "null")}\")."
  }
  validation {
    condition     = var.guardduty_admin_account == null ? true : contains(var.organization.service_access_principals, "guardduty.amazonaws.com")
    error_message = "A GuardDuty administrator needs trusted access: add \"guardduty.amazonaws.com\" to organization.service_access_principals."
  }
}

variable "security_hub_admin_account" {
  description = "Account name to make Security Hub's delegated administrator, or null; the same as guardduty_admin_account when both are set."
  type        = string
  default     = null
  validation {
    condition     = var.security_hub_admin_account == null ? true : contains(keys(var.accounts), var.security_hub_admin_account)
    error_message = "security_hub_admin_account must name a member account in accounts (got \"${coalesce(var.security_hub_admin_account, "null")}\")."
  }
  validation {
    condition     = var.security_hub_admin_account == null ? true : contains(var.organization.service_access_principals, "securityhub.amazonaws.com")
    error_message = "A Security Hub administrator needs trusted access: add \"securityhub.amazonaws.com\" to organization.service_access_principals."
  }
  validation {
    condition     = var.security_hub_admin_account == null || var.guardduty_admin_account == null ? true : var.security_hub_admin_account == var.guardduty_admin_account
    error_message = "GuardDuty and Security Hub are administered by one account: security_hub_admin_account and guardduty_admin_account differ."
  }
}

variable "cloudtrail_admin_account" {
  description = "Account name to make CloudTrail's delegated administrator (it creates the organization trail), or null."
  type        = string
  default     = null
  validation {
    condition     = var.cloudtrail_admin_account == null ? true : contains(keys(var.accounts), var.cloudtrail_admin_account)
    error_message = "cloudtrail_admin_account must name a member account in accounts (got \"${coalesce(var.cloudtrail_admin_account, "null")}\")."
  }
  validation {
    condition     = var.cloudtrail_admin_account == null ? true : contains(var.organization.service_access_principals, "cloudtrail.amazonaws.com")
    error_message = "A CloudTrail administrator needs trusted access: add \"cloudtrail.amazonaws.com\" to organization.service_access_principals."
  }
}

variable "tags" {
  description = "Tags for every taggable resource."
  type        = map(string)
  default     = {}
}
