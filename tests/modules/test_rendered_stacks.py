"""Every stack the SecureCart example renders (with one customization added) initialises and validates with the
real AWS provider, and the whole render is `terraform fmt` clean."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from securecart_tf.run.terraform import cli_config, find_terraform, go_runtime_env
from tests.golden.regenerate import render_customized_example

pytestmark = pytest.mark.modules
# Each validate starts the provider (a few CPU-seconds); two at a time fill the two cores we have.
WORKERS = 2


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The example with one customization added: its access stacks also validate the module they copy, at no
    # extra Terraform process.
    rendered = render_customized_example(tmp_path_factory.mktemp("rendered") / "build")
    assert len(list(rendered.glob("*/*/customizations"))) == 3
    return rendered


@pytest.fixture(scope="module")
def terraform_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("terraform-home")


@pytest.fixture(scope="module")
def terraform_env(terraform_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env["TF_CLI_CONFIG_FILE"] = str(cli_config(terraform_home))
    env["TF_IN_AUTOMATION"] = "1"
    env.update(go_runtime_env(env))  # as the tool runs Terraform
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def _init_and_validate(stack: Path, env: dict[str, str], caches: Path) -> str | None:
    terraform = find_terraform()
    # A plugin cache of its own: without a lock file, init reinstalls into the cache, which would pull the
    # provider from under a validate running in another stack that shares it.
    cache = caches / f"{stack.parent.name}-{stack.name}"
    cache.mkdir(parents=True, exist_ok=True)
    env = {**env, "TF_PLUGIN_CACHE_DIR": str(cache)}
    for args in (
        [terraform, "init", "-backend=false", "-input=false", "-no-color"],
        [terraform, "validate", "-no-color"],
    ):
        proc = _run(args, stack, env)
        if proc.returncode != 0:
            return f"{stack.parent.name}/{stack.name}: terraform {args[1]} failed:\n{proc.stdout}{proc.stderr}"
    return None


def test_every_rendered_stack_initialises_and_validates(
    rendered: Path, terraform_env: dict[str, str], terraform_home: Path
) -> None:
    # The manifests say which stacks there are; each must be a folder with a root in it.
    stacks = [
        rendered / manifest.parent.name / entry["name"]
        for manifest in sorted(rendered.glob("*/manifest.json"))
        for entry in json.loads(manifest.read_text())["stacks"]
    ]
    assert len(stacks) >= 9, stacks
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = pool.map(lambda s: _init_and_validate(s, terraform_env, terraform_home / "plugin-caches"), stacks)
        problems = [f for f in results if f]
    assert problems == [], "\n\n".join(problems)


def test_the_render_is_terraform_fmt_clean(rendered: Path, terraform_env: dict[str, str]) -> None:
    args = [find_terraform(), "fmt", "-check", "-recursive", "-diff", "-no-color", str(rendered)]
    proc = _run(args, rendered, terraform_env)
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}{proc.stderr}"
