"""Plan a static module with tftest and summarise the plan as an inventory: values, counts and outputs.

The module tests (test_plans.py) compare each case's summary with its inventory. As a command, this
writes a first inventory for a new case, which you then trim by hand, checking every value against
what the case's tfvars ask for:

    .venv/bin/python -m tests.modules.inventory organization securecart            # print the summary
    .venv/bin/python -m tests.modules.inventory organization securecart --write    # overwrite securecart.yaml

An inventory (`<case>.yaml`) holds any of:

- `values`: resource address → attributes, matched partially (only the attributes listed). An attribute
  `__missing__` must be absent from the plan (unknown until apply); an address `__missing__` must not be
  planned. A JSON string attribute may be written as YAML; it is compared as decoded JSON.
- `counts`: resource type → number of resources, exact and complete.
- `outputs`: output name → value, exact; `__unknown__` marks what is known only after apply.
- `errors`: the plan must fail, rejecting exactly these variables (`var.<name>`), each with a message
  that contains the texts listed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import tftest
import yaml

from securecart_tf import sandbox
from securecart_tf.run.terraform import cli_config, go_runtime_env

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent.parent
MODULES = ROOT / "modules"
PROVIDERS = TESTS / "fixture" / "providers.tf"
MISSING = "__missing__"
UNKNOWN = "__unknown__"
REGION = "us-east-1"
# Offline plans point every AWS endpoint at a closed port: a data source that calls AWS fails at once.
OFFLINE_ENDPOINT = "http://127.0.0.1:9"
_DATA_SOURCE = re.compile(r'^data\s+"aws_', re.MULTILINE)
_ASSIGNMENT = re.compile(r"^\s*(\w+)\s*=")
# tftest logs a failed command's whole output as critical; PlanFailed reports its diagnostics instead.
logging.getLogger("tftest").setLevel(logging.CRITICAL + 1)


@dataclass(frozen=True)
class Case:
    """One test case: a module, its tfvars and its inventory."""

    module: str
    name: str
    tfvars: Path
    inventory: Path
    scim_groups: tuple[str, ...] = ()
    """Identity Center groups the IdP has provisioned (SCIM) before the plan; created in the sandbox."""

    @property
    def id(self) -> str:
        return f"{self.module}/{self.name}"

    @property
    def reads_aws(self) -> bool:
        """The module has data sources, so it plans against the sandbox rather than offline."""
        return any(_DATA_SOURCE.search(f.read_text()) for f in (MODULES / self.module).glob("*.tf"))

    def regenerate_command(self) -> str:
        return f".venv/bin/python -m tests.modules.inventory {self.module} {self.name} --write"


def load_cases(module: str | None = None) -> list[Case]:
    """Every case listed in tests/modules/<module>/tftest.yaml."""
    cases = []
    for spec_file in sorted(TESTS.glob("*/tftest.yaml")):
        name = spec_file.parent.name
        if module is not None and name != module:
            continue
        spec = yaml.safe_load(spec_file.read_text()) or {}
        if spec.get("module") != f"modules/{name}":
            raise ValueError(f"{spec_file}: module must be modules/{name}, the folder's name")
        for case, options in (spec.get("tests") or {}).items():
            options = options or {}
            unknown = set(options) - {"scim_groups"}
            if unknown:
                raise ValueError(f"{spec_file}: case {case}: unknown option(s) {sorted(unknown)}")
            cases.append(
                Case(
                    module=name,
                    name=case,
                    tfvars=spec_file.parent / f"{case}.tfvars",
                    inventory=spec_file.parent / f"{case}.yaml",
                    scim_groups=tuple(options.get("scim_groups", ())),
                )
            )
    return cases


# -- summary ------------------------------------------------------------------------------------------


@dataclass
class Summary:
    """What a plan would create: attributes by address, resources by type, and outputs."""

    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def inventory(self) -> dict[str, Any]:
        """The summary as an inventory, with JSON strings decoded so that a reader sees YAML."""
        values = {
            address: {key: _readable(value) for key, value in sorted(attrs.items())}
            for address, attrs in sorted(self.values.items())
        }
        return {"values": values, "counts": dict(sorted(self.counts.items())), "outputs": self.outputs}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.inventory(), sort_keys=False, width=120, allow_unicode=True)


def _readable(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _resources(module: Any) -> Iterator[dict[str, Any]]:
    yield from module.resources.values()
    for child in module.child_modules.values():
        yield from _resources(child)


def _known(after: Any, unknown: Any) -> Any:
    """An output's planned value, with what is known only after apply marked UNKNOWN."""
    if unknown is True:
        return UNKNOWN
    if isinstance(unknown, dict):
        after = after if isinstance(after, dict) else {}
        return {k: _known(after.get(k), unknown.get(k, False)) for k in sorted(set(after) | set(unknown))}
    if isinstance(unknown, list) and isinstance(after, list):
        return [_known(a, u) for a, u in zip(after, unknown + [False] * (len(after) - len(unknown)), strict=False)]
    return after


