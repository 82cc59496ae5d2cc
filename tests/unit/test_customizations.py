"""Customizations: a bad one is refused at its line in the matrix (and the module file's), a good one renders
as a module block in each targeted account's access stack, and a revision carries its module's source.

Expected lines are counted in the text each test writes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from securecart_tf.config.load import load_project
from securecart_tf.errors import ConfigErrors, InputError
from securecart_tf.model import build_model
from securecart_tf.render import render
from securecart_tf.run.guards import customizations_reaching
from securecart_tf.run.revision import revision_of, snapshot
from securecart_tf.run.terraform import ResourceChange
from tests.helpers import write_project

MATRIX = """\
version: 1
organization:
  name: shop
  management_account: management
  units:
    - name: Workloads
accounts:
  - {name: management, email: mgmt@shop.example, ou: /}
  - {name: alpha, email: alpha@shop.example, ou: Workloads, environment: dev}
  - {name: beta, email: beta@shop.example, ou: Workloads, environment: prod}
customizations:
  - name: logs
    source: ./customizations/bucket
    targets: {ous: [Workloads]}
    inputs:
      bucket: "logs-{account}-{account_id}"
      tags: {stage: "{environment}"}
"""
SOURCE_LINE = 13
BUCKET_INPUT_LINE = 16

ENVIRONMENTS = {
    "dev": "name: dev\nstacks: [organization]\naccounts: [management, alpha]\napproval: none\n",
    "prod": "name: prod\npromotes_from: dev\naccounts: [beta]\napproval: always\n",
}

BUCKET = """\
# A bucket with the account's name in it.
variable "bucket" {
  description = "The bucket's name; { and } in text are not structure."
  type        = string
}

variable "tags" {
  type = map(string)
  default = {
    "a" = "${upper("}")}"
  }
}

