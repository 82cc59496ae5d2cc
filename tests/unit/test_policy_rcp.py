"""Resource control policies: the library, what AWS refuses in an RCP, quotas counted apart from SCPs, the
lockout check turned around, and how the organization stack renders them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_policy_support import by_rule, check, line_of, one, rules, write_matrix

from securecart_tf.checks.rcp import rcp_issues
from securecart_tf.config.load import load_project
from securecart_tf.iam.guardrails import LIBRARY, build_guardrail
from securecart_tf.iam.limits import Limits, fit_scp
from securecart_tf.iam.lint import Kind, parliament_issues
from securecart_tf.model import ORGANIZATION, build_model

RCPS = sorted(k for k, g in LIBRARY.items() if g.type == "rcp")


def rcp(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def rcp_deny(sid: str, actions: list[str], condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Deny", "Principal": "*", "Action": actions, "Resource": "*"}
    statement.update(extra)
    if condition:
        statement["Condition"] = condition
    return statement


def rcp_matrix(tmp_path: Path, document: dict[str, Any], targets: str = "{ ous: [WorkloadsOU] }") -> Path:
    extra = f"guardrails:\n  - name: perimeter\n    type: rcp\n    file: rcp.json\n    targets: {targets}\n"
    return write_matrix(tmp_path, extra, {"rcp.json": document})


def test_the_library_has_the_three_rcps() -> None:
    assert RCPS == ["rcp-confused-deputy", "rcp-enforce-tls", "rcp-organization-only"]


@pytest.mark.parametrize("builtin", RCPS)
def test_every_library_rcp_is_valid_fits_and_names_the_organization(builtin: str) -> None:
    document = build_guardrail(builtin, {}, [], "o-abcdef1234")
    assert rcp_issues(document) == []
    assert parliament_issues(document, Kind.scp) == []
    assert len(fit_scp(builtin, document, Limits.from_matrix(None), "rcp")) == 1
    if builtin != "rcp-enforce-tls":
        assert "o-abcdef1234" in str(document)


@pytest.mark.parametrize("builtin", RCPS)
def test_a_library_rcp_on_every_account_passes_validate(tmp_path: Path, builtin: str) -> None:
    extra = f'guardrails:\n  - name: p\n    type: rcp\n    builtin: {builtin}\n    targets: {{ ous: ["/"] }}\n'
    assert rules(check(write_matrix(tmp_path, extra))) == {"scp-management-account"}


def test_an_allow_or_a_named_principal_is_refused(tmp_path: Path) -> None:
    document = rcp(
        rcp_deny("Allowing", ["s3:*"], Effect="Allow"),
        rcp_deny("Named", ["s3:GetObject"], Principal={"AWS": "arn:aws:iam::111122223333:root"}),
    )
    path = rcp_matrix(tmp_path, document)
    found = by_rule(check(path), "rcp-syntax")
    assert [f.message.split(": ", 1)[0] for f in found] == [
        "guardrail 'perimeter' statement \"Allowing\"",
        "guardrail 'perimeter' statement \"Named\"",
    ]
    assert {(f.severity, f.location.line) for f in found} == {("error", line_of(path, "file: rcp.json"))}


def test_a_deny_on_a_service_rcps_do_not_cover_is_refused(tmp_path: Path) -> None:
    found = check(rcp_matrix(tmp_path, rcp(rcp_deny("Ec2", ["ec2:RunInstances", "s3:PutObject"]))))
    f = one(found, "rcp-unsupported-service")
    assert "RCPs do not apply to ec2:RunInstances;" in f.message
    assert "rcp-unsupported-service" not in rules(check(rcp_matrix(tmp_path, rcp(rcp_deny("S3", ["s3:PutObject"])))))


def test_an_rcp_that_can_deny_assuming_the_deployment_role_is_a_lockout(tmp_path: Path) -> None:
    tagged = {"StringNotEquals": {"aws:PrincipalTag/team": "platform"}}
    path = rcp_matrix(tmp_path, rcp(rcp_deny("OnlyPlatform", ["sts:AssumeRole"], tagged)))
    f = one(check(path), "rcp-lockout")
    assert (f.severity, f.location.line) == ("error", line_of(path, "file: rcp.json"))
    assert f.message == (
        "guardrail 'perimeter' statement \"OnlyPlatform\" can deny OrganizationAccountAccessRole (the deployment "
        "role) or the Terraform state sts:AssumeRole on resources in dev, prod, which its Terraform needs"
    )


STATE_ENVS = {
    "dev": "name: dev\nstacks: [organization]\naccounts: [management, dev]\n"
    "backend: { type: s3, bucket: acme-tf-state, key_prefix: acme }\n",
    "prod": "name: prod\naccounts: [prod]\n",
}


@pytest.mark.parametrize(
    ("bucket", "locked_out"), [("acme-tf-state", True), ("acme-tf-*", True), ("acme-receipts", False)]
)
def test_an_rcp_that_can_deny_the_terraform_state_bucket_is_a_lockout(
    tmp_path: Path, bucket: str, locked_out: bool
) -> None:
    tagged = {"StringNotEquals": {"aws:PrincipalTag/team": "data"}}
    objects = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    document = rcp(rcp_deny("DataTeamOnly", ["s3:PutObject", "s3:ListBucket"], tagged, Resource=objects))
    path = rcp_matrix(tmp_path, document)
    (tmp_path / "environments").mkdir()
    for env, text in STATE_ENVS.items():
        (tmp_path / "environments" / f"{env}.yaml").write_text(text)
    found = by_rule(check(path), "rcp-lockout")
    if not locked_out:
        assert found == []
        return
    [f] = found
    assert f.message == (
        "guardrail 'perimeter' statement \"DataTeamOnly\" can deny OrganizationAccountAccessRole (the deployment "
        "role) or the Terraform state s3:ListBucket, s3:PutObject on resources in dev, prod, which its Terraform "
        "needs"
    )


def test_the_state_bucket_is_named_in_the_organizations_partition(tmp_path: Path) -> None:
    """In GovCloud the bucket's ARN is arn:aws-us-gov:s3:::…; an RCP naming it there can deny the state."""
    tagged = {"StringNotEquals": {"aws:PrincipalTag/team": "data"}}
    objects = ["arn:aws-us-gov:s3:::acme-tf-state", "arn:aws-us-gov:s3:::acme-tf-state/*"]
    document = rcp(rcp_deny("DataTeamOnly", ["s3:PutObject", "s3:ListBucket"], tagged, Resource=objects))
    path = rcp_matrix(tmp_path, document)
    path.write_text(path.read_text().replace("  name: acme\n", "  name: acme\n  home_region: us-gov-west-1\n", 1))
    (tmp_path / "environments").mkdir()
    for env, text in STATE_ENVS.items():
        (tmp_path / "environments" / f"{env}.yaml").write_text(text)
    [f] = by_rule(check(path), "rcp-lockout")
    assert "the Terraform state s3:ListBucket, s3:PutObject" in f.message