def summarize(plan: tftest.TerraformPlanOutput) -> Summary:
    """The plan's managed resources (data sources are read, not planned) and its outputs."""
    summary = Summary()
    managed = [r for r in _resources(plan.root_module) if r.get("mode") == "managed"]
    summary.values = {r["address"]: r.get("values") or {} for r in managed}
    summary.counts = dict(sorted(Counter(r["type"] for r in managed).items()))
    for name, change in (plan._raw.get("output_changes") or {}).items():
        summary.outputs[name] = _known(change.get("after"), change.get("after_unknown", False))
    return summary


# -- comparison ---------------------------------------------------------------------------------------


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict | list) and isinstance(actual, str):
        try:
            actual = json.loads(actual)
        except ValueError:
            return False
    return bool(expected == actual)


def compare(expected: dict[str, Any], summary: Summary) -> list[str]:
    """Where the summary departs from the inventory, one line each; empty when it matches."""
    problems = []
    for address, attrs in (expected.get("values") or {}).items():
        if attrs == MISSING:
            if address in summary.values:
                problems.append(f"{address}: is planned, but the inventory says it must not be")
            continue
        if address not in summary.values:
            problems.append(f"{address}: is not in the plan")
            continue
        actual = summary.values[address]
        for key, want in (attrs or {}).items():
            if want == MISSING:
                if key in actual:
                    problems.append(f"{address}.{key}: expected unknown until apply, planned {actual[key]!r}")
            elif key not in actual:
                problems.append(f"{address}.{key}: unknown until apply, expected {want!r}")
            elif not _same(want, actual[key]):
                problems.append(f"{address}.{key}: planned {_readable(actual[key])!r}, expected {want!r}")
    if "counts" in expected:
        want_counts = expected["counts"] or {}
        for kind in sorted(set(want_counts) | set(summary.counts)):
            if want_counts.get(kind, 0) != summary.counts.get(kind, 0):
                planned, wanted = summary.counts.get(kind, 0), want_counts.get(kind, 0)
                problems.append(f"counts.{kind}: planned {planned}, expected {wanted}")
    for name, want in (expected.get("outputs") or {}).items():
        if name not in summary.outputs:
            problems.append(f"outputs.{name}: not an output of the module")
        elif not _same(want, summary.outputs[name]):
            problems.append(f"outputs.{name}: planned {summary.outputs[name]!r}, expected {want!r}")
    return problems


def _flat(text: str) -> str:
    return " ".join(text.split())


def compare_errors(expected: dict[str, list[str]], diagnostics: dict[str, list[str]]) -> list[str]:
    """Exactly the expected variables are rejected, each with messages containing the expected texts."""
    problems = []
    for where in sorted(set(expected) | set(diagnostics)):
        if where not in diagnostics:
            problems.append(f"{where}: accepted, but the inventory expects an error")
            continue
        if where not in expected:
            problems.append(f"{where}: unexpected error: {' | '.join(diagnostics[where])}")
            continue
        said = _flat(" ".join(diagnostics[where]))
        for text in expected[where] or []:
            if _flat(str(text)) not in said:
                problems.append(f"{where}: the error does not say {text!r}; it says: {said}")
    return problems


# -- planning -----------------------------------------------------------------------------------------