resource "aws_s3_bucket" "this" {
  bucket = var.bucket
  tags   = var.tags
  /* a } in a comment */
}
"""
BUCKET_VARIABLE_LINE = 2


def _project(tmp_path: Path, matrix: str = MATRIX, module: str | None = BUCKET) -> Path:
    files = {"customizations/bucket/main.tf": module} if module is not None else {}
    return write_project(tmp_path / "project", matrix, ENVIRONMENTS, files)


def _refused(project: Path) -> list[InputError]:
    with pytest.raises((ConfigErrors, InputError)) as raised:
        load_project(project / "access-matrix.yaml")
    error = raised.value
    return error.errors if isinstance(error, ConfigErrors) else [error]


def _one(project: Path) -> InputError:
    (error,) = _refused(project)
    assert error.location is not None
    return error


# ---------------------------------------------------------------------------------------------- bad input


def test_a_missing_module_folder_is_refused_at_its_source_line(tmp_path: Path) -> None:
    error = _one(_project(tmp_path, module=None))
    assert error.location is not None
    assert (error.location.file.name, error.location.line) == ("access-matrix.yaml", SOURCE_LINE)
    assert "module folder './customizations/bucket' does not exist" in error.message


def test_a_registry_address_without_a_version_is_told_to_add_one(tmp_path: Path) -> None:
    matrix = MATRIX.replace("./customizations/bucket", "terraform-aws-modules/s3-bucket/aws")
    error = _one(_project(tmp_path, matrix))
    assert error.location is not None and error.location.line == SOURCE_LINE
    assert error.hint is not None and "version:" in error.hint


def test_an_unknown_input_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    error = _one(_project(tmp_path, MATRIX.replace("      bucket:", "      buckett:")))
    assert error.location is not None
    assert (error.location.file.name, error.location.line) == ("access-matrix.yaml", BUCKET_INPUT_LINE)
    assert "input 'buckett' is not a variable of module customizations/bucket" in error.message
    assert "customizations/bucket/main.tf" in error.message
    assert error.hint == "did you mean 'bucket'?"


def test_a_missing_required_input_is_refused_naming_where_the_variable_is_declared(tmp_path: Path) -> None:
    matrix = MATRIX.replace('      bucket: "logs-{account}-{account_id}"\n', "")
    error = _one(_project(tmp_path, matrix))
    assert error.location is not None and error.location.file.name == "access-matrix.yaml"
    assert error.location.line == BUCKET_INPUT_LINE - 1  # the `inputs:` key
    assert "missing input 'bucket'" in error.message
    assert f"customizations/bucket/main.tf:{BUCKET_VARIABLE_LINE}" in error.message


@pytest.mark.parametrize(
    ("broken", "line", "words"),
    [
        ('variable "bucket" {\n  type = string\n', 1, "'{' is never closed"),
        ('variable "bucket" {\n  description = "no end\n}\n', 2, "string is never closed"),
        ('variable "bucket" {\n  type = string\n}\n}\n', 4, "'}' closes nothing"),
        ('variable "bucket" {\n  default = [1, 2}\n}\n', 2, "'}' closes '['"),
        ('variable "bucket" {\n  type = string\n}\n/* never closed\n', 4, "comment is never closed"),
        ("locals {\n  text = <<EOT\nhello\n}\n", 2, "heredoc <<EOT is never closed"),
    ],
)
def test_a_module_with_an_hcl_syntax_error_is_refused_at_the_module_line(
    tmp_path: Path, broken: str, line: int, words: str
) -> None:
    error = _one(_project(tmp_path, module=broken))
    assert error.location is not None
    assert (error.location.file.name, error.location.line) == ("main.tf", line)
    assert "HCL syntax error in main.tf" in error.message and words in error.message
    assert f"access-matrix.yaml:{SOURCE_LINE}" in error.message  # which customization uses the module


@pytest.mark.parametrize("source", ["../elsewhere/bucket", "/srv/modules/bucket"])
def test_a_source_outside_the_project_folder_is_refused(tmp_path: Path, source: str) -> None:
    (tmp_path / "elsewhere" / "bucket").mkdir(parents=True)
    (tmp_path / "elsewhere" / "bucket" / "main.tf").write_text(BUCKET)
    error = _one(_project(tmp_path, MATRIX.replace("./customizations/bucket", source)))
    assert error.location is not None and error.location.line == SOURCE_LINE
    assert error.message.startswith(f"module folder '{source}'")
    assert "outside the project folder" in error.message or "not relative" in error.message


def test_a_symlink_out_of_the_project_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "main.tf").write_text(BUCKET)
    project = _project(tmp_path, module=None)
    (project / "customizations").mkdir()
    (project / "customizations" / "bucket").symlink_to(tmp_path / "elsewhere")
    error = _one(project)
    assert error.location is not None and error.location.line == SOURCE_LINE
    assert "symlink outside the project folder" in error.message


def test_a_misspelt_placeholder_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    error = _one(_project(tmp_path, MATRIX.replace("{account_id}", "{acount_id}")))
    assert error.location is not None and error.location.line == BUCKET_INPUT_LINE
    assert "{acount_id}" in error.message and error.hint == "did you mean {account_id}?"


def test_a_module_that_configures_its_own_provider_is_refused(tmp_path: Path) -> None:
    error = _one(_project(tmp_path, module=BUCKET + '\nprovider "aws" {\n  region = "eu-west-1"\n}\n'))
    assert error.location is not None and error.location.line == SOURCE_LINE
    assert "configures a provider" in error.message and "main.tf:20" in error.message


def test_a_version_on_a_local_folder_is_refused(tmp_path: Path) -> None:
    matrix = MATRIX.replace("    targets: {ous", "    version: 1.0.0\n    targets: {ous")
    error = _one(_project(tmp_path, matrix))
    assert error.location is not None and error.location.line == SOURCE_LINE - 1  # the entry
    assert "a local folder has no version" in error.message


# ------------------------------------------------------------------------------------------------ render


def test_each_targeted_account_gets_the_module_with_its_own_inputs(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path) / "access-matrix.yaml")
    model = build_model(project)
    out = tmp_path / "build"
    render(model, list(project.environments.values()), out)
    for env, account in (("dev", "alpha"), ("prod", "beta")):
        folder = out / env / f"access-{account}"
        main = (folder / "main.tf").read_text()
        assert 'module "customization-logs" {' in main
        assert 'source = "./customizations/logs"' in main  # the copy, by the customization's name
        assert 'bucket = var.customizations["logs"]["bucket"]' in main
        assert (folder / "customizations" / "logs" / "main.tf").read_text() == BUCKET  # self-contained
        tfvars = json.loads((folder / "terraform.tfvars.json").read_text())
        account_id = tfvars["account_id"]  # the account the stack's provider assumes a role in
        assert tfvars["customizations"]["logs"] == {
            "bucket": f"logs-{account}-{account_id}",
            "tags": {"stage": env},
        }
    assert not (out / "dev" / "access-management").exists()  # not targeted, and nothing else of its own


def test_a_removed_customization_leaves_the_rendered_stack(tmp_path: Path) -> None:
    root = _project(tmp_path)
    out = tmp_path / "build"
    project = load_project(root / "access-matrix.yaml")
    render(build_model(project), list(project.environments.values()), out)
    role = """\
