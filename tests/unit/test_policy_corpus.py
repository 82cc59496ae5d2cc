"""The guardrail library and the SecureCart example against every limit, lint rule and the lockout check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_policy_support import check, errors

from securecart_tf.findings import Severity
from securecart_tf.iam.guardrails import LIBRARY, build_guardrail
from securecart_tf.iam.limits import LIMITS, Limits, fit_scp
from securecart_tf.iam.lint import Kind, parliament_issues, statements
from securecart_tf.iam.lockout import excludes, role_arn

SAMPLE_PARAMETERS: dict[str, dict[str, Any]] = {"region-allow-list": {"regions": ["us-east-1", "eu-west-1"]}}
PLATFORM = ["OrganizationAccountAccessRole", "BreakGlassRole"]


@pytest.mark.parametrize("builtin", sorted(LIBRARY))
def test_every_library_guardrail_fits_lints_clean_and_exempts_the_platform_roles(builtin: str) -> None:
    document = build_guardrail(builtin, SAMPLE_PARAMETERS.get(builtin, {}), PLATFORM)
    parts = fit_scp(builtin, document, Limits.from_matrix(None))
    assert [name for name, _ in parts] == [builtin]
    assert len(parts[0][1]) <= LIMITS["scp_max_chars"].value
    assert len(builtin) <= LIMITS["policy_name_chars"].value
    assert parliament_issues(document, Kind.scp) == []
    for statement in statements(document):
        assert statement["Effect"] == "Deny"
        for role in PLATFORM:
            assert excludes(statement, role_arn("123456789012", role)), (builtin, statement.get("Sid"), role)


def test_the_region_allow_list_still_fits_with_every_commercial_region() -> None:
    regions = [
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1", "ap-south-2",
        "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-northeast-1", "ap-northeast-2",
        "ap-northeast-3", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2",
        "eu-west-3", "eu-south-1", "eu-south-2", "eu-north-1", "il-central-1", "me-south-1", "me-central-1",
        "sa-east-1",
    ]  # fmt: skip
    document = build_guardrail("region-allow-list", {"regions": regions}, PLATFORM)
    assert len(fit_scp("r", document, Limits.from_matrix(None))) == 1


def test_the_securecart_example_validates_with_every_warning_justified(example_project: Path) -> None:
    findings = check(example_project)
    assert errors(findings) == []
    unjustified = [f for f in findings if f.severity == Severity.warning and f.active]
    assert unjustified == []
    for f in findings:
        if f.suppressed is not None:
            assert len(f.suppressed) >= 80, f"suppression of {f.rule} for {f.subject} needs a real reason"