class PlanFailed(Exception):
    """The plan stopped with errors; `diagnostics` maps what was rejected (var.<name>) to its messages."""

    def __init__(self, diagnostics: dict[str, list[str]], output: str):
        text = "\n".join(f"{where}: {m}" for where, messages in diagnostics.items() for m in messages)
        super().__init__(text or output[-3000:])
        self.diagnostics = diagnostics
        self.output = output


class Planner:
    """Plans cases through fixture roots in a scratch folder.

    A fixture root is the module's own files, linked, beside tests/modules/fixture/providers.tf. Each
    module is initialised once. Modules with data sources plan against the project's sandbox, started on
    first need and stopped by close(); the others plan offline, with throwaway credentials.

    A plan is mostly the provider starting up, on one core. prefetch() plans the cases a run will ask for
    in the background, two modules at a time, and plan() then waits for its own case's result.
    """

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.home = scratch / "home"
        self.cli_config = cli_config(self.home)
        self._roots: dict[str, tftest.TerraformTest] = {}
        self._sandbox: sandbox.SandboxInfo | None = None
        self._started = False
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[Case, Future[dict[Case, Summary | BaseException]]] = {}

    def __enter__(self) -> Planner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._started:
            sandbox.down(self.home)
            self._started = False

    def prefetch(self, cases: list[Case], workers: int = 2) -> None:
        """Start planning `cases` in the background; a module's cases run in order, in one worker."""
        by_module: dict[str, list[Case]] = {}
        for case in cases:
            if case not in self._pending:
                by_module.setdefault(case.module, []).append(case)
        if not by_module:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="module-plan")
        for module_cases in by_module.values():
            future = self._pool.submit(self._plan_each, module_cases)
            for case in module_cases:
                self._pending[case] = future

    def _plan_each(self, cases: list[Case]) -> dict[Case, Summary | BaseException]:
        results: dict[Case, Summary | BaseException] = {}
        for case in cases:
            try:
                results[case] = self._plan_now(case)
            except Exception as exc:  # handed to the test that asks for this case
                results[case] = exc
        return results

    def _env(self, case: Case) -> dict[str, str]:
        cache = self.home / "plugin-cache" / case.module
        cache.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
        env.update(
            TF_CLI_CONFIG_FILE=str(self.cli_config),
            # A root of its own: without a lock file, init reinstalls into the plugin cache, which would pull
            # the provider from under a plan running in another root that shares the cache.
            TF_PLUGIN_CACHE_DIR=str(cache),
            TF_IN_AUTOMATION="1",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
        )
        if case.reads_aws:
            env.update(self.sandbox().terraform_env(REGION))
        else:
            env.update(
                AWS_ACCESS_KEY_ID="AKIAFIXTURE000000000",
                AWS_SECRET_ACCESS_KEY="fixture-secret",
                AWS_REGION=REGION,
                AWS_ENDPOINT_URL=OFFLINE_ENDPOINT,
            )
        env.update(go_runtime_env(env))  # as the tool runs Terraform
        return env

    def sandbox(self) -> sandbox.SandboxInfo:
        """The sandbox, started on first need (and again, with a warning, should it have stopped)."""
        with self._lock:
            if self._sandbox is not None and sandbox.read(self.home) is None:
                warnings.warn("the sandbox had stopped; starting it again", RuntimeWarning, stacklevel=2)
                self._sandbox = None
            if self._sandbox is None:
                self._sandbox, started = sandbox.up(self.home)
                self._started = self._started or started
            return self._sandbox

    def _provision(self, case: Case) -> None:
        if not case.scim_groups:
            return
        info = self.sandbox()

        def client(service: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=info.endpoint,
                region_name=REGION,
                aws_access_key_id=info.access_key,
                aws_secret_access_key=info.secret_key,
            )

        sandbox.provision_scim_groups(client, list(case.scim_groups))

    def _root(self, case: Case) -> tftest.TerraformTest:
        tf = self._roots.get(case.module)
        if tf is None:
            root = self.scratch / "roots" / case.module
            if root.exists():
                shutil.rmtree(root)
            root.mkdir(parents=True)
            for source in sorted((MODULES / case.module).glob("*.tf")):
                (root / source.name).symlink_to(source)
            for submodule in sorted(p for p in (MODULES / case.module).iterdir() if p.is_dir()):
                (root / submodule.name).symlink_to(submodule)  # what the module calls as ./<folder>
            (root / "fixture_providers.tf").symlink_to(PROVIDERS)
            tf = tftest.TerraformTest(str(root), cache_dir=str(self.scratch / "tftest-cache"))
            tf.env = self._env(case)
            tf.setup(input=False)
            self._roots[case.module] = tf
        tf.env = self._env(case)
        return tf

    def plan(self, case: Case) -> Summary:
        """Plan the case (or wait for its prefetched plan); raises PlanFailed if Terraform stops with errors."""
        future = self._pending.pop(case, None)
        if future is None:
            return self._plan_now(case)
        result = future.result()[case]
        if isinstance(result, BaseException):
            raise result
        return result

    def _plan_now(self, case: Case) -> Summary:
        tf = self._root(case)
        self._provision(case)
        try:
            # -json: on failure the diagnostics come one JSON object a line, unwrapped.
            plan = tf.plan(output=True, json_format=True, tf_var_file=str(case.tfvars))
        except tftest.TerraformTestError as exc:
            output = str(exc.args[0]) if exc.args else ""
            raise PlanFailed(_diagnostics(output), output) from None
        return summarize(plan)


