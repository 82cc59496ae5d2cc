"""plan counts the SCPs and RCPs attached outside the matrix against each target's slots: each type against its
own quota, and a policy the organization stack already manages never as someone else's. Against the sandbox,
served in-process and set up with boto3 as another team would have left it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from securecart_tf.config.load import load_project
from securecart_tf.model import ORGANIZATION, Stack
from securecart_tf.run.orchestrate import Run
from tests.inprocess import serve

RCP = "RESOURCE_CONTROL_POLICY"
SCP = "SERVICE_CONTROL_POLICY"
CONTENT = {
    SCP: {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*"}]},
    RCP: {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": "*"}],
    },
}


class Org:
    """An organization with one OU, in a sandbox: what the organization stack's outputs and state would say."""

    def __init__(self, client: Any) -> None:
        self.client = client
        client.create_organization(FeatureSet="ALL")
        self.root = client.list_roots()["Roots"][0]["Id"]
        client.enable_policy_type(RootId=self.root, PolicyType=RCP)
        self.ou = client.create_organizational_unit(ParentId=self.root, Name="Workloads")["OrganizationalUnit"]["Id"]
        self.state: dict[str, Any] = {"outputs": {}, "resources": []}
        self.state["outputs"] = {"root_id": {"value": self.root}, "ou_ids": {"value": {"Workloads": self.ou}}}

    def attach(self, name: str, policy_type: str, target: str) -> str:
        policy = self.client.create_policy(
            Name=name, Description="", Content=json.dumps(CONTENT[policy_type]), Type=policy_type
        )["Policy"]["PolicySummary"]["Id"]
        self.client.attach_policy(PolicyId=policy, TargetId=target)
        return str(policy)

    def managed(self, name: str, policy_id: str) -> None:
        """The organization stack's state holds this policy."""
        self.state["resources"].append(
            {
                "module": "module.service_control_policies",
                "mode": "managed",
                "type": "aws_organizations_policy",
                "name": "this",
                "instances": [{"index_key": name, "attributes": {"id": policy_id, "name": name}}],
            }
        )


class SlotsRun(Run):
    """A Run whose target is the sandbox and whose organization stack's state is `org.state`."""

    def __init__(self, org: Org, client: Any, project_root: Path) -> None:
        self.project = load_project(project_root)
        self.model = SimpleNamespace(project=self.project)  # type: ignore[assignment]
        self.target = SimpleNamespace(client=lambda service, region=None: client)  # type: ignore[assignment]
        self.notices: list[str] = []
        self.org = org

    def read_state(self, stack: str) -> dict[str, Any] | None:
        assert stack == ORGANIZATION
        return self.org.state


@pytest.fixture
def sandbox(example_project: Path) -> Iterator[tuple[Org, SlotsRun]]:
    with serve() as info:
        client = boto3.session.Session(
            aws_access_key_id=info.access_key, aws_secret_access_key=info.secret_key, region_name="us-east-1"
        ).client("organizations", endpoint_url=info.endpoint)
        org = Org(client)
        yield org, SlotsRun(org, client, example_project)


def _stack(policies: dict[str, str], targets: list[str]) -> Stack:
    """The organization stack's inputs: each policy (name → type) attached to each target."""
    guardrails = {name: {"content": "{}", **({"type": RCP} if kind == RCP else {})} for name, kind in policies.items()}
    attachments = {f"{p}|{t}": {"policy": p, "target": t} for p in policies for t in targets}
    inputs = {"guardrails": guardrails, "attachments": attachments}
    return Stack(name=ORGANIZATION, layer=ORGANIZATION, account="management", depends_on=(), modules=(), inputs=inputs)


def test_rcps_do_not_take_scp_slots(sandbox: tuple[Org, SlotsRun]) -> None:
    _, run = sandbox
    # with FullAWSAccess, four SCPs fill the root's five SCP slots; the RCP has slots of its own
    stack = _stack({"scp-1": SCP, "scp-2": SCP, "scp-3": SCP, "scp-4": SCP, "rcp-1": RCP}, ["root"])
    assert run.scp_slots_refusal(stack) is None
    assert run.notices == []


def test_rcps_attached_outside_the_matrix_count_against_the_rcp_quota(sandbox: tuple[Org, SlotsRun]) -> None:
    org, run = sandbox
    org.attach("other-team-rcp", RCP, org.ou)
    org.attach("other-team-scp", SCP, org.ou)
    stack = _stack({f"rcp-{i}": RCP for i in range(1, 5)} | {"scp-1": SCP}, ["ou:Workloads"])
    refusal = run.scp_slots_refusal(stack)
    assert refusal is not None
    assert (
        "more than 5 RCPs would be attached directly to ou:Workloads (4 from the matrix + RCPFullAWSAccess, "
        "other-team-rcp)" in refusal
    )
    assert "SCPs" not in refusal  # FullAWSAccess, other-team-scp and scp-1: three of five SCP slots


def test_a_policy_the_organization_stack_manages_is_not_someone_elses(sandbox: tuple[Org, SlotsRun]) -> None:
    org, run = sandbox
    # a guardrail renamed in the matrix: its old policy is attached until the plan replaces it
    org.managed("deny-old-name", org.attach("deny-old-name", SCP, org.ou))
    stack = _stack({f"scp-{i}": SCP for i in range(1, 5)}, ["ou:Workloads"])
    assert run.scp_slots_refusal(stack) is None
    org.attach("other-team-scp", SCP, org.ou)
    refusal = run.scp_slots_refusal(stack)
    assert refusal is not None
    assert "(4 from the matrix + FullAWSAccess, other-team-scp)" in refusal
