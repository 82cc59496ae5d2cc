# Inputs: customer-managed policies and OIDC providers for one account, and the baseline's settings there.

variable "policies" {
  description = "Customer-managed policies keyed by name; document is minified JSON."
  type = map(object({
    path        = optional(string, "/")
    description = optional(string, "")
    document    = string
  }))
  default = {}
  validation {
    condition     = alltrue([for name in keys(var.policies) : can(regex("^[\\w+=,.@-]{1,128}$", name))])
    error_message = "A policy name is 1 to 128 letters, digits and +=,.@_-; not one: ${join(", ", [for name in keys(var.policies) : name if !can(regex("^[\\w+=,.@-]{1,128}$", name))])}."
  }
  validation {
    condition     = alltrue([for p in values(var.policies) : can(regex("^/([\\x21-\\x7e]+/)?$", p.path)) && length(p.path) <= 512])
    error_message = "A policy path starts and ends with \"/\" (\"/\" or \"/securecart/\"); check: ${join(", ", [for name, p in var.policies : "${name} (\"${p.path}\")" if !(can(regex("^/([\\x21-\\x7e]+/)?$", p.path)) && length(p.path) <= 512)])}."
  }
  validation {
    condition     = alltrue([for p in values(var.policies) : can(jsondecode(p.document).Statement)])
    error_message = "A policy document must be a JSON policy document with a Statement; not one: ${join(", ", [for name, p in var.policies : name if !can(jsondecode(p.document).Statement)])}."
  }
  validation {
    condition     = alltrue([for p in values(var.policies) : length(p.document) <= 6144])
    error_message = "A managed policy document is at most 6,144 characters (minified); too long: ${join(", ", [for name, p in var.policies : "${name} (${length(p.document)})" if length(p.document) > 6144])}."
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
    error_message = "An OIDC provider URL must start with https://; check: ${join(", ", [for name, p in var.oidc_providers : "${name} (\"${p.url}\")" if !startswith(p.url, "https://")])}."
  }
  validation {
    condition     = alltrue([for p in values(var.oidc_providers) : length(p.client_ids) >= 1])
    error_message = "Every OIDC provider needs at least one client ID (the audience, \"sts.amazonaws.com\" for GitHub Actions)."
  }
  validation {
    condition     = alltrue(flatten([for p in values(var.oidc_providers) : [for t in p.thumbprints : can(regex("^[0-9a-fA-F]{40}$", t))]]))
    error_message = "A thumbprint is the 40-hex-digit SHA-1 of the provider's certificate."
  }
  validation {
    condition     = length(distinct([for p in values(var.oidc_providers) : p.url])) == length(var.oidc_providers)
    error_message = "An account holds one OIDC provider per URL; two entries share a URL."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "s3_public_access_block" {
  description = "Block public access to S3 account-wide: all four settings of the account's public access block."
  type        = bool
  default     = false
}

variable "ebs_encryption" {
  description = "Encrypt new EBS volumes by default in the provider's region."
  type        = bool
  default     = false
}

variable "config_service_linked_role" {
  description = "Create AWS Config's service-linked role (false where another stack creates it)."
  type        = bool
  default     = false
}

variable "config_recorder" {
  description = "Record AWS Config in the provider's region, delivering to a bucket in another account; null: none."
  type = object({
    name                          = string
    delivery_channel_name         = string
    bucket                        = string
    key_prefix                    = string
    role_arn                      = string
    include_global_resource_types = bool
  })
  default = null
  validation {
    condition     = var.config_recorder == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.config_recorder.role_arn))
    error_message = "The Config recorder's role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/...)."
  }
}
