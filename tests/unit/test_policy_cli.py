"""What `securecart-tf validate` must block, each with a precise message, before any Terraform runs, and
how its findings reach code scanning. Each runs the real CLI, as a user would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_policy_support import EXEMPTION, deny, line_of, policy, validate_cli, write_matrix

SEED_SCP = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Action": "s3:PutBucketPolicy",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
        }
    ],
}


def guardrail_file(name: str, file: str, targets: str = "{ ous: [WorkloadsOU] }") -> str:
    return f"  - name: {name}\n    file: {file}\n    targets: {targets}\n"


def findings_of(report: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["rule"] == rule]


def test_the_seeds_flawed_scp_is_blocked(tmp_path: Path) -> None:
    path = write_matrix(
        tmp_path, "guardrails:\n" + guardrail_file("block-noncompliant-s3", "seed.json"), {"seed.json": SEED_SCP}
    )
    code, report = validate_cli(path)
    assert code == 1
    [f] = findings_of(report, "condition-key-not-supported")
    assert (f["severity"], f["line"], f["subject"]) == (
        "error",
        line_of(path, "file: seed.json"),
        "block-noncompliant-s3",
    )
    assert f["message"] == (
        "guardrail 'block-noncompliant-s3' statement #1: condition key s3:x-amz-server-side-encryption does not "
        "apply to s3:PutBucketPolicy, so the condition cannot do what it says"
    )


def bucket_denies(count: int, per: int) -> dict[str, Any]:
    return policy(
        *(
            deny(
                f"Deny{k}", ["s3:DeleteObject"], [f"arn:aws:s3:::acme-bucket-{i:03d}/*" for i in range(per)], EXEMPTION
            )
            for k in range(count)
        )
    )


def test_a_6000_character_scp_is_split_into_scps_under_5120(tmp_path: Path) -> None:
    document = bucket_denies(5, 29)
    path = write_matrix(tmp_path, "guardrails:\n" + guardrail_file("big", "big.json"), {"big.json": document})
    code, report = validate_cli(path)
    assert code == 0  # packing fixed it; validate says what it did
    [f] = findings_of(report, "scp-packed")
    assert f["severity"] == "info" and f["line"] == line_of(path, "file: big.json")
    assert "over the 5,120 SCP limit; its statements are packed into 2 SCPs: big-1" in f["message"]


def test_a_6000_character_scp_is_refused_when_one_statement_alone_is_too_large(tmp_path: Path) -> None:
    path = write_matrix(
        tmp_path, "guardrails:\n" + guardrail_file("big", "big.json"), {"big.json": bucket_denies(1, 175)}
    )
    code, report = validate_cli(path)
    assert code == 1
    [f] = findings_of(report, "scp-too-large")
    assert f["line"] == line_of(path, "file: big.json")
    assert f["message"].startswith("guardrail 'big': statement \"Deny0\" alone is 6,")
    assert f["message"].endswith("characters minified, over the 5,120 SCP limit, so no packing can fit it")


def test_a_sixth_scp_on_an_ou_is_blocked(tmp_path: Path) -> None:
    small = policy(deny("DenyDeletes", ["s3:DeleteBucket"], "*", EXEMPTION))
    names = ["one", "two", "three", "four", "five"]
    extra = "guardrails:\n" + "".join(guardrail_file(n, f"{n}.json") for n in names)
    path = write_matrix(tmp_path, extra, {f"{n}.json": small for n in names})
    code, report = validate_cli(path)
    assert code == 1
    [f] = findings_of(report, "scps-per-target")
    assert (f["severity"], f["subject"]) == ("error", "WorkloadsOU")
    assert f["line"] == line_of(path, "file: five.json") + 1
    assert f["message"] == (
        "OU WorkloadsOU would have 6 SCPs attached directly, over the limit of 5: "
        "FullAWSAccess, one, two, three, four, five"
    )


def test_a_33_character_permission_set_name_is_blocked(tmp_path: Path) -> None:
    name = "SecureCartDeveloperAccessProdRead"
    assert len(name) == 33
    extra = f"identity_center:\n  identity_source: {{ provider: okta }}\n  permission_sets:\n    - name: {name}\n"
    path = write_matrix(tmp_path, extra)
    code, report = validate_cli(path)
    assert code == 1
    [f] = findings_of(report, "permission-set-name-length")
    assert f["line"] == line_of(path, f"name: {name}")
    assert f["message"] == f"permission set name '{name}' is 33 characters; Identity Center allows 32"


def test_a_vendor_role_without_expiry_is_blocked(tmp_path: Path) -> None:
    extra = """
