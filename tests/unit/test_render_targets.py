"""Rendering for each target: the sandbox's provider, real AWS by assume_role or profile, and the S3 backend."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from securecart_tf.checks.validate import run_checks
from securecart_tf.config.environments import Environment
from securecart_tf.config.load import load_project
from securecart_tf.model import OrgFacts, build_model
from securecart_tf.render import render
from tests.helpers import run_cli

FACTS = OrgFacts(
    account_ids={
        "management": "111111111111",
        "security": "222222222222",
        "shared-services": "333333333333",
        "dev": "444444444444",
        "staging": "555555555555",
        "prod": "666666666666",
    },
    organization_id="o-abcdefghij",
    root_id="r-abcd",
)


def _render(example_project: Path, tmp_path: Path, env: dict) -> dict[str, dict[str, str]]:
    project = load_project(example_project)
    model = build_model(project, FACTS)
    result = render(model, [Environment.model_validate(env)], tmp_path / "build")
    return {name: stack.files for name, stack in result.stacks.items()}


def test_real_aws_assumes_the_configured_role_in_member_accounts(example_project: Path, tmp_path: Path) -> None:
    files = _render(
        example_project,
        tmp_path,
        {
            "name": "dev",
            "stacks": ["organization"],
            "accounts": ["management", "dev"],
            "target": {
                "type": "aws",
                "profile": "securecart-mgmt",
                "role_name": "PlatformDeployer",
                "external_id": "deploy-7d1",
            },
        },
    )
    dev = files["access-dev"]["providers.tf"]
    assert 'role_arn     = "arn:aws:iam::${var.account_id}:role/PlatformDeployer"' in dev
    assert 'external_id  = "deploy-7d1"' in dev
    assert 'profile = "securecart-mgmt"' in dev
    assert "skip_credentials_validation" not in dev  # only the sandbox skips AWS's own checks
    assert '"account_id": "444444444444"' in files["access-dev"]["terraform.tfvars.json"]
    mgmt = files["organization"]["providers.tf"]
    assert "assume_role" not in mgmt  # the management account uses its own credentials


def test_without_role_name_member_accounts_are_reached_through_the_deployment_role(
    example_project: Path, tmp_path: Path
) -> None:
    """The role guardrails exempt is the matrix's deployment_role; the environment need not repeat it."""
    matrix = example_project.read_text()
    example_project.write_text(
        matrix.replace("deployment_role: OrganizationAccountAccessRole", "deployment_role: Deployer")
    )
    files = _render(example_project, tmp_path, {"name": "dev", "accounts": ["dev"], "target": {"type": "aws"}})
    assert 'role_arn     = "arn:aws:iam::${var.account_id}:role/Deployer"' in files["access-dev"]["providers.tf"]


def test_real_aws_backs_off_adaptively_and_boundedly(example_project: Path, tmp_path: Path) -> None:
    files = _render(
        example_project, tmp_path, {"name": "dev", "stacks": ["identity-center"], "target": {"type": "aws"}}
    )
    provider = files["identity-center"]["providers.tf"]
    assert 'retry_mode  = "adaptive"' in provider
    assert "max_retries = 25" in provider


def test_identity_center_works_in_its_own_region(example_project: Path, tmp_path: Path) -> None:
    matrix = example_project.read_text()
    assert "identity_center:\n" in matrix
    example_project.write_text(matrix.replace("identity_center:\n", "identity_center:\n  region: eu-west-1\n", 1))
    files = _render(example_project, tmp_path, {"name": "dev", "stacks": ["organization", "identity-center"]})
    assert json.loads(files["identity-center"]["terraform.tfvars.json"])["region"] == "eu-west-1"
    assert json.loads(files["organization"]["terraform.tfvars.json"])["region"] == "us-east-1"


def test_a_govcloud_organization_names_its_own_partition_in_every_generated_arn(
    example_project: Path, tmp_path: Path
) -> None:
    matrix = example_project.read_text()
    assert "home_region: us-east-1" in matrix
    # what the user writes names the partition already; everything else securecart-tf generates
    example_project.write_text(
        matrix.replace("home_region: us-east-1", "home_region: us-gov-west-1").replace("arn:aws:", "arn:aws-us-gov:")
    )
    for policy in (example_project.parent / "policies").rglob("*.json"):
        policy.write_text(policy.read_text().replace("arn:aws:", "arn:aws-us-gov:"))
    files = _render(
        example_project,
        tmp_path,
        {"name": "dev", "stacks": ["organization"], "accounts": ["dev"], "target": {"type": "aws"}},
    )
    assert 'role_arn     = "arn:aws-us-gov:iam::${var.account_id}:role/' in files["access-dev"]["providers.tf"]
    access = files["access-dev"]["terraform.tfvars.json"]
    organization = files["organization"]["terraform.tfvars.json"]
    for text in (access, organization):
        assert "arn:aws:" not in text
    assert "arn:aws-us-gov:iam::444444444444:oidc-provider/" in access  # DeploymentRole trusts GitHub's OIDC
    assert "arn:aws-us-gov:iam::*:role/OrganizationAccountAccessRole" in organization  # guardrail exemptions
    # and the lockout check matches those exemptions against the partition's role ARNs
    errors = [f for f in run_checks(load_project(example_project)) if f.severity == "error" and f.active]
    assert errors == [], [(f.rule, f.message) for f in errors]


