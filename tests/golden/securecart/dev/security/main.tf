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
  security_hub          = var.baseline.security_hub
  access_analyzer       = var.baseline.access_analyzer
  regions               = var.baseline.regions
  log_retention_days    = var.baseline.log_retention_days
  force_destroy_logs    = var.baseline.force_destroy_logs

  lifecycle_rules_inline = var.baseline.lifecycle_rules_inline

  config_recorder_name         = var.baseline.config_recorder_name
  config_delivery_channel_name = var.baseline.config_delivery_channel_name
}

# eu-west-1: GuardDuty, Config's recorder, Security Hub and Access Analyzer, as in the home region.
module "security_baseline_eu_west_1" {
  source          = "../../modules/security-baseline/region"
  providers       = { aws = aws.eu_west_1 }
  name_prefix     = var.baseline.name_prefix
  guardduty       = var.baseline.guardduty
  config          = var.baseline.config
  security_hub    = var.baseline.security_hub
  access_analyzer = var.baseline.access_analyzer
  config_role_arn = module.security_baseline.config_role_arn
  log_bucket      = module.security_baseline.config_bucket

  config_recorder_name         = var.baseline.config_recorder_names["eu-west-1"]
  config_delivery_channel_name = var.baseline.config_delivery_channel_names["eu-west-1"]
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
