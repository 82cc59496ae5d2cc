"""AWS limit checks: each rule fires on a matrix that breaks the limit and stays quiet on one that does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_policy_support import (
    EXEMPTION,
    by_rule,
    check,
    deny,
    errors,
    line_of,
    one,
    policy,
    rules,
    write_matrix,
)

from securecart_tf.config.load import load_project
from securecart_tf.iam.documents import minify as minified
from securecart_tf.model import build_model


def buckets_deny(sid: str, count: int) -> dict[str, Any]:
    """A Deny whose size grows with `count` (about 34 characters per bucket ARN)."""
    return deny(sid, ["s3:DeleteObject"], [f"arn:aws:s3:::acme-bucket-{i:03d}/*" for i in range(count)], EXEMPTION)


def six_thousand_char_scp() -> dict[str, Any]:
    document = policy(*(buckets_deny(f"DenyDeletes{k}", 29) for k in range(5)))
    assert 5900 <= len(minified(document)) <= 6100  # the premise: about 6,000 characters once minified
    return document


def guardrail(name: str, file: str, targets: str = "{ ous: [WorkloadsOU] }") -> str:
    return f"\n  - name: {name}\n    file: {file}\n    targets: {targets}\n"


# ---------------------------------------------------------------------------------------------- SCP size


def test_an_scp_over_the_size_limit_is_packed_into_parts_that_fit_and_reported(tmp_path: Path) -> None:
    document = six_thousand_char_scp()
    path = write_matrix(tmp_path, "guardrails:" + guardrail("big", "scp-big.json"), {"scp-big.json": document})
    findings = check(path)
    f = one(findings, "scp-packed")
    assert (f.severity, f.subject, f.location.line) == ("info", "big", line_of(path, "file: scp-big.json"))
    assert "packed into 2 SCPs: big-1" in f.message and "big-2" in f.message
    assert errors(findings) == []
    model = build_model(load_project(path))
    assert model.scp_parts["big"] == ["big-1", "big-2"]
    contents = [model.stacks["organization"].inputs["guardrails"][n]["content"] for n in model.scp_parts["big"]]
    assert all(len(c) <= 5120 for c in contents)
    packed = [s for c in contents for s in json.loads(c)["Statement"]]
    assert sorted(s["Sid"] for s in packed) == sorted(s["Sid"] for s in document["Statement"])


def test_an_scp_within_the_size_limit_is_neither_packed_nor_reported(tmp_path: Path) -> None:
    path = write_matrix(
        tmp_path, "guardrails:" + guardrail("small", "scp.json"), {"scp.json": policy(buckets_deny("DenyDeletes", 5))}
    )
    assert rules(check(path)) & {"scp-packed", "scp-too-large", "scp-minified"} == set()


def test_the_raised_scp_limit_fits_the_same_scp_in_one_policy(tmp_path: Path) -> None:
    extra = "guardrails:" + guardrail("big", "scp-big.json") + "limits:\n  scp_max_chars: 10240\n"
    path = write_matrix(tmp_path, extra, {"scp-big.json": six_thousand_char_scp()})
    assert by_rule(check(path), "scp-packed") == []


def test_a_single_statement_over_the_limit_is_refused_naming_the_statement(tmp_path: Path) -> None:
    document = policy(buckets_deny("DenyHuge", 170), buckets_deny("DenySmall", 2))
    assert len(minified(document["Statement"][0])) > 5120
    path = write_matrix(tmp_path, "guardrails:" + guardrail("huge", "scp-huge.json"), {"scp-huge.json": document})
    f = one(check(path), "scp-too-large")
    assert (f.severity, f.subject, f.location.line) == ("error", "huge", line_of(path, "file: scp-huge.json"))
    assert 'statement "DenyHuge" alone is' in f.message and "over the 5,120 SCP limit" in f.message


def test_a_pretty_printed_scp_that_fits_once_minified_is_reported_as_minified(tmp_path: Path) -> None:
    document = policy(*(buckets_deny(f"Deny{k}", 25) for k in range(4)))
    text = json.dumps(document, indent=12)
    assert len(text) > 5120 >= len(minified(document))
    path = write_matrix(tmp_path, "guardrails:" + guardrail("pretty", "scp.json"), {"scp.json": text})
    f = one(check(path), "scp-minified")
    assert (f.severity, f.subject, f.location.line) == ("info", "pretty", line_of(path, "file: scp.json"))
    path = write_matrix(tmp_path, "guardrails:" + guardrail("pretty", "scp.json"), {"scp.json": minified(document)})
    assert by_rule(check(path), "scp-minified") == []


def test_a_packed_part_name_over_128_characters_is_an_error(tmp_path: Path) -> None:
    name = "g" * 127  # the longest name the schema allows is 128; packing adds "-1"
    path = write_matrix(tmp_path, "guardrails:" + guardrail(name, "scp.json"), {"scp.json": six_thousand_char_scp()})
    f = one(check(path), "scp-name-length")
    assert (f.severity, f.subject, f.location.line) == ("error", name, line_of(path, f"name: {name}"))
    assert f"'{name}-1' is 129 characters" in f.message
    shorter = "g" * 126
    path = write_matrix(tmp_path, "guardrails:" + guardrail(shorter, "scp.json"), {"scp.json": six_thousand_char_scp()})
    assert by_rule(check(path), "scp-name-length") == []


# -------------------------------------------------------------------------------------- SCPs per target

LIBRARY_FIVE = """
guardrails:
  - name: deny-root-user
    builtin: deny-root-user
    targets: { ous: [WorkloadsOU] }
  - name: deny-leave-organization
    builtin: deny-leave-organization
    targets: { ous: [WorkloadsOU] }
  - name: deny-internet-gateway
    builtin: deny-internet-gateway
    targets: { ous: [WorkloadsOU] }
  - name: protect-security-services
    builtin: protect-security-services
    targets: { ous: [WorkloadsOU] }
