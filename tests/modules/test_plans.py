"""Each module's plan, case by case, against its inventory (tests/modules/<module>/<case>.yaml)."""

from __future__ import annotations

import pytest
import yaml

from tests.modules.inventory import MODULES, Case, PlanFailed, Planner, compare, compare_errors, load_cases, report

CASES = load_cases()
SECTIONS = {"values", "counts", "outputs", "errors"}


def test_every_module_has_plan_cases_with_their_files() -> None:
    modules = sorted(p.name for p in MODULES.iterdir() if (p / "main.tf").is_file())
    assert sorted({c.module for c in CASES}) == modules
    for case in CASES:
        assert case.tfvars.is_file(), f"{case.id}: {case.tfvars.name} is missing"
        assert case.inventory.is_file(), f"{case.id}: {case.inventory.name} is missing"
        inventory = yaml.safe_load(case.inventory.read_text()) or {}
        assert set(inventory) <= SECTIONS, f"{case.id}: unknown sections {sorted(set(inventory) - SECTIONS)}"
        # A plan case must at least pin what it creates; an error case, what it rejects.
        assert "counts" in inventory or inventory.get("errors"), f"{case.id}: the inventory checks too little"


@pytest.mark.modules
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_plan_matches_inventory(case: Case, module_planner: Planner) -> None:
    expected = yaml.safe_load(case.inventory.read_text()) or {}
    try:
        summary = module_planner.plan(case)
    except PlanFailed as exc:
        if "errors" not in expected:
            pytest.fail(f"{case.id}: the plan failed:\n{exc}", pytrace=False)
        problems = compare_errors(expected["errors"], exc.diagnostics)
        if problems:
            actual = yaml.safe_dump({"errors": dict(sorted(exc.diagnostics.items()))}, sort_keys=False, width=120)
            pytest.fail(report(case, problems, None) + "\n\nThe plan's errors:\n" + actual, pytrace=False)
        return
    if "errors" in expected:
        pytest.fail(report(case, ["the plan succeeded, but the inventory expects errors"], summary), pytrace=False)
    problems = compare(expected, summary)
    if problems:
        pytest.fail(report(case, problems, summary), pytrace=False)