def _diagnostics(output: str) -> dict[str, list[str]]:
    """Error diagnostics of a `-json` run, keyed by the variable they reject (or their summary)."""
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        start = line.find('{"@level":"error"')
        if start < 0:
            continue
        with contextlib.suppress(ValueError):
            diag = json.loads(line[start:]).get("diagnostic") or {}
            # A rejected variable's range points at its value in the tfvars file, whose line names it;
            # any other error is keyed by where it was raised.
            rng = diag.get("range") or {}
            filename = str(rng.get("filename", ""))
            assigned = _ASSIGNMENT.match((diag.get("snippet") or {}).get("code") or "")
            if filename.endswith(".tfvars") and assigned:
                where = f"var.{assigned.group(1)}"
            elif filename:
                where = f"{Path(filename).name}:{rng.get('start', {}).get('line')}"
            else:
                where = diag.get("summary", "error")
            detail = diag.get("detail", "").split("\n\nThis was checked by")[0]
            found.setdefault(where, []).append(_flat(detail) or diag.get("summary", ""))
    return found


@contextlib.contextmanager
def planner(scratch: Path | None = None) -> Iterator[Planner]:
    """A Planner in `scratch`, or in a temporary folder removed afterwards."""
    with contextlib.ExitStack() as stack:
        if scratch is None:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="securecart-modules-")))
        yield stack.enter_context(Planner(scratch))


def report(case: Case, problems: list[str], summary: Summary | None) -> str:
    """The message a failing case prints: what differs, the whole summary, and how to regenerate."""
    lines = [f"{case.id}: the plan differs from {case.inventory.relative_to(ROOT)}:"]
    lines += [f"  - {p}" for p in problems]
    if summary is not None:
        lines += ["", "The plan's summary:", summary.to_yaml()]
    lines += [
        "If the module changed on purpose, regenerate the inventory, then trim it and check each value by hand:",
        f"  {case.regenerate_command()}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.modules.inventory", description=__doc__.split("\n")[0])
    parser.add_argument("module", help="a folder under modules/")
    parser.add_argument("case", help="a case listed in tests/modules/<module>/tftest.yaml")
    parser.add_argument("--write", action="store_true", help="overwrite the case's inventory with the summary")
    args = parser.parse_args(argv)
    cases = {c.name: c for c in load_cases(args.module)}
    if args.case not in cases:
        parser.error(f"no case {args.case!r} in tests/modules/{args.module}/tftest.yaml (cases: {sorted(cases)})")
    case = cases[args.case]
    with planner() as p:
        try:
            summary = p.plan(case)
        except PlanFailed as exc:
            errors = dict(sorted(exc.diagnostics.items()))
            text = yaml.safe_dump({"errors": errors}, sort_keys=False, width=120, allow_unicode=True)
        else:
            text = summary.to_yaml()
    header = f"# {case.id}: written by python -m tests.modules.inventory; trim it and check every value.\n"
    if args.write:
        case.inventory.write_text(header + text)
        print(f"wrote {case.inventory.relative_to(ROOT)}", file=sys.stderr)
    else:
        sys.stdout.write(header + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