roles:
  - name: AcmeObservability
    audience: vendor
    environments: [prod]
    trust:
      principals:
        - external: { account_id: "999988887777", external_id: acme-7f3a }
"""
    path = write_matrix(tmp_path, extra)
    code, report = validate_cli(path)
    assert code == 1
    [f] = findings_of(report, "vendor-role-expiry")
    assert f["line"] == line_of(path, "    trust:")
    assert f["message"] == "vendor role 'AcmeObservability' has no trust expiry, so the vendor's access never ends"


def test_a_region_guardrail_denying_the_deployment_role_its_iam_work_is_blocked(tmp_path: Path) -> None:
    region = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyOutsideEU",
                "Effect": "Deny",
                "NotAction": ["organizations:*", "sts:*", "support:*"],
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]},
                    "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlassRole"},
                },
            }
        ],
    }
    role = """roles:
  - name: AppDeploy
    audience: ci
    environments: [dev, prod]
    trust:
      principals:
        - oidc: { subject: "repo:acme/app:ref:refs/heads/main" }
"""
    extra = "guardrails:\n" + guardrail_file("eu-only", "regions.json") + role
    path = write_matrix(tmp_path, extra, {"regions.json": region})
    code, report = validate_cli(path)
    assert code == 1
    [f] = findings_of(report, "scp-lockout")
    assert (f["severity"], f["subject"], f["line"]) == ("error", "eu-only", line_of(path, "file: regions.json"))
    # IAM requests carry aws:RequestedRegion us-east-1, so the region deny covers the role's IAM work.
    assert f["message"].startswith(
        "guardrail 'eu-only' statement \"DenyOutsideEU\" can deny OrganizationAccountAccessRole (the deployment role) "
        "iam:CreateRole, iam:GetRole"
    )
    assert f["message"].endswith(" in dev, prod, which its Terraform needs")
    assert "arn:aws:iam::*:role/OrganizationAccountAccessRole" in f["fix"]


# ---- SARIF for code scanning -------------------------------------------------------------------------


def test_sarif_carries_each_finding_with_its_rule_level_file_and_line(tmp_path: Path) -> None:
    path = write_matrix(
        tmp_path, "guardrails:\n" + guardrail_file("block-noncompliant-s3", "seed.json"), {"seed.json": SEED_SCP}
    )
    code, log = validate_cli(path, "sarif")
    assert code == 1
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "securecart-tf"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for result in run["results"]:
        # SARIF 2.1.0: ruleIndex points into the driver's rules, and levels are none/note/warning/error
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("none", "note", "warning", "error")
        assert result["message"]["text"]
    (flawed,) = [r for r in run["results"] if r["ruleId"] == "condition-key-not-supported"]
    assert flawed["level"] == "error"
    assert "s3:x-amz-server-side-encryption does not apply to s3:PutBucketPolicy" in flawed["message"]["text"]
    (location,) = flawed["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "access-matrix.yaml"
    assert location["physicalLocation"]["region"]["startLine"] == line_of(path, "file: seed.json")
    (rule,) = [r for r in driver["rules"] if r["id"] == "condition-key-not-supported"]
    assert "condition key the action does not support" in rule["shortDescription"]["text"]
    assert rule["defaultConfiguration"]["level"] == "error"


def test_sarif_marks_suppressed_findings_with_the_written_reason(tmp_path: Path) -> None:
    reason = "the CI pipeline needs this while the bucket names are generated at deploy time"
    path = write_matrix(
        tmp_path,
        f"""\
        policies:
          - name: ShopWrite
            document:
              Version: "2012-10-17"
              Statement:
                - {{Effect: Allow, Action: ["s3:PutObject"], Resource: "*"}}
        roles:
          - name: ShopWriter
            audience: platform
            accounts: [dev]
            trust:
              principals:
                - account: management
            managed_policies: [{{policy: ShopWrite}}]
        suppressions:
          - rule: wildcard-resource-write
            subject: ShopWrite
            reason: {reason}
        """,
    )
    code, log = validate_cli(path, "sarif")
    assert code == 0
    (suppressed,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "wildcard-resource-write"]
    assert suppressed["suppressions"] == [{"kind": "inSource", "justification": reason}]
    unsuppressed = [r for r in log["runs"][0]["results"] if r["ruleId"] != "wildcard-resource-write"]
    assert all("suppressions" not in r for r in unsuppressed)
