"""The adoption record becomes `import` blocks, one per adopted object the stack's configuration holds.

Expected addresses are the modules' resources at the matrix's names; expected IDs are written in the formats
the AWS provider documents for importing each resource.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from securecart_tf.config.load import load_project
from securecart_tf.errors import ConfigErrors, SecureCartError
from securecart_tf.model import build_model
from securecart_tf.render import render
from tests.conftest import EXAMPLE_MATRIX
from tests.helpers import copy_example, write_project

MATRIX = """\
version: 1
organization:
  name: adopted
  management_account: management
  units:
    - name: Workloads
      units:
        - name: Prod
    - name: Security
accounts:
  - {name: management, email: m@adopted.example, ou: /, id: "111111111111"}
  - {name: prod, email: p@adopted.example, ou: Workloads/Prod, id: "222222222222", access_role_exists: true}
  - {name: audit, email: a@adopted.example, ou: Security, id: "333333333333", access_role_exists: true}
guardrails:
  - name: deny-leave
    builtin: deny-leave-organization
    targets: {ous: [Workloads], accounts: [audit]}
  - name: root-guard
    builtin: deny-root-user
    targets: {ous: ["/"]}
security_baseline:
  account: audit
  cloudtrail: false
  config: false
identity_center:
  identity_source: {provider: okta}
  groups:
    - {name: Admins, source: created}
    - {name: Devs, source: scim}
  permission_sets:
    - name: ReadOnly
      managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
      customer_managed_policies: [ReadLogs]
      inline_policy:
        Statement: [{Effect: Allow, Action: "logs:GetLogEvents", Resource: "*"}]
      permissions_boundary: arn:aws:iam::aws:policy/PowerUserAccess
  assignments:
    - {group: Admins, permission_set: ReadOnly, accounts: [prod]}
    - {group: Devs, permission_set: ReadOnly, accounts: [prod]}
policies:
  - name: ReadLogs
    path: /team/
    document:
      Statement: [{Effect: Allow, Action: "logs:GetLogEvents", Resource: "*"}]
roles:
  - name: Worker
    audience: service
    accounts: [prod]
    trust:
      principals: [{service: lambda}]
    managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess, ReadLogs]
    inline_policies:
      - name: queue
        document:
          Statement: [{Effect: Allow, Action: "sqs:ReceiveMessage", Resource: "*"}]
  - name: Deployer
    audience: ci
    accounts: [prod]
    trust:
      principals: [{oidc: {subject: "repo:acme/app:ref:refs/heads/main"}}]
"""

DEV = """\
name: dev
stacks: [organization, security, identity-center]
accounts: [management, prod, audit]
approval: none
"""

INSTANCE = "arn:aws:sso:::instance/ssoins-1111222233334444"
PS_ARN = "arn:aws:sso:::permissionSet/ssoins-1111222233334444/ps-aaaabbbbccccdddd"

# Entries marked "stale" name what the matrix does not describe: they must give no block.
ADOPTED = f"""\
version: 1
organization_id: o-abc123def4
root_id: r-ab12
management_account_id: "111111111111"
units:
  Workloads: ou-ab12-workload
  Workloads/Prod: ou-ab12-prod0001
  Security: ou-ab12-security
  Old: ou-ab12-old00001            # stale
guardrails:
  deny-leave: p-leave001
  root-guard: p-rootguard
  gone: p-gone0001                 # stale
guardrail_attachments:
  deny-leave: [ou:Workloads, account:audit, account:prod]    # account:prod is stale
  root-guard: [root]
  gone: [root]                     # stale
delegated_administrators:
  - {{account: audit, service_principal: access-analyzer.amazonaws.com}}
  - {{account: audit, service_principal: guardduty.amazonaws.com}}
  - {{account: prod, service_principal: config.amazonaws.com}}       # stale
identity_center:
  instance_arn: {INSTANCE}
  identity_store_id: d-9067000000
  groups:
    Admins: 94482488-3041-7026-18f3-be45837cd0e4
    Devs: 11112222-3041-7026-18f3-be45837cd0e4     # looked up, not imported
  permission_sets:
    ReadOnly: {PS_ARN}
    Gone: arn:aws:sso:::permissionSet/ssoins-1111222233334444/ps-0000000000000000   # stale
  managed_policies:
    ReadOnly: [arn:aws:iam::aws:policy/ReadOnlyAccess, arn:aws:iam::aws:policy/job-function/Billing]
  customer_managed_policies:
    ReadOnly: [/team/ReadLogs]
  inline_policies: [ReadOnly]
  boundaries: [ReadOnly]
  assignments:
    - {{group: Admins, permission_set: ReadOnly, accounts: [prod], principal_id: 94482488-3041-7026-18f3-be45837cd0e4}}
    # audit is stale: nothing is assigned there
    - group: Devs
      permission_set: ReadOnly
      accounts: [prod, audit]
      principal_id: 11112222-3041-7026-18f3-be45837cd0e4
    - {{group: Admins, permission_set: ReadOnly, account: audit, principal_id: x}}   # stale; a single account