def test_an_rcp_keyed_on_the_organization_does_not_lock_out(tmp_path: Path) -> None:
    in_org = {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "${aws:ResourceOrgID}"}}
    found = check(rcp_matrix(tmp_path, rcp(rcp_deny("OrgOnly", ["sts:AssumeRole", "s3:*"], in_org))))
    assert "rcp-lockout" not in rules(found)


def test_rcps_per_target_count_rcp_full_access_and_not_the_scps(tmp_path: Path) -> None:
    entries = "".join(
        f"  - name: r{i}\n    type: rcp\n    builtin: rcp-enforce-tls\n    targets: {{ ous: [WorkloadsOU] }}  # r{i}\n"
        for i in range(5)
    )
    entries += "  - name: s0\n    builtin: deny-leave-organization\n    targets: { ous: [WorkloadsOU] }\n"
    path = write_matrix(tmp_path, "guardrails:\n" + entries)
    f = one(check(path), "scps-per-target")
    assert f.message == (
        "OU WorkloadsOU would have 6 RCPs attached directly, over the limit of 5: RCPFullAWSAccess, r0, r1, r2, r3, r4"
    )
    assert f.location.line == line_of(path, "# r4")


def test_an_oversized_rcp_is_packed_against_the_rcp_limit(tmp_path: Path) -> None:
    statements = [
        rcp_deny(f"D{i}", ["s3:GetObject"], Resource=[f"arn:aws:s3:::bucket-{i}-{j:03d}/*" for j in range(60)])
        for i in range(3)
    ]
    f = one(check(rcp_matrix(tmp_path, rcp(*statements))), "scp-packed")
    assert "over the 5,120 RCP limit; its statements are packed into 2 RCPs" in f.message


def test_the_organization_stack_enables_rcps_and_renders_their_type(tmp_path: Path) -> None:
    extra = (
        "guardrails:\n  - name: tls\n    type: rcp\n    builtin: rcp-enforce-tls\n    targets: { ous: [WorkloadsOU] }\n"
        "  - name: leave\n    builtin: deny-leave-organization\n    targets: { ous: [WorkloadsOU] }\n"
    )
    stack = build_model(load_project(write_matrix(tmp_path, extra))).stacks[ORGANIZATION]
    assert stack.inputs["organization"]["enabled_policy_types"] == [
        "SERVICE_CONTROL_POLICY",
        "RESOURCE_CONTROL_POLICY",
    ]
    assert stack.inputs["guardrails"]["tls"]["type"] == "RESOURCE_CONTROL_POLICY"
    assert "type" not in stack.inputs["guardrails"]["leave"]  # the module's default: an SCP
    assert stack.inputs["attachments"]["tls|ou:WorkloadsOU"] == {"policy": "tls", "target": "ou:WorkloadsOU"}


def test_an_scp_only_organization_does_not_enable_rcps(tmp_path: Path) -> None:
    extra = "guardrails:\n  - name: leave\n    builtin: deny-leave-organization\n    targets: { ous: [WorkloadsOU] }\n"
    stack = build_model(load_project(write_matrix(tmp_path, extra))).stacks[ORGANIZATION]
    assert stack.inputs["organization"]["enabled_policy_types"] == ["SERVICE_CONTROL_POLICY"]


def test_a_library_scp_given_as_an_rcp_is_refused(tmp_path: Path) -> None:
    extra = (
        "guardrails:\n  - name: x\n    type: rcp\n    builtin: deny-root-user\n    targets: { ous: [WorkloadsOU] }\n"
    )
    f = one(check(write_matrix(tmp_path, extra)), "guardrail-type")
    assert f.message == "guardrail 'x' is of type rcp, but library guardrail deny-root-user is an SCP"
