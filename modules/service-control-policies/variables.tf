# Inputs: SCP documents (minified JSON, exactly as sent) and where each is attached.

variable "policies" {
  description = "SCPs keyed by name; content is the minified JSON document."
  type = map(object({
    description = optional(string, "")
    content     = string
  }))
  validation {
    condition     = alltrue([for p in values(var.policies) : length(p.content) <= var.max_policy_chars])
    error_message = "An SCP exceeds the size limit; securecart-tf validate packs or refuses such policies."
  }
  validation {
    condition     = alltrue([for p in values(var.policies) : can(jsondecode(p.content).Statement)])
    error_message = "Every SCP content must be a JSON policy document with a Statement."
  }
}

variable "attachments" {
  description = "Attachments keyed \"<policy>|<target>\"; target is a key of target_ids."
  type = map(object({
    policy = string
    target = string
  }))
  default = {}
  validation {
    condition     = alltrue([for a in values(var.attachments) : contains(keys(var.policies), a.policy)])
    error_message = "Every attachment must name a policy in policies."
  }
}

variable "target_ids" {
  description = "Target key (\"root\", \"ou:<path>\", \"account:<name>\") → AWS ID."
  type        = map(string)
}

variable "max_policy_chars" {
  description = "SCP size limit in characters (5120, or 10240 after the 2026 raise)."
  type        = number
  default     = 5120
}

variable "tags" {
  description = "Tags for every policy."
  type        = map(string)
  default     = {}
}
