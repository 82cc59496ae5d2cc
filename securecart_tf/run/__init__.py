"""Running Terraform.

The runner, plan and apply in dependency order, the ledger, workspaces, revisions and promotion.
"""