def test_a_per_account_profile_replaces_assume_role(example_project: Path, tmp_path: Path) -> None:
    files = _render(
        example_project,
        tmp_path,
        {
            "name": "dev",
            "accounts": ["dev"],
            "target": {"type": "aws", "account_profiles": {"dev": "securecart-dev"}},
        },
    )
    dev = files["access-dev"]["providers.tf"]
    assert 'profile = "securecart-dev"' in dev
    assert "assume_role" not in dev


def test_sandbox_provider_takes_its_endpoint_from_the_environment(example_project: Path, tmp_path: Path) -> None:
    files = _render(example_project, tmp_path, {"name": "dev", "accounts": ["dev"]})
    dev = files["access-dev"]["providers.tf"]
    assert "max_retries                 = 2" in dev
    assert "127.0.0.1" not in dev and "endpoint" not in dev.split("provider")[1]
    assert 'role/OrganizationAccountAccessRole"' in dev


def test_s3_backend_keys_each_stack_and_locks_with_a_lockfile(example_project: Path, tmp_path: Path) -> None:
    files = _render(
        example_project,
        tmp_path,
        {
            "name": "dev",
            "accounts": ["dev"],
            "backend": {"type": "s3", "bucket": "securecart-tfstate", "key_prefix": "org/main", "region": "eu-west-1"},
            "target": {"type": "aws"},
        },
    )
    backend = files["access-dev"]["providers.tf"]
    assert 'backend "s3"' in backend
    assert 'key          = "org/main/access-dev/terraform.tfstate"' in backend
    assert "use_lockfile = true" in backend
    assert "use_path_style" not in backend  # path-style addressing is for the sandbox only
    assert 'required_version = ">= 1.11.0"' in backend  # use_lockfile arrived in Terraform 1.11


def test_a_local_backend_keeps_the_terraform_floor_at_1_9(example_project: Path, tmp_path: Path) -> None:
    files = _render(example_project, tmp_path, {"name": "dev", "accounts": ["dev"]})
    assert 'required_version = ">= 1.9.0"' in files["access-dev"]["providers.tf"]


def test_an_s3_backend_with_terraform_older_than_1_11_stops_before_init(example_project: Path, tmp_path: Path) -> None:
    fake = tmp_path / "terraform"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        "if sys.argv[1:] == ['version', '-json']:\n"
        "    print(json.dumps({'terraform_version': '1.10.5'}))\n"
        "else:\n"
        "    open(sys.argv[0] + '.ran', 'w').write(' '.join(sys.argv[1:]))\n"
    )
    fake.chmod(0o755)
    dev = example_project.parent / "environments" / "dev.yaml"
    dev.write_text(dev.read_text().replace("  type: local", "  type: s3\n  bucket: securecart-tfstate"))
    backend_line = dev.read_text().splitlines().index("  type: s3") + 1
    result = run_cli(
        example_project.parent, "plan", "--env", "dev", env={"SECURECART_TERRAFORM": str(fake)}, timeout=120
    )
    assert result.returncode == 1, result.stderr
    assert f"dev.yaml:{backend_line}:" in result.stderr
    assert "keeps state in S3, locked with use_lockfile, which needs Terraform 1.11.0 or newer" in result.stderr
    assert "this Terraform is 1.10.5" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "terraform.ran").exists()  # no init, no plan


def test_destroy_outside_the_sandbox_needs_the_typed_name(example_project: Path) -> None:
    prod = example_project.parent / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace("type: sandbox", "type: aws"))
    result = run_cli(example_project.parent, "destroy", "--env", "prod", input="production\n", timeout=120)
    assert result.returncode == 1
    assert "destroy was not confirmed; nothing was changed" in result.stderr
    assert not (example_project.parent / ".securecart" / "state").exists()


def test_plan_against_aws_without_credentials_stops_before_terraform(example_project: Path, tmp_path: Path) -> None:
    dev = example_project.parent / "environments" / "dev.yaml"
    dev.write_text(dev.read_text().replace("type: sandbox", "type: aws"))
    env = {
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = run_cli(example_project.parent, "plan", "--env", "dev", env=env, unset=("AWS_",), timeout=120)
    assert result.returncode == 1
    assert "environment 'dev' targets AWS, but the default credential chain gives no credentials" in result.stderr
    assert "Traceback" not in result.stderr
    assert list((example_project.parent / ".securecart" / "logs").rglob("*.log")) == []  # no Terraform started


def test_only_the_sandbox_puts_the_log_buckets_lifecycle_rules_inline(example_project: Path, tmp_path: Path) -> None:
    """Real AWS keeps aws_s3_bucket_lifecycle_configuration and its read-back until S3 is consistent, and a log
    bucket a destroy cannot empty; the sandbox, discarded whole and consistent at once, needs neither."""
    aws = _render(example_project, tmp_path / "aws", {"name": "dev", "stacks": ["security"], "target": {"type": "aws"}})
    sandbox = _render(example_project, tmp_path / "sandbox", {"name": "dev", "stacks": ["security"]})
    aws_baseline = json.loads(aws["security"]["terraform.tfvars.json"])["baseline"]
    sandbox_baseline = json.loads(sandbox["security"]["terraform.tfvars.json"])["baseline"]
    assert (aws_baseline["lifecycle_rules_inline"], aws_baseline["force_destroy_logs"]) == (False, False)
    assert (sandbox_baseline["lifecycle_rules_inline"], sandbox_baseline["force_destroy_logs"]) == (True, True)
    assert "lifecycle_rules_inline = var.baseline.lifecycle_rules_inline" in aws["security"]["main.tf"]
