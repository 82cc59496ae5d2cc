"""securecart-tf works from a wheel: templates, modules and the example ship inside the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0 and "No module named 'hatchling'" in built.stderr:
        built = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
            capture_output=True,
            text=True,
            check=False,
        )
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("securecart_tf-*.whl")
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    return target


def test_the_wheel_carries_templates_modules_and_the_example(unpacked_wheel: Path) -> None:
    data = unpacked_wheel / "securecart_tf" / "_data"
    for module in (p.name for p in (ROOT / "modules").iterdir() if p.is_dir()):
        assert (data / "modules" / module / "main.tf").is_file(), module
    for template in (ROOT / "templates").glob("*.j2"):
        assert (data / "templates" / template.name).read_bytes() == template.read_bytes()
    assert (data / "example" / "access-matrix.yaml").read_bytes() == (ROOT / "access-matrix.yaml").read_bytes()
    assert {p.name for p in (data / "example" / "environments").iterdir()} == {"dev.yaml", "staging.yaml", "prod.yaml"}
    schema = Path("securecart_tf") / "report" / "report.schema.json"  # what `report --schema` prints
    assert (unpacked_wheel / schema).read_bytes() == (ROOT / schema).read_bytes()


def test_init_and_generate_from_the_installed_package_alone(unpacked_wheel: Path, tmp_path: Path) -> None:
    wheel_only = {"PYTHONPATH": str(unpacked_wheel)}
    env = dict(os.environ, **wheel_only)
    project = tmp_path / "fresh"
    cwd = tmp_path  # not the checkout: nothing may be found through the source tree

    probe = subprocess.run(
        [sys.executable, "-c", "import securecart_tf, sys; print(securecart_tf.__file__)"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.startswith(str(unpacked_wheel))
    made = run_cli(cwd, "init", str(project), env=wheel_only)
    assert made.returncode == 0, made.stderr
    schema = json.loads((project / "access-matrix.schema.json").read_text())
    assert schema["title"] == "securecart-tf access matrix"
    generated = run_cli(project, "generate", "--out", "out", env=wheel_only)
    assert generated.returncode == 0, generated.stderr
    manifest = json.loads((project / "out" / "dev" / "manifest.json").read_text())
    assert next(s["name"] for s in manifest["stacks"]) == "organization"
    assert (project / "out" / "modules" / "iam-role" / "main.tf").is_file()
    again = run_cli(cwd, "init", str(project), env=wheel_only)
    assert again.returncode == 1 and "already has" in again.stderr
