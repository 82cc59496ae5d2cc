# Inputs: SCP documents (minified JSON, exactly as sent) and where each is attached.

variable "policies" {
  description = "SCPs and RCPs keyed by name; content is the minified JSON document."
  type = map(object({
    description = optional(string, "")
    content     = string
    type        = optional(string, "SERVICE_CONTROL_POLICY")
  }))
  validation {
    condition     = alltrue([for p in values(var.policies) : contains(["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"], p.type)])
    error_message = "A policy's type is SERVICE_CONTROL_POLICY or RESOURCE_CONTROL_POLICY; not so: ${join(", ", [for name, p in var.policies : name if !contains(["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"], p.type)])}."
  }
  validation {
    condition     = alltrue([for name, p in var.policies : length(name) >= 1 && length(name) <= 128 && length(p.description) <= 512])
    error_message = "An SCP name is 1 to 128 characters and its description at most 512; check: ${join(", ", [for name, p in var.policies : name if !(length(name) >= 1 && length(name) <= 128 && length(p.description) <= 512)])}."
  }
  validation {
    condition     = alltrue([for p in values(var.policies) : length(p.content) <= var.max_policy_chars])
    error_message = "SCPs over the ${var.max_policy_chars}-character limit: ${join(", ", [for name, p in var.policies : "${name} (${length(p.content)})" if length(p.content) > var.max_policy_chars])}. Minify them, or split them; `securecart-tf validate` packs guardrails that fit."
  }
  validation {
    condition     = alltrue([for p in values(var.policies) : can(jsondecode(p.content).Statement)])
    error_message = "Every SCP's content must be a JSON policy document with a Statement; not one: ${join(", ", [for name, p in var.policies : name if !can(jsondecode(p.content).Statement)])}."
  }
}

variable "attachments" {
  description = "Attachments keyed \"<policy>|<target>\"; policy is a key of policies, target a key of target_ids."
  type = map(object({
    policy = string
    target = string
  }))
  default = {}
  validation {
    condition     = alltrue([for a in values(var.attachments) : contains(keys(var.policies), a.policy)])
    error_message = "Every attachment must name a policy in policies; unknown: ${join(", ", [for key, a in var.attachments : "${key} (\"${a.policy}\")" if !contains(keys(var.policies), a.policy)])}."
  }
  validation {
    condition     = alltrue([for a in values(var.attachments) : contains(keys(var.target_ids), a.target)])
    error_message = "Every attachment's target must be a key of target_ids (\"root\", \"ou:<path>\", \"account:<name>\"); unknown: ${join(", ", [for key, a in var.attachments : "${key} (\"${a.target}\")" if !contains(keys(var.target_ids), a.target)])}."
  }
}

variable "target_ids" {
  description = "Target key (\"root\", \"ou:<path>\", \"account:<name>\") → AWS ID (r-..., ou-..., or a 12-digit account ID)."
  type        = map(string)
}

variable "max_policy_chars" {
  description = "SCP size limit in characters (5120, or 10240 after the 2026 raise)."
  type        = number
  default     = 5120
  validation {
    condition     = var.max_policy_chars >= 1 && var.max_policy_chars <= 10240
    error_message = "max_policy_chars is 1 to 10240 (AWS allows 5120 characters per SCP, 10240 where raised)."
  }
}

variable "tags" {
  description = "Tags for every policy."
  type        = map(string)
  default     = {}
}
