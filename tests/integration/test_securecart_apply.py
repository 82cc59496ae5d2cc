"""The SecureCart example, applied to the sandbox by real Terraform, checked with boto3 in each account.

Expected values come from the example matrix as a reader understands it (access-matrix.yaml), written out
here by hand: they are the specification, not a copy of what the code produced.
"""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest

from tests.helpers import EXAMPLE_DEV_STACKS, ROOT, explain, run_cli
from tests.integration.conftest import Deployed

pytestmark = pytest.mark.integration

OU_OF = {
    "security": ["SecurityOU"],
    "shared-services": ["SharedServicesOU"],
    "dev": ["WorkloadsOU", "NonProdOU"],
    "staging": ["WorkloadsOU", "NonProdOU"],
    "prod": ["WorkloadsOU", "ProdOU"],
}

SCP_TARGETS = {
    "deny-root-user": {"Root"},
    "deny-leave-organization": {"Root"},
    "region-allow-list": {"WorkloadsOU", "SharedServicesOU"},
    "require-encryption": {"WorkloadsOU"},
    "deny-internet-gateway": {"SecurityOU", "WorkloadsOU"},
    "protect-security-services": {"Root"},
    "deny-public-s3": {"ProdOU"},
}

EVERYWHERE = {"SecurityAuditRole", "BreakGlassRole"}
WORKLOAD = {"DeploymentRole", "checkout-service", "order-events"}
ROLES_IN = {
    "management": EVERYWHERE,
    "security": EVERYWHERE | {"securecart-trail-logs"},  # the baseline's: CloudTrail delivers to CloudWatch Logs
    "shared-services": EVERYWHERE,
    "dev": EVERYWHERE | WORKLOAD | {"DeveloperRole"},
    "staging": EVERYWHERE | WORKLOAD | {"DeveloperRole", "ObservabilityVendorRole"},
    "prod": EVERYWHERE | WORKLOAD | {"ObservabilityVendorRole"},
}
# roles AWS or the sandbox makes on their own, not declared in the matrix
NOT_OURS = {"OrganizationAccountAccessRole", "securecart-config-aggregator"}


def _ou_path(org, account_id: str) -> list[str]:
    names = []
    child = account_id
    while True:
        parent = org.list_parents(ChildId=child)["Parents"][0]
        if parent["Type"] == "ROOT":
            return list(reversed(names))
        names.append(org.describe_organizational_unit(OrganizationalUnitId=parent["Id"])["OrganizationalUnit"]["Name"])
        child = parent["Id"]


def test_accounts_sit_in_their_ous(deployed_example: Deployed) -> None:
    org = deployed_example.client("organizations")
    ids = deployed_example.account_ids
    accounts = {a["Name"]: a["Id"] for a in org.list_accounts()["Accounts"]}
    for name, path in OU_OF.items():
        assert accounts[name] == ids[name]
        assert _ou_path(org, ids[name]) == path, name


def test_each_scp_is_attached_to_exactly_its_targets(deployed_example: Deployed) -> None:
    org = deployed_example.client("organizations")
    policies = {p["Name"]: p["Id"] for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]}
    for name, expected in SCP_TARGETS.items():
        targets = org.list_targets_for_policy(PolicyId=policies[name])["Targets"]
        assert {t["Name"] for t in targets} == expected, name


def test_the_seed_rule_denies_root_and_exempts_the_platform_roles(deployed_example: Deployed) -> None:
    org = deployed_example.client("organizations")
    policies = {p["Name"]: p["Id"] for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]}
    root = json.loads(org.describe_policy(PolicyId=policies["deny-root-user"])["Policy"]["Content"])
    assert root["Statement"][0]["Condition"]["StringLike"]["aws:PrincipalArn"] == ["arn:aws:iam::*:root"]
    regions = json.loads(org.describe_policy(PolicyId=policies["region-allow-list"])["Policy"]["Content"])
    statement = regions["Statement"][0]
    assert statement["Condition"]["StringNotEquals"]["aws:RequestedRegion"] == ["us-east-1", "eu-west-1"]
    assert set(statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"]) == {
        "arn:aws:iam::*:role/OrganizationAccountAccessRole",
        "arn:aws:iam::*:role/BreakGlassRole",
    }


