"""Which environments a change to an organization-wide stack reaches at once ("reaches ENV immediately")."""

from __future__ import annotations

from pathlib import Path

from securecart_tf.config.load import load_project
from securecart_tf.model import build_model
from securecart_tf.run.guards import reached_environments
from securecart_tf.run.terraform import ResourceChange


def _change(resource_type: str, index: str) -> ResourceChange:
    return ResourceChange(
        address=f"x.{resource_type}[{index!r}]", action="update", resource_type=resource_type, index=index
    )


def test_an_scp_on_the_workloads_ou_reaches_staging_and_prod_from_dev(example_project: Path) -> None:
    org = build_model(load_project(example_project)).stacks["organization"]
    policy = _change("aws_organizations_policy", "region-allow-list")
    assert reached_environments(org, [policy], "dev") == ["prod", "staging"]
    attach = _change("aws_organizations_policy_attachment", "require-encryption|ou:WorkloadsOU")
    assert reached_environments(org, [attach], "dev") == ["prod", "staging"]


def test_an_scp_staged_on_the_dev_account_alone_reaches_no_other_stage(example_project: Path) -> None:
    matrix = example_project
    text = matrix.read_text()
    staged = (
        "  - name: region-allow-list-v2\n    builtin: region-allow-list\n    parameters:\n"
        "      regions: [us-east-1]\n    targets: { accounts: [dev] }\n"
    )
    matrix.write_text(text.replace("  - name: require-encryption\n", staged + "  - name: require-encryption\n"))
    org = build_model(load_project(matrix)).stacks["organization"]
    changes = [
        _change("aws_organizations_policy", "region-allow-list-v2"),
        _change("aws_organizations_policy_attachment", "region-allow-list-v2|account:dev"),
    ]
    assert reached_environments(org, changes, "dev") == []
    nonprod = matrix.read_text().replace("targets: { accounts: [dev] }", "targets: { ous: [WorkloadsOU/NonProdOU] }")
    matrix.write_text(nonprod)
    org = build_model(load_project(matrix)).stacks["organization"]
    attach = _change("aws_organizations_policy_attachment", "region-allow-list-v2|ou:WorkloadsOU/NonProdOU")
    assert reached_environments(org, [attach], "dev") == ["staging"]


def test_a_permission_set_reaches_every_stage_it_is_assigned_in(example_project: Path) -> None:
    ic = build_model(load_project(example_project)).stacks["identity-center"]
    # SecurityAudit is assigned at the root: every account, so every stage
    inline = _change("aws_ssoadmin_permission_set_inline_policy", "SecurityAudit")
    assert reached_environments(ic, [inline], "dev") == ["prod", "staging"]
    # DeveloperAccess is assigned in shared-services only, which rolls out with dev
    managed = _change(
        "aws_ssoadmin_managed_policy_attachment", "DeveloperAccess|arn:aws:iam::aws:policy/ReadOnlyAccess"
    )
    assert reached_environments(ic, [managed], "dev") == []


def test_account_stacks_reach_nothing_beyond_their_own_stage(example_project: Path) -> None:
    access = build_model(load_project(example_project)).stacks["access-dev"]
    assert reached_environments(access, [_change("aws_iam_role", "DeveloperRole")], "dev") == []