"""
FIFTH = """
  - name: require-encryption
    builtin: require-encryption
    targets: { ous: [WorkloadsOU] }  # the fifth guardrail, the sixth SCP with FullAWSAccess
"""


def test_a_sixth_scp_on_an_ou_counting_full_aws_access_is_an_error(tmp_path: Path) -> None:
    path = write_matrix(tmp_path, LIBRARY_FIVE + FIFTH)
    f = one(check(path), "scps-per-target")
    assert (f.severity, f.subject, f.location.line) == ("error", "WorkloadsOU", line_of(path, "# the fifth"))
    assert "OU WorkloadsOU would have 6 SCPs attached directly, over the limit of 5" in f.message
    assert "FullAWSAccess, deny-root-user" in f.message and "require-encryption" in f.message


def test_five_scps_on_an_ou_counting_full_aws_access_fit(tmp_path: Path) -> None:
    assert check(write_matrix(tmp_path, LIBRARY_FIVE)) == []


def test_the_raised_attachment_limit_is_read_from_the_matrix(tmp_path: Path) -> None:
    path = write_matrix(tmp_path, LIBRARY_FIVE + FIFTH + "limits:\n  scps_per_target: 10\n")
    assert by_rule(check(path), "scps-per-target") == []


def test_packed_parts_each_take_a_slot_and_the_error_names_the_target_and_policies(tmp_path: Path) -> None:
    extra = """
guardrails:
  - name: deny-root-user
    builtin: deny-root-user
    targets: { accounts: [prod] }
  - name: deny-leave-organization
    builtin: deny-leave-organization
    targets: { accounts: [prod] }
  - name: deny-internet-gateway
    builtin: deny-internet-gateway
    targets: { accounts: [prod] }
  - name: big
    file: scp-big.json
    targets: { accounts: [prod] }  # big
