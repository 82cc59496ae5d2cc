# Inputs: groups, permission sets and assignments, keyed by stable names.

variable "groups" {
  description = "Groups keyed by display name. source \"scim\" looks the group up; \"created\" creates it."
  type = map(object({
    source      = string
    description = optional(string, "")
  }))
  default = {}
  validation {
    condition     = alltrue([for g in values(var.groups) : contains(["scim", "created"], g.source)])
    error_message = "A group's source is \"scim\" (provisioned by the IdP) or \"created\"."
  }
}

variable "permission_sets" {
  description = "Permission sets keyed by name."
  type = map(object({
    description      = optional(string, "")
    session_duration = optional(string, "PT1H")
    managed_policies = optional(list(string), [])
    customer_managed_policies = optional(list(object({
      name = string
      path = optional(string, "/")
    })), [])
    inline_policy = optional(string)
    permissions_boundary = optional(object({
      managed_policy_arn = optional(string)
      customer_managed = optional(object({
        name = string
        path = optional(string, "/")
      }))
    }))
  }))
  default = {}
  validation {
    condition     = alltrue([for name in keys(var.permission_sets) : length(name) >= 1 && length(name) <= 32])
    error_message = "A permission set name is 1 to 32 characters."
  }
  validation {
    condition = alltrue([
      for p in values(var.permission_sets) : can(regex("^PT(([1-9]|1[0-2])H|([1-9]|1[01])H[0-5]?[0-9]M|([6-9][0-9]|[1-6][0-9][0-9]|7[01][0-9]|720)M)$", p.session_duration))
    ])
    error_message = "session_duration is an ISO-8601 duration from PT1H to PT12H."
  }
  validation {
    condition     = alltrue([for p in values(var.permission_sets) : p.inline_policy == null ? true : length(p.inline_policy) <= 32768])
    error_message = "An inline policy is at most 32,768 bytes."
  }
}

variable "assignments" {
  description = "Assignments keyed \"<group>|<permission set>|<account>\"."
  type = map(object({
    group          = string
    permission_set = string
    account_id     = string
  }))
  default = {}
  validation {
    condition     = alltrue([for a in values(var.assignments) : can(regex("^\\d{12}$", a.account_id))])
    error_message = "Every assignment's account_id is a 12-digit account ID."
  }
  validation {
    condition     = alltrue([for a in values(var.assignments) : contains(keys(var.groups), a.group) && contains(keys(var.permission_sets), a.permission_set)])
    error_message = "Every assignment names a group in groups and a permission set in permission_sets."
  }
}

variable "tags" {
  description = "Tags for permission sets."
  type        = map(string)
  default     = {}
}
