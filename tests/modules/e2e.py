"""End-to-end module tests: a module applied on its own to the sandbox with tftest, the way a consumer would.

Each module has a small root, `tests/modules/<module>/e2e/`: `main.tf`, which calls the module, and
`terraform.tfvars`, a link to one of the module's plan cases (`tests/modules/<module>/<case>.tfvars`). What
only the sandbox knows (account and organization IDs, policy ARNs) goes into `sandbox.auto.tfvars.json`,
written per run, which Terraform loads after terraform.tfvars. The root is copied into a scratch folder
beside a copy of the module, as `./modules/<module>`, with `sandbox_override.tf`: a Terraform override file
that adds to the root's provider the sandbox settings the tool renders for its own stacks (skip_* flags,
path-style S3, few retries). Endpoint and credentials come from the environment, so the root is exactly
what each module's README shows (`python -m tests.modules.readme` copies it there).

A sandbox holds one organization, like AWS: `SandboxOrganization` creates one with boto3 (an OU tree,
three member accounts, trusted services and delegated administrators, as the organization module would),
and cases in member accounts reach them through `assume_role` into OrganizationAccountAccessRole. The
organization module creates its own organization, so its case gets a sandbox without one.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tftest

from securecart_tf import sandbox
from securecart_tf.render import SANDBOX_MAX_RETRIES
from securecart_tf.run.terraform import cli_config, find_terraform, go_runtime_env
from tests.helpers import boto3_client
from tests.modules.inventory import MODULES, REGION, TESTS

ROLE = "OrganizationAccountAccessRole"

# The organization every shared-sandbox case runs in: OUs and member accounts, by name.
UNITS = ("SecurityOU", "WorkloadsOU", "SharedServicesOU")
ACCOUNTS = {"security": "SecurityOU", "shared-services": "SharedServicesOU", "dev": "WorkloadsOU"}
TRUSTED_SERVICES = (
    "sso.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "guardduty.amazonaws.com",
    "config.amazonaws.com",
    "config-multiaccountsetup.amazonaws.com",
    "access-analyzer.amazonaws.com",
    "securityhub.amazonaws.com",
)
# What the security account administers for the organization, as the organization module delegates it.
DELEGATED_TO_SECURITY = (
    "config-multiaccountsetup.amazonaws.com",
    "config.amazonaws.com",
    "access-analyzer.amazonaws.com",
)


def sandbox_override() -> str:
    """The override file that points a root's provider at the sandbox, as render.py does for stacks."""
    return (
        "# Added by the end-to-end tests: the sandbox's provider settings, merged into the root's provider.\n"
        "# Endpoints and throwaway credentials come from the environment.\n"
        'provider "aws" {\n'
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  skip_region_validation      = true\n"
        "  s3_use_path_style           = true\n"
        f"  max_retries                 = {SANDBOX_MAX_RETRIES}\n"
        "}\n"
    )


# -- the sandbox and its organization ---------------------------------------------------------------------


class SandboxOrganization:
    """A sandbox of its own, with (unless `bare`) an organization made by boto3 for the cases to live in."""

    def __init__(self, home: Path, *, bare: bool = False):
        self.home = home
        self.info, self._started = sandbox.up(home)
        self.management_id = ""
        self.organization_id = ""
        self.root_id = ""
        self.ou_ids: dict[str, str] = {}
        self.account_ids: dict[str, str] = {}
        if not bare:
            self._organize()

    def close(self) -> None:
        if self._started:
            sandbox.down(self.home)
            self._started = False

    def account_id(self, name: str) -> str:
        """A member account's ID, or the management account's for "management"."""
        return self.management_id if name == "management" else self.account_ids[name]

    def env(self) -> dict[str, str]:
        return self.info.terraform_env(REGION)

    def client(self, service: str, account: str | None = None) -> Any:
        """A boto3 client in the management account, or in member `account` through its ROLE."""
        creds = {"AccessKeyId": self.info.access_key, "SecretAccessKey": self.info.secret_key}
        if account is not None:
            creds = boto3_client("sts", self.info.endpoint, creds, region=REGION).assume_role(
                RoleArn=f"arn:aws:iam::{self.account_ids[account]}:role/{ROLE}", RoleSessionName="module-e2e-checks"
            )["Credentials"]
        return boto3_client(service, self.info.endpoint, creds, region=REGION)

    def _organize(self) -> None:
        org = self.client("organizations")
        created = org.create_organization(FeatureSet="ALL")["Organization"]
        self.organization_id, self.management_id = created["Id"], created["MasterAccountId"]
        self.root_id = org.list_roots()["Roots"][0]["Id"]
        for name in UNITS:
            self.ou_ids[name] = org.create_organizational_unit(ParentId=self.root_id, Name=name)["OrganizationalUnit"][
                "Id"
            ]
        for name, unit in ACCOUNTS.items():
            status = org.create_account(AccountName=name, Email=f"{name}@e2e.example", RoleName=ROLE)
            account_id = status["CreateAccountStatus"]["AccountId"]
            org.move_account(AccountId=account_id, SourceParentId=self.root_id, DestinationParentId=self.ou_ids[unit])
            self.account_ids[name] = account_id
        for principal in TRUSTED_SERVICES:
            org.enable_aws_service_access(ServicePrincipal=principal)
        security = self.account_ids["security"]
        for principal in DELEGATED_TO_SECURITY:
            org.register_delegated_administrator(AccountId=security, ServicePrincipal=principal)
        self.client("cloudtrail").register_organization_delegated_admin(MemberAccountId=security)
        self.client("guardduty").enable_organization_admin_account(AdminAccountId=security)
        self.client("securityhub").enable_organization_admin_account(AdminAccountId=security)