"""
    path = write_matrix(tmp_path, extra, {"scp-big.json": six_thousand_char_scp()})
    findings = check(path)
    f = one(findings, "scps-per-target")
    assert (f.severity, f.subject, f.location.line) == ("error", "prod", line_of(path, "# big"))
    assert "account prod would have 6 SCPs attached directly, over the limit of 5" in f.message
    assert f.message.endswith(
        "FullAWSAccess, deny-root-user, deny-leave-organization, deny-internet-gateway, big-1, big-2"
    )
    assert one(findings, "scp-packed").subject == "big"


# ------------------------------------------------------------------------------------------------ OUs


def nested_units(depth: int) -> str:
    """WorkloadsOU with OUs Level2, Level3 ... nested under it, `depth` levels in all."""
    lines = ["    - name: WorkloadsOU"]
    for level in range(2, depth + 1):
        indent = "    " * (level - 1)
        lines.append(f"  {indent}units:")
        lines.append(f"  {indent}  - name: Level{level}")
    return "\n".join(lines) + "\n"


def test_an_ou_six_levels_deep_is_an_error_at_that_ou(tmp_path: Path) -> None:
    base = write_matrix(tmp_path).read_text().replace("    - name: WorkloadsOU\n", nested_units(6))
    path = write_matrix(tmp_path, base=base)
    f = one(check(path), "ou-depth")
    assert (f.severity, f.subject) == ("error", "WorkloadsOU/Level2/Level3/Level4/Level5/Level6")
    assert f.location.line == line_of(path, "name: Level6")


def test_an_ou_five_levels_deep_is_fine(tmp_path: Path) -> None:
    base = write_matrix(tmp_path).read_text().replace("    - name: WorkloadsOU\n", nested_units(5))
    assert by_rule(check(write_matrix(tmp_path, base=base)), "ou-depth") == []


# ------------------------------------------------------------------------------------------- accounts


def more_accounts(count: int) -> str:
    return "".join(
        f"  - name: extra{i}\n    email: extra{i}@acme.example\n    ou: WorkloadsOU\n    environment: dev\n"
        for i in range(count)
    )


def test_more_accounts_than_the_default_quota_of_ten_is_an_error_at_the_first_one_over(tmp_path: Path) -> None:
    base = write_matrix(tmp_path).read_text()
    assert base.count("  - name: ") - base.count("    - name: ") == 3  # management, dev and prod
    path = write_matrix(tmp_path, base=base + more_accounts(8))
    f = one(check(path), "accounts-per-organization")
    assert (f.severity, f.subject) == ("error", "extra7")  # the eleventh account
    assert f.location.line == line_of(path, "name: extra7")
    assert "the organization would have 11 accounts" in f.message and "quota is 10" in f.message


def test_ten_accounts_fit_and_a_raised_quota_is_read_from_the_matrix(tmp_path: Path) -> None:
    base = write_matrix(tmp_path).read_text()
    assert by_rule(check(write_matrix(tmp_path, base=base + more_accounts(7))), "accounts-per-organization") == []
    raised = base + more_accounts(8) + "limits:\n  accounts_per_organization: 20\n"
    assert by_rule(check(write_matrix(tmp_path, base=raised)), "accounts-per-organization") == []
    lowered = base + "limits:\n  accounts_per_organization: 2\n"
    f = one(check(write_matrix(tmp_path, base=lowered)), "accounts-per-organization")
    assert f.subject == "prod"


# ---------------------------------------------------------------------------------------------- roles


def role(
    name: str = "AppRole",
    principals: str = "        - oidc: { subject: 'repo:acme/app:ref:refs/heads/main' }",
    extra: str = "",
) -> str:
    return f"""