@pytest.mark.parametrize("account", sorted(ROLES_IN))
def test_roles_exist_only_in_their_accounts(deployed_example: Deployed, account: str) -> None:
    iam = deployed_example.client("iam", account)
    names = {r["RoleName"] for r in iam.list_roles()["Roles"] if not r["Path"].startswith("/aws-service-role/")}
    assert names - NOT_OURS == ROLES_IN[account]


def test_developer_role_trust_boundary_and_policies(deployed_example: Deployed) -> None:
    ids = deployed_example.account_ids
    iam = deployed_example.client("iam", "dev")
    role = iam.get_role(RoleName="DeveloperRole")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ids['shared-services']}:root"}
    assert "AWSReservedSSO_DeveloperAccess_" in statement["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
        f"arn:aws:iam::{ids['dev']}:policy/SecureCartDeveloperBoundary"
    )
    assert role["MaxSessionDuration"] == 14400
    attached = {p["PolicyName"] for p in iam.list_attached_role_policies(RoleName="DeveloperRole")["AttachedPolicies"]}
    assert attached == {"ReadOnlyAccess", "SecureCartDeveloperDeploy"}


def test_deployment_role_trusts_only_its_environments_ci_subject(deployed_example: Deployed) -> None:
    for env in ("dev", "staging", "prod"):
        iam = deployed_example.client("iam", env)
        trust = iam.get_role(RoleName="DeploymentRole")["Role"]["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        (statement,) = trust["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
            f"repo:securecart/platform:environment:{env}"
        )
        providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        assert [p["Arn"].split("/", 1)[1] for p in providers] == ["token.actions.githubusercontent.com"]


def test_vendor_role_requires_external_id_and_expires(deployed_example: Deployed) -> None:
    iam = deployed_example.client("iam", "prod")
    trust = iam.get_role(RoleName="ObservabilityVendorRole")["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::999988887777:root"}
    assert statement["Condition"]["StringEquals"] == {"sts:ExternalId": "securecart-acme-7f3a9c"}
    assert statement["Condition"]["DateLessThan"] == {"aws:CurrentTime": "2027-06-30T00:00:00Z"}


def test_service_role_is_scoped_to_its_environments_resources(deployed_example: Deployed) -> None:
    ids = deployed_example.account_ids
    iam = deployed_example.client("iam", "staging")
    doc = iam.get_role_policy(RoleName="checkout-service", PolicyName="resource-access")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    resources = {json.dumps(s["Resource"]) for s in doc["Statement"]}
    assert json.dumps("arn:aws:s3:::securecart-staging-receipts/receipts/*") in resources
    assert (
        json.dumps(
            [
                f"arn:aws:dynamodb:us-east-1:{ids['staging']}:table/carts",
                f"arn:aws:dynamodb:us-east-1:{ids['staging']}:table/carts/index/*",
            ]
        )
        in resources
    )
    assert all(s["Resource"] != "*" for s in doc["Statement"])


def test_permission_sets_carry_their_policies(deployed_example: Deployed) -> None:
    sso = deployed_example.client("sso-admin")
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    sets = {}
    for arn in sso.list_permission_sets(InstanceArn=instance)["PermissionSets"]:
        ps = sso.describe_permission_set(InstanceArn=instance, PermissionSetArn=arn)["PermissionSet"]
        sets[ps["Name"]] = (arn, ps)
    assert set(sets) == {"DeveloperAccess", "SecurityAudit", "AuditReadOnly", "PlatformAdmin"}
    arn, ps = sets["DeveloperAccess"]
    assert ps["SessionDuration"] == "PT8H"
    managed = sso.list_managed_policies_in_permission_set(InstanceArn=instance, PermissionSetArn=arn)
    assert [p["Arn"] for p in managed["AttachedManagedPolicies"]] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    customer = sso.list_customer_managed_policy_references_in_permission_set(
        InstanceArn=instance, PermissionSetArn=arn
    )["CustomerManagedPolicyReferences"]
    assert [c["Name"] for c in customer] == ["SecureCartAssumeDeveloperRole"]
    boundary = sso.get_permissions_boundary_for_permission_set(InstanceArn=instance, PermissionSetArn=arn)
    assert boundary["PermissionsBoundary"]["CustomerManagedPolicyReference"]["Name"] == "SecureCartDeveloperBoundary"
    arn, _ = sets["SecurityAudit"]
    managed = sso.list_managed_policies_in_permission_set(InstanceArn=instance, PermissionSetArn=arn)
    assert {p["Arn"] for p in managed["AttachedManagedPolicies"]} == {
        "arn:aws:iam::aws:policy/SecurityAudit",
        "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
    }


