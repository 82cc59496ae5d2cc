"""The benchmark: its synthetic organizations are valid at the size asked for, the quick bench runs, and the
fast paths it measures (tfvars JSON, the lint cache) give exactly the answers of the slow ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from securecart_tf.checks.validate import run_checks
from securecart_tf.config.load import load_project
from securecart_tf.config.schema import ou_paths
from securecart_tf.findings import Severity
from securecart_tf.model import build_model
from securecart_tf.render import pretty_json, stacks_of
from tests.bench_scripts import load_bench
from tests.conftest import ROOT

synth = load_bench("synth")


def _errors(project: object) -> list[str]:
    return [f"{f.rule}: {f.message}" for f in run_checks(project) if f.severity == Severity.error]  # type: ignore[arg-type]


@pytest.mark.parametrize("accounts", [6, 40, 1000])
def test_a_synthetic_organization_is_valid_and_as_big_as_asked(tmp_path: Path, accounts: int) -> None:
    size = synth.Size.scaled(accounts)
    stats = synth.write_project(tmp_path, size)
    project = load_project(tmp_path / "access-matrix.yaml")
    assert _errors(project) == []
    model = build_model(project)
    matrix = project.matrix
    assert len(matrix.accounts) == stats.accounts == accounts
    assert len(list(ou_paths(matrix.organization.units))) == stats.ous == size.ous
    assert max(depth for _, depth, _ in ou_paths(matrix.organization.units)) <= 5
    assert matrix.identity_center is not None
    assert len(matrix.identity_center.permission_sets) == size.permission_sets
    assert len(matrix.identity_center.groups) == size.groups
    assert len(model.assignments) == stats.assignments == size.assignments
    assert sum(len(accs) for accs in model.placements.values()) == stats.placements == size.placements
    covered = {s.name for env in project.environments.values() for s in stacks_of(model, env)}
    assert covered == set(model.stacks), "the environment files cover every stack"


def test_the_issue_sized_organization_has_the_issue_s_numbers() -> None:
    size = synth.Size.scaled(1000)
    assert (size.accounts, size.ous, size.permission_sets, size.assignments, size.placements) == (
        1000,
        120,
        60,
        10_000,
        3_000,
    )


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    size = synth.Size.scaled(50)
    synth.write_project(tmp_path / "a", size)
    synth.write_project(tmp_path / "b", size)
    synth.write_project(tmp_path / "c", size, seed=synth.SEED + 1)
    a = (tmp_path / "a" / "access-matrix.yaml").read_bytes()
    assert a == (tmp_path / "b" / "access-matrix.yaml").read_bytes()
    assert a != (tmp_path / "c" / "access-matrix.yaml").read_bytes()


def test_the_one_line_change_touches_one_role_in_one_account(tmp_path: Path) -> None:
    synth.write_project(tmp_path, synth.Size.scaled(20))
    matrix = tmp_path / "access-matrix.yaml"
    before, after = synth.ONE_LINE_CHANGE
    text = matrix.read_text()
    assert text.count(before) == 1
    old = build_model(load_project(matrix))
    matrix.write_text(text.replace(before, after))
    new = build_model(load_project(matrix))
    changed = [name for name in old.stacks if old.stacks[name].inputs != new.stacks[name].inputs]
    assert len(changed) == 1 and changed[0].startswith("access-")


def test_the_sandbox_project_plans_one_access_stack_per_member(tmp_path: Path) -> None:
    stacks = synth.write_sandbox_project(tmp_path, 3)
    project = load_project(tmp_path / "access-matrix.yaml")
    assert _errors(project) == []
    model = build_model(project)
    assert [s.name for s in stacks_of(model, project.environments["members"])] == stacks
    assert [s.name for s in stacks_of(model, project.environments["org"])] == ["organization"]


def test_the_security_project_applies_the_security_stack_alone_after_the_organization(tmp_path: Path) -> None:
    synth.write_security_project(tmp_path)
    project = load_project(tmp_path / "access-matrix.yaml")
    assert _errors(project) == []
    model = build_model(project)
    assert [s.name for s in stacks_of(model, project.environments["baseline"])] == ["security"]
    assert [s.name for s in stacks_of(model, project.environments["org"])] == ["organization"]


def test_the_quick_bench_runs_and_rewrites_only_the_changed_stack(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--quick",
            "--only",
            "scale,incremental",
            "--sizes",
            "10,20",
            "--json",
            str(out),
            "--keep",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=900,  # a bound for a stuck bench on a loaded machine, not a performance goal
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text())
    assert set(results["scale"]["sizes"]) == {"10", "20"}
    for row in results["scale"]["sizes"].values():
        assert row["validate"]["wall"] > 0 and row["generate"]["rss_mib"] > 0
    assert "growth 10→20" in proc.stdout
    incremental = results["incremental"]
    assert incremental["unchanged_rewritten"] == [0]
    assert incremental["files_rewritten"] == [2]  # the stack's terraform.tfvars.json and its manifest.json
    assert len(incremental["stacks_touched"]) == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=30,
)


@given(json_values, st.booleans())
@settings(suppress_health_check=[HealthCheck.too_slow])  # generation slows with the machine's load, not the code
def test_tfvars_json_is_exactly_what_json_dumps_writes(value: object, sort_keys: bool) -> None:
    assert pretty_json(value, sort_keys=sort_keys) == json.dumps(value, indent=2, sort_keys=sort_keys)


def test_tfvars_json_leaves_other_keys_and_values_to_json_dumps() -> None:
    assert pretty_json({1: "a", 2: (1, 2)}) == json.dumps({1: "a", 2: (1, 2)}, indent=2, sort_keys=True)
    assert pretty_json({"b": {2: 0}, "a": 1}, sort_keys=False) == json.dumps({"b": {2: 0}, "a": 1}, indent=2)
    with pytest.raises(TypeError):
        pretty_json({"a": object()})
    with pytest.raises(TypeError):
        pretty_json({"a": 1, 2: 1})  # keys that cannot be sorted together


# ---- the lint cache: what an earlier run analysed is reused, and only for the same document


DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Objects", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
}


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of its own, and no cache loaded yet in this process (as in a new run)."""
    from securecart_tf.iam import lint_cache

    monkeypatch.setenv("SECURECART_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(lint_cache, "_caches", {})
    return tmp_path / "cache"


def _new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from securecart_tf.iam import lint_cache

    for cache in lint_cache._caches.values():
        cache.save()
    monkeypatch.setattr(lint_cache, "_caches", {})


def test_a_later_run_reuses_the_analysis_of_the_same_document(
    fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from securecart_tf.iam import lint

    first = lint.parliament_issues(DOC, lint.Kind.identity)
    grants = lint.grant_issues(DOC, name="policy 'P'")
    assert [i.rule for i in grants] == ["wildcard-resource-write"]
    _new_process(monkeypatch)
    assert len(list(fresh_cache.glob("lint-*.json"))) == 1

    def no_analysis(*args: object, **kwargs: object) -> list[lint.Issue]:
        raise AssertionError("analysed again")

    monkeypatch.setattr(lint, "_parliament_issues", no_analysis)
    monkeypatch.setattr(lint, "_grant_issues", no_analysis)
    assert lint.parliament_issues(DOC, lint.Kind.identity) == first
    assert lint.grant_issues(DOC, name="policy 'P'") == grants
    with pytest.raises(AssertionError, match="analysed again"):
        lint.grant_issues(DOC, name="policy 'Q'")  # another name is another message
    changed = {**DOC, "Statement": [{**DOC["Statement"][0], "Resource": "arn:aws:s3:::b/*"}]}
    with pytest.raises(AssertionError, match="analysed again"):
        lint.parliament_issues(changed, lint.Kind.identity)


def test_a_damaged_cache_is_ignored(fresh_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from securecart_tf.iam import lint

    expected = lint.grant_issues(DOC, name="policy 'P'")
    _new_process(monkeypatch)
    for file in fresh_cache.glob("lint-*.json"):
        file.write_text('{"format": 1, "rows": {"x": [1, 2]')
    assert lint.grant_issues(DOC, name="policy 'P'") == expected


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from securecart_tf.iam import lint, lint_cache

    monkeypatch.setattr(lint_cache, "_caches", {})
    monkeypatch.setenv("SECURECART_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert lint.grant_issues(DOC, name="policy 'P'")
    _new_process(monkeypatch)
    assert list(tmp_path.rglob("*")) == []
