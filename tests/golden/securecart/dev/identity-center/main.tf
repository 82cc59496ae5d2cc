# Identity Center layer: groups, permission sets and assignments, in the management account.

variable "groups" {
  type = any
}

variable "permission_sets" {
  type = any
}

variable "assignments" {
  type = any
}

module "identity_center" {
  source          = "../../modules/identity-center"
  groups          = var.groups
  permission_sets = var.permission_sets
  assignments     = var.assignments
}

output "permission_set_arns" {
  value = module.identity_center.permission_set_arns
}

output "group_ids" {
  value = module.identity_center.group_ids
}