roles:
  - name: Reader
    audience: platform
    accounts: [alpha]
    trust: {principals: [{account: management}]}
    managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
"""
    (root / "access-matrix.yaml").write_text(MATRIX[: MATRIX.index("customizations:")] + role)
    project = load_project(root / "access-matrix.yaml")
    render(build_model(project), list(project.environments.values()), out)
    folder = out / "dev" / "access-alpha"
    assert "customization" not in (folder / "main.tf").read_text()
    assert "customizations" not in json.loads((folder / "terraform.tfvars.json").read_text())
    assert not (folder / "customizations").exists()
    assert not (out / "prod" / "access-beta").exists()  # it held only the customization


def test_a_registry_module_renders_with_its_version_and_no_copy(tmp_path: Path) -> None:
    matrix = MATRIX.replace("./customizations/bucket", "terraform-aws-modules/s3-bucket/aws").replace(
        "    targets: {ous", '    version: "~> 4.1"\n    targets: {ous'
    )
    root = _project(tmp_path, matrix, module=None)
    project = load_project(root / "access-matrix.yaml")
    render(build_model(project), list(project.environments.values()), tmp_path / "build")
    folder = tmp_path / "build" / "dev" / "access-alpha"
    main = (folder / "main.tf").read_text()
    assert 'source  = "terraform-aws-modules/s3-bucket/aws"\n  version = "~> 4.1"\n' in main
    assert not (folder / "customizations").exists()


# ------------------------------------------------------------------------------------- revision, reach


def test_the_revision_covers_the_module_and_its_snapshot_re_renders_byte_for_byte(tmp_path: Path) -> None:
    root = _project(tmp_path)
    project = load_project(root / "access-matrix.yaml")
    revision = revision_of(project)
    stored = snapshot(project, revision, tmp_path / "revisions")
    assert (stored / "inputs" / "customizations" / "bucket" / "main.tf").read_text() == BUCKET

    render(build_model(project), list(project.environments.values()), tmp_path / "now")
    (root / "customizations" / "bucket" / "main.tf").write_text(BUCKET.replace("A bucket", "One bucket"))
    assert revision_of(load_project(root / "access-matrix.yaml")) != revision
    shutil.rmtree(root)  # a rollback has only the snapshot

    old = load_project(stored / "inputs" / "access-matrix.yaml")
    render(build_model(old), list(old.environments.values()), tmp_path / "again")
    before = sorted(p.relative_to(tmp_path / "now") for p in (tmp_path / "now").rglob("*") if p.is_file())
    after = sorted(p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*") if p.is_file())
    assert before == after
    for rel in before:
        assert (tmp_path / "now" / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes(), rel


def test_a_change_to_a_customization_spanning_stages_is_noted_as_reaching_them(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path) / "access-matrix.yaml")
    stack = build_model(project).stacks["access-alpha"]
    change = ResourceChange("module.customization-logs.aws_s3_bucket.this", "create", "aws_s3_bucket")
    (note,) = customizations_reaching(stack, [change], "dev")
    assert note.startswith("customization 'logs' reaches dev, prod:") and "prod receive it" in note
    other = ResourceChange('module.role["Reader"].aws_iam_role.this', "create", "aws_iam_role")
    assert customizations_reaching(stack, [other], "dev") == []


def test_a_customization_within_one_stage_is_not_noted(tmp_path: Path) -> None:
    matrix = MATRIX.replace("{ous: [Workloads]}", "{accounts: [alpha]}")
    project = load_project(_project(tmp_path, matrix) / "access-matrix.yaml")
    stack = build_model(project).stacks["access-alpha"]
    change = ResourceChange("module.customization-logs.aws_s3_bucket.this", "create", "aws_s3_bucket")
    assert customizations_reaching(stack, [change], "dev") == []


def test_variables_declared_in_terraform_json_syntax_are_read(tmp_path: Path) -> None:
    root = _project(tmp_path, module='resource "null_resource" "x" {}\n')
    variables = {"variable": {"bucket": {"type": "string"}, "tags": {"default": {}}}}
    (root / "customizations" / "bucket" / "variables.tf.json").write_text(json.dumps(variables))
    project = load_project(root / "access-matrix.yaml")
    module = project.modules["customizations/bucket"]
    assert {n: v.required for n, v in module.variables.items()} == {"bucket": True, "tags": False}
