# The Terraform and AWS provider versions securecart-tf is written and tested for, declared once.
# tests/unit/test_versions.py holds every other place to this: each module's versions.tf and end-to-end root,
# the versions the renderer writes into each stack, and the oldest Terraform the runner accepts.

terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60.0, < 6.0.0"
    }
  }
}
