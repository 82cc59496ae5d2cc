# Inputs: groups, permission sets and assignments, keyed by stable names.

variable "groups" {
  description = "Groups keyed by display name. source \"scim\" looks the group up (the IdP provisions it); \"created\" creates it here."
  type = map(object({
    source      = string
    description = optional(string, "")
  }))
  default = {}
  validation {
    condition     = alltrue([for g in values(var.groups) : contains(["scim", "created"], g.source)])
    error_message = "A group's source is \"scim\" (provisioned by the IdP) or \"created\"; check: ${join(", ", [for name, g in var.groups : "${name} (\"${g.source}\")" if !contains(["scim", "created"], g.source)])}."
  }
  validation {
    condition     = alltrue([for name, g in var.groups : length(name) >= 1 && length(name) <= 1024 && length(g.description) <= 1024])
    error_message = "A group's display name and description are each at most 1,024 characters."
  }
}

variable "permission_sets" {
  description = "Permission sets keyed by name: AWS-managed policy ARNs, customer-managed policy references (by name and path, in every target account), an inline policy and a permissions boundary."
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
    condition     = alltrue([for name in keys(var.permission_sets) : can(regex("^[\\w+=,.@-]{1,32}$", name))])
    error_message = "A permission set name is 1 to 32 letters, digits and +=,.@_-; not one: ${join(", ", [for name in keys(var.permission_sets) : name if !can(regex("^[\\w+=,.@-]{1,32}$", name))])}."
  }
  validation {
    condition     = alltrue([for p in values(var.permission_sets) : length(p.description) <= 700])
    error_message = "A permission set description is at most 700 characters."
  }
  validation {
    condition = alltrue([
      for p in values(var.permission_sets) : can(regex("^PT(([1-9]|1[0-2])H|([1-9]|1[01])H[0-5]?[0-9]M|([6-9][0-9]|[1-6][0-9][0-9]|7[01][0-9]|720)M)$", p.session_duration))
    ])
    error_message = "session_duration is an ISO-8601 duration from PT1H to PT12H (\"PT4H\", \"PT1H30M\"); check: ${join(", ", [for name, p in var.permission_sets : "${name} (\"${p.session_duration}\")" if !can(regex("^PT(([1-9]|1[0-2])H|([1-9]|1[01])H[0-5]?[0-9]M|([6-9][0-9]|[1-6][0-9][0-9]|7[01][0-9]|720)M)$", p.session_duration))])}."
  }
  validation {
    condition     = alltrue(flatten([for p in values(var.permission_sets) : [for arn in p.managed_policies : can(regex("^arn:aws[a-z-]*:iam::aws:policy/", arn))]]))
    error_message = "managed_policies are AWS-managed policy ARNs (arn:aws:iam::aws:policy/...); reference your own policies in customer_managed_policies instead."
  }
  validation {
    condition     = alltrue([for p in values(var.permission_sets) : p.inline_policy == null ? true : can(jsondecode(p.inline_policy).Statement)])
    error_message = "An inline policy must be a JSON policy document with a Statement; not one: ${join(", ", [for name, p in var.permission_sets : name if p.inline_policy != null && !can(jsondecode(coalesce(p.inline_policy, "{}")).Statement)])}."
  }
  validation {
    condition     = alltrue([for p in values(var.permission_sets) : p.inline_policy == null ? true : length(p.inline_policy) <= 32768])
    error_message = "An inline policy is at most 32,768 characters."
  }
  validation {
    condition = alltrue([
      for p in values(var.permission_sets) : p.permissions_boundary == null ? true : ((p.permissions_boundary.managed_policy_arn == null) != (p.permissions_boundary.customer_managed == null))
    ])
    error_message = "A permissions boundary is either managed_policy_arn or customer_managed, exactly one; check: ${join(", ", [for name, p in var.permission_sets : name if p.permissions_boundary != null && ((try(p.permissions_boundary.managed_policy_arn, null) == null) == (try(p.permissions_boundary.customer_managed, null) == null))])}."
  }
}

variable "assignments" {
  description = "Assignments keyed \"<group>|<permission set>|<account>\"; group and permission_set are keys of groups and permission_sets."
  type = map(object({
    group          = string
    permission_set = string
    account_id     = string
  }))
  default = {}
  validation {
    condition     = alltrue([for a in values(var.assignments) : can(regex("^\\d{12}$", a.account_id))])
    error_message = "Every assignment's account_id is a 12-digit account ID; check: ${join(", ", [for key, a in var.assignments : "${key} (\"${a.account_id}\")" if !can(regex("^\\d{12}$", a.account_id))])}."
  }
  validation {
    condition     = alltrue([for a in values(var.assignments) : contains(keys(var.groups), a.group) && contains(keys(var.permission_sets), a.permission_set)])
    error_message = "Every assignment names a group in groups and a permission set in permission_sets; check: ${join(", ", [for key, a in var.assignments : key if !(contains(keys(var.groups), a.group) && contains(keys(var.permission_sets), a.permission_set))])}."
  }
}

variable "tags" {
  description = "Tags for permission sets."
  type        = map(string)
  default     = {}
}