def test_assignments_give_each_group_its_permission_set_in_its_accounts(deployed_example: Deployed) -> None:
    ids = deployed_example.account_ids
    sso = deployed_example.client("sso-admin")
    instance, store = (lambda i: (i["InstanceArn"], i["IdentityStoreId"]))(sso.list_instances()["Instances"][0])
    groups = {
        g["GroupId"]: g["DisplayName"]
        for g in deployed_example.client("identitystore").list_groups(IdentityStoreId=store)["Groups"]
    }
    names = {}
    for arn in sso.list_permission_sets(InstanceArn=instance)["PermissionSets"]:
        names[arn] = sso.describe_permission_set(InstanceArn=instance, PermissionSetArn=arn)["PermissionSet"]["Name"]
    found = set()
    for account, account_id in ids.items():
        for arn, ps in names.items():
            for a in sso.list_account_assignments(InstanceArn=instance, AccountId=account_id, PermissionSetArn=arn)[
                "AccountAssignments"
            ]:
                found.add((groups[a["PrincipalId"]], ps, account))
    expected = {
        ("Developers", "DeveloperAccess", "shared-services"),
        ("AuditReaders", "AuditReadOnly", "security"),
        ("PlatformAdmins", "PlatformAdmin", "management"),
        ("PlatformAdmins", "PlatformAdmin", "shared-services"),
    }
    expected |= {("SecurityTeam", "SecurityAudit", a) for a in ids}
    assert found == expected


def test_second_plan_reports_no_changes(deployed_example: Deployed) -> None:
    for env in ("dev", "staging", "prod"):
        result = run_cli(deployed_example.project, "plan", "--env", env, "--refresh", "--json")
        report = json.loads(result.stdout)
        changed = {r["stack"]: r["changes"] for r in report["results"] if r["changes"]}
        assert result.returncode == 0, (changed, explain(result))
        assert {r["status"] for r in report["results"]} == {"no changes"}, report


def test_plan_without_refresh_skips_terraform_for_unchanged_stacks(deployed_example: Deployed) -> None:
    result = run_cli(deployed_example.project, "plan", "--env", "dev", "--json")
    assert result.returncode == 0, explain(result)
    report = json.loads(result.stdout)
    assert {r["status"] for r in report["results"]} == {"unchanged"}
    assert all(r["duration"] == 0 for r in report["results"])


def test_drift_finds_nothing_right_after_an_apply(deployed_example: Deployed) -> None:
    result = run_cli(deployed_example.project, "drift", "--env", "dev")
    assert result.returncode == 0, explain(result)
    assert "no drift" in result.stdout
    for stack in EXAMPLE_DEV_STACKS:
        assert stack in result.stdout


WALKTHROUGH_EDIT = (
    "      - { policy: SecureCartDeploymentPipeline }\n",
    "      - { policy: SecureCartDeploymentPipeline }\n"
    "      - arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly\n",
)


def _walkthrough_commands() -> list[tuple[str, int]]:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- walkthrough:begin", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
    commands = []
    for line in block.split("```sh", 1)[1].split("```", 1)[0].splitlines():
        command, _, comment = line.partition("  #")
        if command.strip():
            commands.append((command.strip(), 2 if "exit 2" in comment else 0))
    return commands