roles:
  - name: {name}
    audience: ci
    environments: [dev]
    trust:
      principals:
{principals}
{extra}"""


def test_a_trust_policy_over_2048_characters_is_an_error(tmp_path: Path) -> None:
    many = "\n".join(f"        - role: {{ role: CallerRole{i:02d}, account: prod }}" for i in range(25))
    path = write_matrix(tmp_path, role(principals=many))
    f = one(check(path), "trust-policy-size")
    assert (f.severity, f.subject, f.location.line) == ("error", "AppRole", line_of(path, "    trust:"))
    assert "in dev, over the 2,048 limit" in f.message


def test_a_trust_policy_within_the_quota_is_fine(tmp_path: Path) -> None:
    many = "\n".join(f"        - role: {{ role: CallerRole{i:02d}, account: prod }}" for i in range(25))
    path = write_matrix(tmp_path, role(principals=many) + "limits:\n  role_trust_policy_chars: 8192\n")
    assert by_rule(check(path), "trust-policy-size") == []
    path = write_matrix(tmp_path, role(principals=many.split("\n")[0]))
    assert by_rule(check(path), "trust-policy-size") == []


def managed(count: int) -> str:
    arns = [f"arn:aws:iam::aws:policy/ReadOnlyPolicy{i}" for i in range(count)]
    return "    managed_policies:\n" + "".join(f"      - {a}\n" for a in arns)


def test_eleven_managed_policies_on_a_role_is_an_error(tmp_path: Path) -> None:
    path = write_matrix(tmp_path, role(extra=managed(11)))
    f = one(check(path), "managed-policies-per-role")
    assert (f.severity, f.subject, f.location.line) == ("error", "AppRole", line_of(path, "managed_policies:"))
    assert "11 managed policies; IAM allows 10" in f.message


def test_ten_managed_policies_on_a_role_fit(tmp_path: Path) -> None:
    assert by_rule(check(write_matrix(tmp_path, role(extra=managed(10)))), "managed-policies-per-role") == []


def test_a_role_name_over_64_characters_is_an_error(tmp_path: Path) -> None:
    name = "R" * 65
    path = write_matrix(tmp_path, role(name=name))
    f = one(check(path), "role-name-length")
    assert (f.severity, f.subject, f.location.line) == ("error", name, line_of(path, f"name: {name}"))
    assert by_rule(check(write_matrix(tmp_path, role(name="R" * 64))), "role-name-length") == []


def test_a_role_session_over_12_hours_is_an_error(tmp_path: Path) -> None:
    path = write_matrix(tmp_path, role(extra="    max_session_duration: 50000\n"))
    f = one(check(path), "role-session-duration")
    assert (f.severity, f.subject, f.location.line) == ("error", "AppRole", line_of(path, "max_session_duration"))
    path = write_matrix(tmp_path, role(extra="    max_session_duration: 43200\n"))
    assert by_rule(check(path), "role-session-duration") == []


def test_a_long_session_on_a_role_reached_only_by_role_chaining_is_noted(tmp_path: Path) -> None:
    chained = "        - role: { role: CallerRole, account: prod }"
    path = write_matrix(tmp_path, role(principals=chained, extra="    max_session_duration: 7200\n"))
    f = one(check(path), "role-chaining-session")
    assert (f.severity, f.subject, f.location.line) == ("info", "AppRole", line_of(path, "max_session_duration"))
    # an OIDC session is not chained, so a longer session is real
    path = write_matrix(tmp_path, role(extra="    max_session_duration: 7200\n"))
    assert by_rule(check(path), "role-chaining-session") == []


def test_a_service_role_with_too_much_inline_policy_is_an_error(tmp_path: Path) -> None:
    def service_role(buckets: int) -> str:
        listed = "".join(f"      - {{ bucket: acme-data-{i:03d}, access: write }}\n" for i in range(buckets))
        return f"service_roles:\n  - name: ingest\n    service: lambda\n    environments: [dev]\n    s3:\n{listed}"

    path = write_matrix(tmp_path, service_role(40))
    f = one(check(path), "role-inline-policy-size")
    assert (f.severity, f.subject, f.location.line) == ("error", "ingest", line_of(path, "name: ingest"))
    assert "IAM allows 10,240 per role" in f.message
    assert by_rule(check(write_matrix(tmp_path, service_role(5))), "role-inline-policy-size") == []


# ------------------------------------------------------------------------------------- managed policies


def test_a_customer_managed_policy_over_6144_characters_is_an_error(tmp_path: Path) -> None:
    def doc(count: int) -> dict[str, Any]:
        return policy(
            {
                "Sid": "ReadObjects",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": [f"arn:aws:s3:::acme-bucket-{i:03d}/*" for i in range(count)],
            }
        )

    extra = "policies:\n  - name: BigRead\n    file: big.json\n"
    path = write_matrix(tmp_path, extra, {"big.json": doc(200)})
    f = one(check(path), "managed-policy-size")
    assert (f.severity, f.subject, f.location.line) == ("error", "BigRead", line_of(path, "file: big.json"))
    assert "IAM allows 6,144" in f.message
    path = write_matrix(tmp_path, extra, {"big.json": doc(20)})
    assert by_rule(check(path), "managed-policy-size") == []


# ------------------------------------------------------------------------------------- permission sets


def identity_center(permission_set: str) -> str:
    return f"""
