# Inputs: one role's name, trust and permissions.

variable "name" {
  description = "Role name."
  type        = string
  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.name))
    error_message = "A role name is 1 to 64 characters of letters, digits and +=,.@_- (got \"${var.name}\")."
  }
}

variable "path" {
  description = "Role path."
  type        = string
  default     = "/"
  validation {
    condition     = can(regex("^/([\\x21-\\x7e]+/)?$", var.path)) && length(var.path) <= 512
    error_message = "A role path starts and ends with \"/\" (\"/\" or \"/securecart/\"); got \"${var.path}\"."
  }
}

variable "description" {
  description = "What the role is for."
  type        = string
  default     = ""
  validation {
    condition     = length(var.description) <= 1000
    error_message = "A role description is at most 1,000 characters."
  }
}

variable "trust_policy" {
  description = "The assume-role policy, minified JSON."
  type        = string
  validation {
    condition     = can(jsondecode(var.trust_policy).Statement)
    error_message = "The trust policy must be a JSON policy document with a Statement."
  }
  validation {
    condition     = length(var.trust_policy) <= 8192
    error_message = "A trust policy is at most 8,192 characters, and 2,048 unless the account's quota was raised; this one has ${length(var.trust_policy)}."
  }
}

variable "permissions_boundary" {
  description = "ARN of the permissions boundary (a managed policy), or null."
  type        = string
  default     = null
  validation {
    condition     = var.permissions_boundary == null ? true : can(regex("^arn:aws[a-z-]*:iam::(aws|\\d{12}):policy/", var.permissions_boundary))
    error_message = "permissions_boundary is a managed policy ARN (arn:aws:iam::<account>:policy/<name>); got \"${coalesce(var.permissions_boundary, "null")}\"."
  }
}

variable "managed_policies" {
  description = "Managed policies to attach, keyed by a stable name (the ARN, or \"policy:<name>\") so the plan knows each key before the ARN exists."
  type        = map(string)
  default     = {}
  validation {
    condition     = length(var.managed_policies) <= 25
    error_message = "A role can have at most 25 managed policies (10 by default; see the limits table); this one has ${length(var.managed_policies)}."
  }
  validation {
    condition     = alltrue([for arn in values(var.managed_policies) : can(regex("^arn:aws[a-z-]*:iam::(aws|\\d{12}):policy/", arn))])
    error_message = "Managed policies are given by ARN; not an ARN: ${join(", ", [for key, arn in var.managed_policies : key if !can(regex("^arn:aws[a-z-]*:iam::(aws|\\d{12}):policy/", arn))])}."
  }
}

variable "inline_policies" {
  description = "Inline policies keyed by name; values are minified JSON."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for name, doc in var.inline_policies : can(regex("^[\\w+=,.@-]{1,128}$", name)) && can(jsondecode(doc).Statement)])
    error_message = "An inline policy has a name of 1 to 128 letters, digits and +=,.@_- and a JSON document with a Statement; check: ${join(", ", [for name, doc in var.inline_policies : name if !(can(regex("^[\\w+=,.@-]{1,128}$", name)) && can(jsondecode(doc).Statement))])}."
  }
  validation {
    condition     = sum(concat([0], [for doc in values(var.inline_policies) : length(doc)])) <= 10240
    error_message = "A role's inline policies together are at most 10,240 characters; these have ${sum(concat([0], [for doc in values(var.inline_policies) : length(doc)]))}. Move permissions into a customer-managed policy."
  }
}

variable "max_session_duration" {
  description = "Maximum session duration in seconds."
  type        = number
  default     = 3600
  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration is 3600 to 43200 seconds (1 to 12 hours); got ${var.max_session_duration}."
  }
}

variable "tags" {
  description = "Tags for the role."
  type        = map(string)
  default     = {}
}
