"""Each version is declared once, and every place that repeats it agrees: the tool's, Terraform's, the provider's.

- The tool's version is `__version__` in securecart_tf/__init__.py; pyproject.toml builds the package
  metadata from it (reading it there costs `--version` nothing, where importlib.metadata would).
- Terraform's and the AWS provider's are in versions.tf at the repository root. Each module's versions.tf,
  each module's end-to-end root (and the README example made from it), the stacks the renderer writes and
  the runner's oldest accepted Terraform must say the same.

The expected values are read from those two files as text, never taken from the code under test.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

from securecart_tf.errors import TerraformError
from securecart_tf.run.terraform import terraform_version
from tests.helpers import ROOT, run_cli

DECLARED = ROOT / "versions.tf"


@dataclass(frozen=True)
class Versions:
    terraform: str
    """The `required_version` constraint."""
    aws: str
    """The hashicorp/aws provider's `version` constraint."""


def versions_in(path: Path) -> Versions:
    """The versions a file's one `terraform { … }` block asks for (a Markdown file's HCL example counts)."""
    text = path.read_text(encoding="utf-8")
    terraform = re.findall(r'^\s*required_version\s*=\s*"([^"]*)"', text, re.M)
    providers = [
        block
        for block in re.findall(r"^\s*aws\s*=\s*\{([^}]*)\}", text, re.M)
        if re.search(r'source\s*=\s*"hashicorp/aws"', block)
    ]
    assert len(terraform) == 1 and len(providers) == 1, f"{path}: expected one terraform block asking for hashicorp/aws"
    (aws,) = re.findall(r'version\s*=\s*"([^"]*)"', providers[0])
    return Versions(terraform[0], aws)


def _floor(constraint: str) -> tuple[int, int, int]:
    """The lowest version a `>= X.Y.Z` constraint allows."""
    match = re.fullmatch(r">=\s*(\d+)\.(\d+)\.(\d+)", constraint)
    assert match, f"{DECLARED}: required_version should be '>= X.Y.Z', not {constraint!r}"
    return int(match[1]), int(match[2]), int(match[3])


DECLARED_VERSIONS = versions_in(DECLARED)


def _relative(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


MODULE_FILES = _relative(sorted((ROOT / "modules").glob("*/versions.tf")))
E2E_ROOTS = _relative(sorted((ROOT / "tests" / "modules").glob("*/e2e/main.tf")))
READMES = _relative(sorted(p for p in (ROOT / "modules").glob("*/README.md") if "required_version" in p.read_text()))
RENDERED = _relative(sorted((ROOT / "tests" / "golden").rglob("providers.tf")))


def test_a_provider_block_is_read_in_any_order_and_a_different_constraint_disagrees(tmp_path: Path) -> None:
    other = tmp_path / "versions.tf"
    other.write_text(
        'terraform {\n  required_providers {\n    aws = {\n      version = "~> 5.0"\n'
        '      source  = "hashicorp/aws"\n    }\n  }\n  required_version = ">= 1.9.0"\n}\n'
    )
    assert versions_in(other) == Versions(">= 1.9.0", "~> 5.0") != DECLARED_VERSIONS


def test_every_module_has_its_versions_file_and_every_place_is_found() -> None:
    modules = sorted(p.name for p in (ROOT / "modules").iterdir() if p.is_dir())
    assert [Path(f).parent.name for f in MODULE_FILES] == modules
    assert E2E_ROOTS and READMES and RENDERED


@pytest.mark.parametrize("where", MODULE_FILES + E2E_ROOTS + READMES)
def test_modules_and_their_roots_ask_for_the_declared_versions(where: str) -> None:
    assert versions_in(ROOT / where) == DECLARED_VERSIONS, f"{where} disagrees with {DECLARED.name}"


@pytest.mark.parametrize("where", RENDERED)
def test_the_rendered_stacks_ask_for_the_declared_versions(where: str) -> None:
    # tests/golden/test_golden.py holds the renderer to these files; regenerate them after a change
    assert versions_in(ROOT / where) == DECLARED_VERSIONS, f"{where} disagrees with {DECLARED.name}"


def _fake_terraform(folder: Path, version: tuple[int, int, int]) -> str:
    """A stand-in `terraform` that only answers `version -json`, with `version`."""
    text = ".".join(map(str, version))
    binary = folder / f"terraform-{text}"
    binary.write_text(f"#!{sys.executable}\nimport json\nprint(json.dumps({{'terraform_version': '{text}'}}))\n")
    binary.chmod(0o755)
    return str(binary)


def test_the_runner_accepts_the_declared_oldest_terraform_and_nothing_older(tmp_path: Path) -> None:
    major, minor, patch = _floor(DECLARED_VERSIONS.terraform)
    assert terraform_version(_fake_terraform(tmp_path, (major, minor, patch))) == (major, minor, patch)
    older = (major, minor - 1, 99) if minor else (major - 1, 99, 99)
    with pytest.raises(TerraformError, match="too old"):
        terraform_version(_fake_terraform(tmp_path, older))


def test_the_readme_names_the_declared_oldest_terraform() -> None:
    major, minor, _ = _floor(DECLARED_VERSIONS.terraform)
    assert f"Terraform {major}.{minor}+" in (ROOT / "README.md").read_text(encoding="utf-8")


def _declared_tool_version() -> str:
    match = re.search(r'^__version__ = "([^"]+)"$', (ROOT / "securecart_tf" / "__init__.py").read_text(), re.M)
    assert match, "securecart_tf/__init__.py should set __version__"
    return match[1]


def test_pyproject_takes_the_version_from_the_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "securecart_tf/__init__.py"


def test_the_installed_metadata_carries_the_declared_version() -> None:
    # written when the package is installed: after changing the version, reinstall (pip install -e .)
    assert metadata.version("securecart-tf") == _declared_tool_version()


def test_version_prints_the_declared_version(tmp_path: Path) -> None:
    shown = run_cli(tmp_path, "--version", timeout=60)
    assert shown.returncode == 0 and shown.stdout.strip() == f"securecart-tf {_declared_tool_version()}", shown