def test_the_readme_walkthrough_works_as_written(deployed_example: Deployed) -> None:
    """Runs the README's walkthrough commands verbatim on the deployed example, as a clone would."""
    project = deployed_example.project
    readme = (ROOT / "README.md").read_text()
    assert "+      - arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly" in readme
    (project / ".gitignore").write_text(".securecart/\nbuild/\n")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "SecureCart access"]):
        subprocess.run([*git, *args], cwd=project, check=True, capture_output=True)
    matrix = project / "access-matrix.yaml"
    assert matrix.read_text().count(WALKTHROUGH_EDIT[0]) == 1
    matrix.write_text(matrix.read_text().replace(*WALKTHROUGH_EDIT))
    outputs = {}
    for command, expected in _walkthrough_commands():
        words = shlex.split(command)
        if words[0] == "git":
            done = subprocess.run([*git, *words[1:]], cwd=project, capture_output=True, text=True, check=False)
        else:
            assert words[0] == "securecart-tf", command
            done = run_cli(project, *words[1:])
        assert done.returncode == expected, f"{command}\n{explain(done)}"
        outputs[command] = done.stdout
    assert "DeploymentRole" in outputs["securecart-tf report --diff HEAD"]
    for env in ("dev", "staging", "prod"):
        iam = deployed_example.client("iam", env)
        attached = iam.list_attached_role_policies(RoleName="DeploymentRole")["AttachedPolicies"]
        assert "AmazonEC2ContainerRegistryReadOnly" in {p["PolicyName"] for p in attached}, env
    final = run_cli(project, "status", "--json")
    rows = json.loads(final.stdout)
    assert len({r["current"] for r in rows}) == 1 and all(r["state"] == "up to date" for r in rows), rows


def test_destroy_leaves_only_the_organization_its_accounts_and_the_logs(deployed_example: Deployed) -> None:
    """Runs last in this module: tears the example down, prod first, and checks what is left.

    destroy never deletes the organization, its OUs and accounts, or the log bucket and its key: on real AWS
    an account created by the organization cannot leave it, and the logs are the audit trail.
    """
    account_ids = deployed_example.account_ids
    bucket = deployed_example.outputs("security")["log_bucket"]
    for env, extra in (("prod", ["--confirm-env", "prod"]), ("staging", []), ("dev", [])):
        result = run_cli(deployed_example.project, "destroy", "--env", env, "--auto-approve", *extra)
        assert result.returncode == 0, explain(result)
    assert "destroy never destroys the organization" in result.stdout + result.stderr
    org = deployed_example.client("organizations")
    assert org.describe_organization()["Organization"]["MasterAccountId"] == account_ids["management"]
    members = {a["Id"]: a["Status"] for a in org.list_accounts()["Accounts"]}
    assert {members[account_ids[name]] for name in ("security", "dev", "staging", "prod")} == {"ACTIVE"}
    root = org.list_roots()["Roots"][0]["Id"]
    units = org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    assert {u["Name"] for u in units} == {"SecurityOU", "WorkloadsOU", "SharedServicesOU"}
    assert bucket in {b["Name"] for b in deployed_example.client("s3", "security").list_buckets()["Buckets"]}
    for region in ("us-east-1", "eu-west-1"):  # what destroy may destroy is gone: the analyzers, in each region
        assert deployed_example.client("accessanalyzer", "security", region).list_analyzers()["analyzers"] == []
    assert [p["Name"] for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]] == ["FullAWSAccess"]
    sso = deployed_example.client("sso-admin")
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    assert sso.list_permission_sets(InstanceArn=instance)["PermissionSets"] == []
    iam = deployed_example.client("iam")
    assert {r["RoleName"] for r in iam.list_roles()["Roles"]} <= NOT_OURS | {"AWSServiceRoleForConfig"}
    for stack in ("organization", "security", "identity-center", "access-dev", "access-prod"):
        assert deployed_example.state(stack)["resources"] == [], stack
