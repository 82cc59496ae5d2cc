"""A tiny project killed mid-apply, for the `kill -9` and SIGTERM tests: its fixture, and the convergence check.

The fault proxy holds the organization stack's CreateAccount call for alpha, so a signal arrives exactly
while a resource is in flight. Each test runs with the local backend and with the S3 backend (whose lock
is an object that a dead Terraform would leave behind).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from securecart_tf import sandbox
from tests.helpers import explain, run_cli, write_project
from tests.integration.conftest import Deployed
from tests.integration.faultproxy import Rule, processes_in, statuses

TINY_MATRIX = """\
version: 1
organization:
  name: tinyorg
  management_account: management
  units:
    - name: Workloads
accounts:
  - {name: management, email: mgmt@tiny.example, ou: /}
  - {name: alpha, email: alpha@tiny.example, ou: Workloads, environment: dev}
guardrails:
  - name: deny-leave-organization
    builtin: deny-leave-organization
    targets: {ous: [Workloads]}
"""
DEV = """\
name: dev
stacks: [organization]
accounts: [management, alpha]
approval: none
"""
S3_BACKEND = """\
backend:
  type: s3
  bucket: tinyorg-terraform-state
  key_prefix: tinyorg
  create_bucket: true
"""
BUCKET = "tinyorg-terraform-state"


def tiny_project(root: Path, backend: str) -> Iterator[Path]:
    dev = DEV + (S3_BACKEND if backend == "s3" else "")
    project = write_project(root / backend, TINY_MATRIX, {"dev": dev})
    try:
        yield project
    finally:
        sandbox.down(project / ".securecart")


def holding_alpha() -> Rule:
    return Rule(
        "hold",
        match=lambda seen: seen.operation == "CreateAccount" and seen.mentions("alpha@tiny.example"),
        limit=1,
    )


def state_of(project: Path, stack: str) -> dict[str, Any]:
    deployed = Deployed(project)
    if (project / ".securecart" / "state" / stack / "terraform.tfstate").exists():
        return deployed.state(stack)
    body = deployed.client("s3").get_object(Bucket=BUCKET, Key=f"tinyorg/{stack}/terraform.tfstate")["Body"]
    state: dict[str, Any] = json.loads(body.read())
    return state


def in_state(state: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [
        i["attributes"]
        for r in state["resources"]
        if r["type"] == rtype and r["mode"] == "managed"
        for i in r["instances"]
    ]


def assert_converged(project: Path) -> None:
    """A plain rerun succeeds; then a refreshed plan finds nothing to do, and AWS holds each thing once."""
    rerun = run_cli(project, "apply", "--env", "dev", "--json")
    assert rerun.returncode == 0, explain(rerun)
    assert statuses(rerun.stdout) == {"organization": "unchanged"}, rerun.stdout
    replan = run_cli(project, "plan", "--env", "dev", "--refresh", "--json")
    assert replan.returncode == 0, explain(replan)

    orgs = Deployed(project).client("organizations")
    state = state_of(project, "organization")
    names = [a["Name"] for a in orgs.list_accounts()["Accounts"]]
    assert names.count("alpha") == 1 and len(names) == 2, names  # the management account and alpha, once
    assert {a["name"] for a in in_state(state, "aws_organizations_account")} == {"alpha"}
    policies = {p["Id"] for p in orgs.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]}
    managed = {p["id"] for p in in_state(state, "aws_organizations_policy")}
    assert policies - {"p-FullAWSAccess"} == managed  # every guardrail in AWS is in state
    attached = {(a["policy_id"], a["target_id"]) for a in in_state(state, "aws_organizations_policy_attachment")}
    for policy in managed:
        targets = orgs.list_targets_for_policy(PolicyId=policy)["Targets"]
        assert {(policy, t["TargetId"]) for t in targets} <= attached

    if not (project / ".securecart" / "state" / "organization").exists():  # the S3 backend: no lock left behind
        keys = {o["Key"] for o in Deployed(project).client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])}
        assert not [k for k in keys if k.endswith(".tflock")], keys
    assert processes_in(project / "build") == []  # no Terraform, and no provider, left running
