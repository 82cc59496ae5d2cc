"""Rendered roots fit the modules they call: a renamed module variable or attribute fails here, not at apply."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.golden.regenerate import render_example
from tests.modules import readme
from tests.modules.interfaces import Type, check_root, conforms, parse_type, read_folder
from tests.modules.inventory import MODULES


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_example(tmp_path_factory.mktemp("interfaces") / "build")


def _stacks(out: Path) -> list[Path]:
    return sorted(p.parent for p in out.glob("*/*/main.tf") if p.parent.parent.name != "modules")


def test_every_rendered_root_fits_its_modules(rendered: Path) -> None:
    stacks = _stacks(rendered)
    assert {s.name for s in stacks} >= {"organization", "security", "identity-center", "access-dev", "access-prod"}
    problems = [p for stack in stacks for p in check_root(stack, rendered / "modules")]
    assert problems == [], "\n".join(problems)


def _mutated_copy(rendered: Path, tmp_path: Path, module: str, old: str, new: str) -> Path:
    copy = tmp_path / "build"
    shutil.copytree(rendered, copy)
    variables = copy / "modules" / module / "variables.tf"
    text = variables.read_text()
    assert old in text
    variables.write_text(text.replace(old, new, 1))
    return copy


def test_a_renamed_module_variable_is_caught(rendered: Path, tmp_path: Path) -> None:
    copy = _mutated_copy(rendered, tmp_path, "account-iam", 'variable "policies" {', 'variable "documents" {')
    problems = check_root(copy / "dev" / "access-dev", copy / "modules")
    assert any("passes 'policies', which the module does not declare" in p for p in problems), problems


def test_a_renamed_object_attribute_is_caught(rendered: Path, tmp_path: Path) -> None:
    copy = _mutated_copy(
        rendered, tmp_path, "organization", "    email             = string\n", "    mail              = string\n"
    )
    problems = check_root(copy / "dev" / "organization", copy / "modules")
    assert any("lacks 'mail', which the module requires" in p for p in problems), problems
    assert any(".email: not an attribute of the module's type" in p for p in problems), problems


def test_a_new_required_module_variable_is_caught(rendered: Path, tmp_path: Path) -> None:
    owner = 'variable "owner" {\n  type = string\n}\n\nvariable "tags" {'
    copy = _mutated_copy(rendered, tmp_path, "security-baseline", 'variable "tags" {', owner)
    problems = check_root(copy / "dev" / "security", copy / "modules")
    assert any("does not pass 'owner', which the module requires" in p for p in problems), problems


def test_type_expressions_parse_with_optional_defaults() -> None:
    parsed = parse_type('map(object({ path = optional(string, "/"), tags = optional(map(string), {}), doc = string }))')
    assert parsed.kind == "map" and parsed.element is not None
    assert [(n, str(t), o) for n, t, o in parsed.element.attributes] == [
        ("path", "string", True),
        ("tags", "map(string)", True),
        ("doc", "string", False),
    ]
    assert conforms({"a": {"doc": "{}"}}, parsed, "var.x") == []
    assert conforms({"a": {"path": "/"}}, parsed, "var.x") == ["var.x['a']: lacks 'doc', which the module requires"]
    wrong = conforms({"a": {"doc": ["x"]}}, parsed, "var.x")
    assert wrong == ["var.x['a'].doc: a list where the module takes a string"]
    assert conforms([1], Type("map", element=Type("string")), "v") == ["v: a list where the module takes a map"]


@pytest.mark.parametrize("module", sorted(p.name for p in MODULES.iterdir() if (p / "main.tf").is_file()))
def test_module_files_say_what_they_are_for_and_describe_their_interface(module: str) -> None:
    folder = MODULES / module
    for path in sorted(folder.glob("*.tf")):
        first = path.read_text().splitlines()[0]
        assert re.match(r"# \S", first), f"{module}/{path.name}: the first line should say what the file is for"
    files = read_folder(folder)
    assert files.variables and files.outputs
    undescribed = [f"var.{v}" for v, d in files.variables.items() if not d.description]
    undescribed += [f"output.{o}" for o, d in files.outputs.items() if not d.description]
    assert undescribed == [], f"{module}: describe {', '.join(undescribed)}"
    # count only switches a resource on or off; collections use for_each over maps with stable keys.
    assert not re.search(r"count\s*=\s*length\(", files.text), f"{module}: use for_each over a map, not count"


@pytest.mark.parametrize("module", readme.modules())
def test_module_readme_tables_are_current(module: str) -> None:
    path = MODULES / module / "README.md"
    assert path.is_file() and path.read_text() == readme.rendered(module), (
        f"modules/{module}/README.md is out of date; run .venv/bin/python -m tests.modules.readme"
    )


@pytest.mark.parametrize("module", readme.modules())
def test_module_readme_example_is_its_end_to_end_root(module: str) -> None:
    block = readme.example(module)
    assert block is not None, f"{module} has no end-to-end root: tests/modules/{module}/e2e/main.tf"
    assert block in (MODULES / module / "README.md").read_text(), (
        f"modules/{module}/README.md's example differs from tests/modules/{module}/e2e/; "
        "run .venv/bin/python -m tests.modules.readme"
    )
