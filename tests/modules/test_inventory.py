"""The inventory comparison itself: what it accepts and what it reports, without Terraform."""

from __future__ import annotations

from tests.modules.inventory import MISSING, UNKNOWN, Summary, _known, compare, compare_errors

SUMMARY = Summary(
    values={
        "aws_iam_role.this": {"name": "DeveloperRole", "assume_role_policy": '{"Version":"2012-10-17"}', "tags": None},
        'aws_iam_role_policy.this["logs"]': {"name": "logs"},
    },
    counts={"aws_iam_role": 1, "aws_iam_role_policy": 1},
    outputs={"name": "DeveloperRole", "arn": UNKNOWN},
)


def test_a_matching_inventory_reports_nothing() -> None:
    expected = {
        "values": {
            "aws_iam_role.this": {
                "name": "DeveloperRole",
                "assume_role_policy": {"Version": "2012-10-17"},  # compared as decoded JSON
                "arn": MISSING,
            },
            "aws_iam_role_policy_attachment.this[0]": MISSING,
        },
        "counts": {"aws_iam_role": 1, "aws_iam_role_policy": 1},
        "outputs": {"arn": UNKNOWN},
    }
    assert compare(expected, SUMMARY) == []


def test_each_kind_of_difference_is_reported() -> None:
    expected = {
        "values": {
            "aws_iam_role.this": {"name": "Other", "tags": MISSING, "path": "/"},
            "aws_iam_role.absent": {"name": "x"},
            'aws_iam_role_policy.this["logs"]': MISSING,
        },
        "counts": {"aws_iam_role": 2},
        "outputs": {"name": "Other", "id": "x"},
    }
    assert compare(expected, SUMMARY) == [
        "aws_iam_role.this.name: planned 'DeveloperRole', expected 'Other'",
        "aws_iam_role.this.tags: expected unknown until apply, planned None",
        "aws_iam_role.this.path: unknown until apply, expected '/'",
        "aws_iam_role.absent: is not in the plan",
        'aws_iam_role_policy.this["logs"]: is planned, but the inventory says it must not be',
        "counts.aws_iam_role: planned 1, expected 2",
        "counts.aws_iam_role_policy: planned 1, expected 0",
        "outputs.name: planned 'DeveloperRole', expected 'Other'",
        "outputs.id: not an output of the module",
    ]


def test_outputs_mark_what_is_known_only_after_apply() -> None:
    assert _known(None, True) == UNKNOWN
    assert _known({"a": "x"}, {"b": True}) == {"a": "x", "b": UNKNOWN}
    assert _known(["x", None], [False, True]) == ["x", UNKNOWN]
    assert _known(None, False) is None


def test_errors_must_match_exactly_the_rejected_variables() -> None:
    said = {"var.name": ['A role name ... (got "Developer Role").'], "var.path": ['got "x"']}
    assert compare_errors({"var.name": ['"Developer Role"'], "var.path": ['"x"']}, said) == []
    problems = compare_errors({"var.name": ["900"], "var.tags": ["x"]}, said)
    assert problems[0].startswith("var.name: the error does not say '900'")
    assert problems[1].startswith("var.path: unexpected error")
    assert problems[2] == "var.tags: accepted, but the inventory expects an error"