# -- cases --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class E2ECase:
    """One module applied on its own: its root, the plan case whose tfvars it takes, and where it runs."""

    module: str
    account: str | None = None
    """The member account the module lives in (reached by assume_role); None for the management account."""
    bare_sandbox: bool = False
    """The module creates the organization itself, so it needs a sandbox without one."""
    prepare: Callable[[SandboxOrganization], None] = field(default=lambda org: None, compare=False)
    """Creates, with boto3, what the module expects to exist already (what other modules or an IdP make)."""
    sandbox_vars: Callable[[SandboxOrganization], dict[str, Any]] = field(default=lambda org: {}, compare=False)
    """Inputs only the sandbox knows (IDs, ARNs); they override the tfvars'."""
    outlives_destroy: tuple[str, ...] = ()
    """Addresses AWS will not destroy yet, which leave the state before destroy (as securecart-tf's destroy does)."""
    previous_addresses: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Where an earlier version of the module kept resources it has since moved: instance address then → now.
    A state that version left must plan without changes, through the module's `moved` blocks."""

    @property
    def root(self) -> Path:
        return TESTS / self.module / "e2e"

    @property
    def tfvars(self) -> str:
        """The plan case whose inputs the root applies: what its terraform.tfvars links to."""
        return (self.root / "terraform.tfvars").resolve().stem

    @property
    def id(self) -> str:
        return f"{self.module}/{self.tfvars}"


class Root:
    """A case's root in a scratch folder, run by tftest against one sandbox."""

    def __init__(self, case: E2ECase, scratch: Path, org: SandboxOrganization):
        self.case = case
        self.org = org
        self.dir = scratch / case.module
        if self.dir.exists():
            shutil.rmtree(self.dir)
        # A copy, not a link: setup(disable_prevent_destroy=True) rewrites the module's lifecycle blocks so
        # that destroy can clean the sandbox, and must never touch modules/ itself.
        shutil.copytree(MODULES / case.module, self.dir / "modules" / case.module)
        for name in ("main.tf", "terraform.tfvars"):
            shutil.copyfile(case.root / name, self.dir / name)
        (self.dir / "sandbox_override.tf").write_text(sandbox_override())
        account_id = {"account_id": org.account_ids[case.account]} if case.account else {}
        values = {**account_id, **case.sandbox_vars(org)}
        (self.dir / "sandbox.auto.tfvars.json").write_text(json.dumps(values, indent=2) + "\n")
        self.tf = tftest.TerraformTest(str(self.dir), binary=find_terraform())
        self.tf.env = self._env(scratch)

    def _env(self, scratch: Path) -> dict[str, str]:
        home = scratch / "home"
        cache = home / "plugin-cache" / self.case.module
        cache.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
        env.update(
            TF_CLI_CONFIG_FILE=str(cli_config(home)),
            TF_PLUGIN_CACHE_DIR=str(cache),  # one per root: see Planner._env
            TF_IN_AUTOMATION="1",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        env.update(self.org.env())
        env.update(go_runtime_env(env))  # as the tool runs Terraform
        return env

    def setup(self) -> None:
        self.case.prepare(self.org)
        self.tf.setup(input=False, disable_prevent_destroy=True, cleanup_on_exit=False)

    def apply(self) -> None:
        self.tf.apply(input=False)

    def output(self) -> Mapping[str, Any]:
        return self.tf.output()  # type: ignore[no-any-return]

    def plan_changes(self) -> str:
        """What a new plan would change, as Terraform prints it; empty when the apply has converged."""
        result = self.tf.execute_command("plan", "-input=false", "-no-color", "-detailed-exitcode")
        return "" if result.retcode == 0 else result.out

    def plan_over_previous_state(self) -> list[dict[str, Any]]:
        """The resource changes of a plan over the state as the earlier version left it: each resource moved back
        to its address then (`case.previous_addresses`). The applied state is put back afterwards."""
        state = self.dir / "terraform.tfstate"
        applied = state.read_bytes()
        try:
            for then, now in self.case.previous_addresses.items():
                self.tf.execute_command("state", "mv", now, then)
            self.tf.execute_command("plan", "-input=false", "-refresh=false", "-out=previous.tfplan")
            shown = json.loads(self.tf.execute_command("show", "-json", "previous.tfplan").out)
        finally:
            state.write_bytes(applied)
        return list(shown.get("resource_changes") or [])

    def destroy(self) -> None:
        for address in self.case.outlives_destroy:
            self.tf.execute_command("state", "rm", address)
        # The plan before it has just refreshed the state; reading every resource again would only cost time.
        self.tf.destroy(input=False, refresh=False)