identity_center:
  identity_source: {{ provider: okta }}
  permission_sets:
{permission_set}"""


def test_a_33_character_permission_set_name_is_an_error(tmp_path: Path) -> None:
    name = "P" * 33
    path = write_matrix(tmp_path, identity_center(f"    - name: {name}\n"))
    f = one(check(path), "permission-set-name-length")
    assert (f.severity, f.subject, f.location.line) == ("error", name, line_of(path, f"name: {name}"))
    assert "33 characters; Identity Center allows 32" in f.message
    path = write_matrix(tmp_path, identity_center(f"    - name: {'P' * 32}\n"))
    assert by_rule(check(path), "permission-set-name-length") == []


def test_a_permission_set_session_over_twelve_hours_is_an_error(tmp_path: Path) -> None:
    path = write_matrix(tmp_path, identity_center("    - name: Ops\n      session_duration: PT13H\n"))
    f = one(check(path), "permission-set-session-duration")
    assert (f.severity, f.subject, f.location.line) == ("error", "Ops", line_of(path, "session_duration"))
    path = write_matrix(tmp_path, identity_center("    - name: Ops\n      session_duration: PT12H\n"))
    assert by_rule(check(path), "permission-set-session-duration") == []


def test_a_permission_set_inline_policy_over_10240_characters_is_an_error(tmp_path: Path) -> None:
    def inline(count: int) -> str:
        arns = "".join(f"              - arn:aws:s3:::acme-bucket-{i:03d}/*\n" for i in range(count))
        return (
            "    - name: Reader\n      inline_policy:\n        Statement:\n          - Sid: Read\n"
            "            Effect: Allow\n            Action: s3:GetObject\n            Resource:\n" + arns
        )

    path = write_matrix(tmp_path, identity_center(inline(340)))
    f = one(check(path), "permission-set-inline-policy-size")
    assert (f.severity, f.subject, f.location.line) == ("error", "Reader", line_of(path, "inline_policy:"))
    assert "non-whitespace characters (limit 10,240)" in f.message
    assert (
        by_rule(check(write_matrix(tmp_path, identity_center(inline(30)))), "permission-set-inline-policy-size") == []
    )


def test_more_managed_policies_on_a_permission_set_than_iam_allows_per_role_is_an_error(tmp_path: Path) -> None:
    def with_managed(count: int) -> str:
        arns = "".join(f"        - arn:aws:iam::aws:policy/ReadOnlyPolicy{i}\n" for i in range(count))
        return f"    - name: Reader\n      managed_policies:\n{arns}"

    path = write_matrix(tmp_path, identity_center(with_managed(11)))
    f = one(check(path), "permission-set-managed-policies")
    assert (f.severity, f.subject, f.location.line) == ("error", "Reader", line_of(path, "managed_policies:"))
    assert "11 managed policies; at most 10 fit" in f.message
    assert (
        by_rule(check(write_matrix(tmp_path, identity_center(with_managed(10)))), "permission-set-managed-policies")
        == []
    )
