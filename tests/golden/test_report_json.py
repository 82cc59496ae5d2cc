"""The SecureCart example's report, as normalised JSON, matches tests/golden/report/example.json (`make golden`)."""

from __future__ import annotations

import difflib
import json
from typing import Any

import jsonschema
import pytest

from securecart_tf.report.render_json import schema_text
from tests.golden.regenerate import REPORT_JSON, ROOT, example_report_json


def test_example_report_json_matches_the_golden_file() -> None:
    fresh = example_report_json()
    golden = REPORT_JSON.read_text(encoding="utf-8")
    if fresh != golden:
        diff = list(difflib.unified_diff(golden.splitlines(), fresh.splitlines(), "golden", "fresh", lineterm=""))
        pytest.fail(
            f"The example's report differs from {REPORT_JSON.relative_to(ROOT)}:\n"
            + "\n".join(diff[:200])
            + "\n\nIf the change is intended, run `make golden` and review the diff.",
            pytrace=False,
        )


def test_the_golden_report_follows_the_published_schema() -> None:
    schema = json.loads(schema_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(REPORT_JSON.read_text()), schema, cls=jsonschema.Draft202012Validator)


def test_every_reference_in_the_golden_report_is_listed_once_and_resolves() -> None:
    data: dict[str, Any] = json.loads(REPORT_JSON.read_text())
    for cell in data["cells"]:
        for path in cell["paths"]:
            assert path["seat"] in data["seats"]
    for seat in data["seats"].values():
        evaluation = data["evaluations"][seat["evaluation"]]
        assert evaluation["scp_effects"] in data["scp_effects"]
        assert all(g["policy"] in data["policies"] for g in evaluation["grants"])
    assert all(a["scp_path"] in data["scp_paths"] for a in data["accounts"])
    # listed once: no two entries of a table are equal
    for table in ("evaluations", "policies", "scp_effects", "scp_paths"):
        rows = [json.dumps(v, sort_keys=True) for v in data[table].values()]
        assert len(rows) == len(set(rows)), table
    # SecurityAudit sits in six accounts under five SCP paths and the management account's none
    audit = [s for s in data["seats"].values() if s["name"] == "SecurityAudit"]
    assert len(audit) == 6
    assert len({s["evaluation"] for s in audit}) < len(audit)