accounts:
  prod:
    policies:
      ReadLogs: arn:aws:iam::222222222222:policy/team/ReadLogs
    oidc_providers:
      github: arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com
    roles:
      Worker:
        managed_policies:
          - arn:aws:iam::aws:policy/ReadOnlyAccess
          - arn:aws:iam::222222222222:policy/team/ReadLogs
          - arn:aws:iam::aws:policy/AdministratorAccess      # stale
        inline_policies: [queue, old-inline]                  # old-inline is stale
      Deployer: {{}}
      Gone: {{}}                                              # stale
  audit:
    roles:
      Worker: {{}}                                            # stale: Worker is not placed in audit
"""

_BLOCK = re.compile(r'import \{\n  to = (.+)\n  id = "(.*)"\n\}\n')


def _rendered(tmp_path: Path, adopted: str | None = ADOPTED) -> Path:
    files = {"adopted.yaml": adopted} if adopted is not None else {}
    project = load_project(write_project(tmp_path / "p", MATRIX, {"dev": DEV}, files) / "access-matrix.yaml")
    out = tmp_path / "build"
    render(build_model(project), list(project.environments.values()), out)
    return out / "dev"


def _blocks(path: Path) -> set[tuple[str, str]]:
    text = path.read_text()
    found = set(_BLOCK.findall(text))
    assert text.count("import {") == len(found), text
    return found


def test_the_organization_stack_imports_the_organization_its_ous_policies_attachments_and_admins(
    tmp_path: Path,
) -> None:
    blocks = _blocks(_rendered(tmp_path) / "organization" / "imports.tf")
    assert blocks == {
        ("module.organization.aws_organizations_organization.this", "o-abc123def4"),
        ('module.organization.aws_organizations_organizational_unit.level1["Workloads"]', "ou-ab12-workload"),
        ('module.organization.aws_organizations_organizational_unit.level2["Workloads/Prod"]', "ou-ab12-prod0001"),
        ('module.organization.aws_organizations_organizational_unit.level1["Security"]', "ou-ab12-security"),
        ('module.service_control_policies.aws_organizations_policy.this["deny-leave"]', "p-leave001"),
        ('module.service_control_policies.aws_organizations_policy.this["root-guard"]', "p-rootguard"),
        (
            'module.service_control_policies.aws_organizations_policy_attachment.this["deny-leave|ou:Workloads"]',
            "ou-ab12-workload:p-leave001",
        ),
        (
            'module.service_control_policies.aws_organizations_policy_attachment.this["deny-leave|account:audit"]',
            "333333333333:p-leave001",
        ),
        (
            'module.service_control_policies.aws_organizations_policy_attachment.this["root-guard|root"]',
            "r-ab12:p-rootguard",
        ),
        (
            'module.organization.aws_organizations_delegated_administrator.this["access-analyzer"]',
            "333333333333/access-analyzer.amazonaws.com",
        ),
        # GuardDuty designates its administrator per region: the home region's is in the module's region submodule
        ("module.organization.module.home_region.aws_guardduty_organization_admin_account.this[0]", "333333333333"),
    }


def test_identity_center_imports_created_groups_permission_sets_their_attachments_and_assignments(
    tmp_path: Path,
) -> None:
    pair = f"{PS_ARN},{INSTANCE}"
    blocks = _blocks(_rendered(tmp_path) / "identity-center" / "imports.tf")
    assert blocks == {
        (
            'module.identity_center.aws_identitystore_group.created["Admins"]',
            "d-9067000000/94482488-3041-7026-18f3-be45837cd0e4",
        ),
        ('module.identity_center.aws_ssoadmin_permission_set.this["ReadOnly"]', pair),
        (
            'module.identity_center.aws_ssoadmin_managed_policy_attachment.this["ReadOnly|arn:aws:iam::aws:policy/'
            'ReadOnlyAccess"]',
            f"arn:aws:iam::aws:policy/ReadOnlyAccess,{pair}",
        ),
        (
            'module.identity_center.aws_ssoadmin_customer_managed_policy_attachment.this["ReadOnly|/team/ReadLogs"]',
            f"ReadLogs,/team/,{pair}",
        ),
        ('module.identity_center.aws_ssoadmin_permission_set_inline_policy.this["ReadOnly"]', pair),
        ('module.identity_center.aws_ssoadmin_permissions_boundary_attachment.this["ReadOnly"]', pair),
        (
            'module.identity_center.aws_ssoadmin_account_assignment.this["Admins|ReadOnly|prod"]',
            f"94482488-3041-7026-18f3-be45837cd0e4,GROUP,222222222222,AWS_ACCOUNT,{pair}",
        ),
        (
            'module.identity_center.aws_ssoadmin_account_assignment.this["Devs|ReadOnly|prod"]',
            f"11112222-3041-7026-18f3-be45837cd0e4,GROUP,222222222222,AWS_ACCOUNT,{pair}",
        ),
    }


def test_an_access_stack_imports_policies_providers_roles_and_what_the_record_lists_for_each_role(
    tmp_path: Path,
) -> None:
    env_dir = _rendered(tmp_path)
    assert _blocks(env_dir / "access-prod" / "imports.tf") == {
        ('module.account_iam.aws_iam_policy.this["ReadLogs"]', "arn:aws:iam::222222222222:policy/team/ReadLogs"),
        (
            'module.account_iam.aws_iam_openid_connect_provider.this["github"]',
            "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com",
        ),
        ('module.role["Worker"].aws_iam_role.this', "Worker"),
        (
            'module.role["Worker"].aws_iam_role_policy_attachment.this["arn:aws:iam::aws:policy/ReadOnlyAccess"]',
            "Worker/arn:aws:iam::aws:policy/ReadOnlyAccess",
        ),
        (
            'module.role["Worker"].aws_iam_role_policy_attachment.this["policy:ReadLogs"]',
            "Worker/arn:aws:iam::222222222222:policy/team/ReadLogs",
        ),
        ('module.role["Worker"].aws_iam_role_policy.this["queue"]', "Worker:queue"),
        ('module.role["Deployer"].aws_iam_role.this', "Deployer"),
    }
    assert not (env_dir / "access-audit" / "imports.tf").exists()


def test_a_block_is_written_as_terraform_reads_it(tmp_path: Path) -> None:
    text = (_rendered(tmp_path) / "access-prod" / "imports.tf").read_text()
    assert text.startswith("# Rendered by securecart-tf from adopted.yaml")
    assert '\nimport {\n  to = module.role["Deployer"].aws_iam_role.this\n  id = "Deployer"\n}\n' in text


def test_without_a_record_no_stack_has_an_imports_file_and_a_rendered_one_is_removed(tmp_path: Path) -> None:
    env_dir = _rendered(tmp_path)
    assert (env_dir / "organization" / "imports.tf").is_file()
    (tmp_path / "p" / "adopted.yaml").unlink()
    project = load_project(tmp_path / "p" / "access-matrix.yaml")
    render(build_model(project), list(project.environments.values()), tmp_path / "build")
    assert sorted(env_dir.glob("*/imports.tf")) == []


def test_an_imports_file_the_user_saved_is_never_overwritten(tmp_path: Path) -> None:
    env_dir = _rendered(tmp_path, adopted=None)
    saved = 'import {\n  to = module.role["X"].aws_iam_role.this\n  id = "X"\n}\n'
    (env_dir / "access-prod" / "imports.tf").write_text(saved)
    project = load_project(tmp_path / "p" / "access-matrix.yaml")
    render(build_model(project), list(project.environments.values()), tmp_path / "build")
    assert (env_dir / "access-prod" / "imports.tf").read_text() == saved  # no record: left alone
    (tmp_path / "p" / "adopted.yaml").write_text(ADOPTED)
    project = load_project(tmp_path / "p" / "access-matrix.yaml")
    with pytest.raises(SecureCartError, match="saved by hand"):
        render(build_model(project), list(project.environments.values()), tmp_path / "build")
    assert (env_dir / "access-prod" / "imports.tf").read_text() == saved


def test_the_adopted_settings_and_ids_stand_in_until_the_organization_has_state(tmp_path: Path) -> None:
    adopted = ADOPTED.replace(
        "management_account_id:",
        "service_access_principals: [ram.amazonaws.com, sso.amazonaws.com]\n"
        "enabled_policy_types: [SERVICE_CONTROL_POLICY, TAG_POLICY]\nmanagement_account_id:",
    )
    files = {"adopted.yaml": adopted}
    project = load_project(write_project(tmp_path / "p", MATRIX, {"dev": DEV}, files) / "access-matrix.yaml")
    organization = build_model(project).stacks["organization"].inputs["organization"]
    assert "ram.amazonaws.com" in organization["service_access_principals"]
    assert "TAG_POLICY" in organization["enabled_policy_types"]


def test_the_example_renders_byte_for_byte_as_before_without_a_record(tmp_path: Path) -> None:
    """The example has no adopted.yaml: its output is the golden files' (checked there); here, no imports."""
    project = load_project(copy_example(tmp_path / "ex") / "access-matrix.yaml")
    assert project.adoption is None and EXAMPLE_MATRIX.is_file()
    render(build_model(project), list(project.environments.values()), tmp_path / "build")
    assert list((tmp_path / "build").rglob("imports.tf")) == []


def test_a_bad_record_is_an_error_at_its_line(tmp_path: Path) -> None:
    bad = ADOPTED.replace("root_id: r-ab12\n", "root_id: r-ab12\nunits_typo: {}\n")
    with pytest.raises(ConfigErrors) as caught:
        load_project(write_project(tmp_path / "p", MATRIX, {"dev": DEV}, {"adopted.yaml": bad}) / "access-matrix.yaml")
    (error,) = caught.value.errors
    assert error.location is not None and error.location.file.name == "adopted.yaml"
    assert error.location.line == 4
    assert "units_typo" in error.message and error.hint == "did you mean 'units'?"
