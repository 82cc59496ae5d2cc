# Security layer: the security and logging account's baseline.

variable "baseline" {
  type = any
}

module "security_baseline" {
  source                = "../../modules/security-baseline"
  name_prefix           = var.baseline.name_prefix
  home_region           = var.region
  management_account_id = var.baseline.management_account_id
  organization_id       = var.baseline.organization_id
  cloudtrail            = var.baseline.cloudtrail
  guardduty             = var.baseline.guardduty
  config                = var.baseline.config
  access_analyzer       = var.baseline.access_analyzer
  log_retention_days    = var.baseline.log_retention_days
  force_destroy_logs    = var.baseline.force_destroy_logs

  config_recorder_name         = var.baseline.config_recorder_name
  config_delivery_channel_name = var.baseline.config_delivery_channel_name
}

output "log_bucket" {
  value = module.security_baseline.log_bucket
}

output "trail_arn" {
  value = module.security_baseline.trail_arn
}

output "detector_id" {
  value = module.security_baseline.detector_id
}

output "aggregator_arn" {
  value = module.security_baseline.aggregator_arn
}

output "analyzer_arn" {
  value = module.security_baseline.analyzer_arn
}
