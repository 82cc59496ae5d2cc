# Inputs: customer-managed policies and OIDC providers for one account.

variable "policies" {
  description = "Customer-managed policies keyed by name; document is minified JSON."
  type = map(object({
    path        = optional(string, "/")
    description = optional(string, "")
    document    = string
  }))
  default = {}
  validation {
    condition     = alltrue([for name in keys(var.policies) : length(name) <= 128])
    error_message = "Policy names are at most 128 characters."
  }
  validation {
    condition     = alltrue([for p in values(var.policies) : length(p.document) <= 6144])
    error_message = "A managed policy document is at most 6,144 characters (minified)."
  }
}

variable "oidc_providers" {
  description = "OIDC identity providers keyed by a short name (\"github\")."
  type = map(object({
    url         = string
    client_ids  = list(string)
    thumbprints = list(string)
  }))
  default = {}
  validation {
    condition     = alltrue([for p in values(var.oidc_providers) : startswith(p.url, "https://")])
    error_message = "An OIDC provider URL must start with https://."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
