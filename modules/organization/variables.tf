# Inputs: the organization's settings, OU tree and member accounts, as rendered from the access matrix.

variable "organization" {
  description = "Organization settings."
  type = object({
    feature_set               = optional(string, "ALL")
    service_access_principals = optional(list(string), [])
    enabled_policy_types      = optional(list(string), ["SERVICE_CONTROL_POLICY"])
  })
  validation {
    condition     = var.organization.feature_set == "ALL"
    error_message = "Service control policies need feature_set = \"ALL\"."
  }
}

variable "units" {
  description = "OUs keyed by path (\"WorkloadsOU/ProdOU\"); parent is the parent's path or \"/\" for the root."
  type = map(object({
    name   = string
    parent = string
    depth  = number
  }))
  default = {}
  validation {
    condition     = alltrue([for u in values(var.units) : u.depth >= 1 && u.depth <= 5])
    error_message = "OUs nest at most 5 levels under the root."
  }
  validation {
    condition = alltrue([
      for path, u in var.units : u.depth == 1 ? u.parent == "/" : contains(keys(var.units), u.parent)
    ])
    error_message = "Every OU's parent must be \"/\" (depth 1) or another OU in units."
  }
}

variable "accounts" {
  description = "Member accounts keyed by name; parent is an OU path or \"/\"."
  type = map(object({
    email  = string
    parent = string
    id     = optional(string)
    tags   = optional(map(string), {})
  }))
  default = {}
  validation {
    condition     = alltrue([for a in values(var.accounts) : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", a.email))])
    error_message = "Every account needs a valid email address."
  }
  validation {
    condition     = alltrue([for a in values(var.accounts) : a.parent == "/" || contains(keys(var.units), a.parent)])
    error_message = "Every account's parent must be \"/\" or an OU path in units."
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
}

variable "close_on_deletion" {
  description = "Close an account when it leaves the matrix. Off by default: removal only leaves the organization."
  type        = bool
  default     = false
}

variable "delegated_administrators" {
  description = "Service principal registrations: the account that administers a service for the organization."
  type = map(object({
    service_principal = string
    account           = string
  }))
  default = {}
}

variable "guardduty_admin_account" {
  description = "Account name to make GuardDuty's delegated administrator, or null."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every taggable resource."
  type        = map(string)
  default     = {}
}
