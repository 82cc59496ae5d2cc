# Inputs: which services run in this region, names, and what the parent module shares with every region.

variable "name_prefix" {
  description = "Prefix for recorder, channel and analyzer names."
  type        = string
}

variable "guardduty" {
  description = "Enable GuardDuty here and auto-enable it for the organization's members."
  type        = bool
  default     = true
}

variable "config" {
  description = "Record every supported resource with AWS Config here, delivered to log_bucket."
  type        = bool
  default     = true
}

variable "security_hub" {
  description = "Enable Security Hub here, auto-enable it for members, and subscribe the CIS and Foundational Best Practices standards."
  type        = bool
  default     = true
}

variable "access_analyzer" {
  description = "Create an organization IAM Access Analyzer here."
  type        = bool
  default     = true
}

variable "config_role_arn" {
  description = "The role the Config recorder uses (Config's service-linked role, which IAM holds once for every region); null without Config."
  type        = string
  default     = null
}

variable "log_bucket" {
  description = "The bucket the delivery channel writes to, under config/; null without Config."
  type        = string
  default     = null
}

variable "record_global_resources" {
  description = "Record IAM and other global resources: true in one region only (the home region)."
  type        = bool
  default     = false
}

variable "unused_access_age" {
  description = "Days without use after which the organization unused-access analyzer reports access; null for no such analyzer here (one region is enough)."
  type        = number
  default     = null
}

variable "config_recorder_name" {
  description = "The name of the region's configuration recorder when one exists already; null names a new one after name_prefix."
  type        = string
  default     = null
}

variable "config_delivery_channel_name" {
  description = "The name of the region's delivery channel when one exists already; null names a new one after name_prefix."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every taggable resource."
  type        = map(string)
  default     = {}
}
