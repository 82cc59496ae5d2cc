# Inputs: one role's name, trust and permissions.

variable "name" {
  description = "Role name."
  type        = string
  validation {
    condition     = length(var.name) >= 1 && length(var.name) <= 64 && can(regex("^[\\w+=,.@-]+$", var.name))
    error_message = "A role name is 1 to 64 characters of letters, digits and +=,.@_-."
  }
}

variable "path" {
  description = "Role path."
  type        = string
  default     = "/"
}

variable "description" {
  description = "What the role is for."
  type        = string
  default     = ""
}

variable "trust_policy" {
  description = "The assume-role policy, minified JSON."
  type        = string
  validation {
    condition     = can(jsondecode(var.trust_policy).Statement)
    error_message = "The trust policy must be a JSON policy document with a Statement."
  }
}

variable "permissions_boundary" {
  description = "ARN of the permissions boundary, or null."
  type        = string
  default     = null
}

variable "managed_policies" {
  description = "Managed policies to attach, keyed by a stable name (the ARN, or \"policy:<name>\")."
  type        = map(string)
  default     = {}
  validation {
    condition     = length(var.managed_policies) <= 25
    error_message = "A role can have at most 25 managed policies (10 by default; see the limits table)."
  }
}

variable "inline_policies" {
  description = "Inline policies keyed by name; values are minified JSON."
  type        = map(string)
  default     = {}
}

variable "max_session_duration" {
  description = "Maximum session duration in seconds."
  type        = number
  default     = 3600
  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration is 3600 to 43200 seconds (1 to 12 hours)."
  }
}

variable "tags" {
  description = "Tags for the role."
  type        = map(string)
  default     = {}
}
