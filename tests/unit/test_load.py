"""Loading the matrix, environment files and policy files into typed models, and the exported JSON Schema.

Expected lines are counted in the text each test writes; expected words are the user's, not the code's.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from securecart_tf.config import load
from securecart_tf.config.environments import Environment
from securecart_tf.config.load import load_environment, load_matrix, load_project
from securecart_tf.config.schema import AccessMatrix, export_json_schema
from securecart_tf.errors import ConfigErrors, InputError
from tests.conftest import EXAMPLE_MATRIX, ROOT

MATRIX = """\
version: 1
organization:
  name: shop
  management_account: management
  units:
    - name: WorkloadsOU
accounts:
  - name: management
    email: aws-management@shop.example
    ou: /
  - name: dev
    email: aws-dev@shop.example
    ou: WorkloadsOU
    environment: dev
"""


def line_of(text: str, needle: str) -> int:
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert len(hits) == 1, f"{needle!r} occurs {len(hits)} times"
    return hits[0]


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder / "access-matrix.yaml"


def errors_of(matrix_text: str, tmp_path: Path, **files: str) -> list[InputError]:
    matrix = write(tmp_path, {"access-matrix.yaml": matrix_text, **files})
    with pytest.raises(InputError) as caught:
        load_project(matrix)
    err = caught.value
    return err.errors if isinstance(err, ConfigErrors) else [err]


def the_error(matrix_text: str, tmp_path: Path, **files: str) -> InputError:
    errors = errors_of(matrix_text, tmp_path, **files)
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


def test_the_base_matrix_here_is_valid(tmp_path: Path) -> None:
    """The control for every test below: without the one change each makes, the matrix loads."""
    matrix, positions = load_matrix(write(tmp_path, {"access-matrix.yaml": MATRIX}))
    assert [a.name for a in matrix.accounts] == ["management", "dev"]
    assert positions.at(("accounts", 1, "ou")).line == line_of(MATRIX, "ou: WorkloadsOU")


# ---- messages for shapes ----------------------------------------------------------------------


def test_an_unknown_key_suggests_the_close_one_and_drops_the_missing_key_it_explains(tmp_path: Path) -> None:
    text = MATRIX.replace("    email: aws-dev@shop.example", "    emali: aws-dev@shop.example")
    err = the_error(text, tmp_path)
    assert err.message == "unknown key 'emali' in accounts[1]"
    assert err.hint == "did you mean 'email'?"
    assert err.location is not None and err.location.line == line_of(text, "emali:")


def test_an_unknown_key_far_from_any_lists_the_allowed_keys_and_the_missing_one_stays(tmp_path: Path) -> None:
    text = MATRIX.replace("    email: aws-dev@shop.example", "    contact: aws-dev@shop.example")
    errors = errors_of(text, tmp_path)
    assert [e.message for e in errors] == [
        "missing required key 'email' in accounts[1]",
        "unknown key 'contact' in accounts[1]",
    ]
    assert errors[1].hint is not None and errors[1].hint.startswith(
        "allowed keys: access_role_exists, closing, description, email, environment"
    )


def test_errors_come_in_file_order(tmp_path: Path) -> None:
    text = MATRIX.replace("name: shop", "name: Shop!").replace("ou: WorkloadsOU", "ou: /WorkloadsOU")
    errors = errors_of(text, tmp_path)
    assert [e.location.line for e in errors if e.location] == [line_of(text, "Shop!"), line_of(text, "/WorkloadsOU")]


@pytest.mark.parametrize(
    "old, new, words",
    [
        ("name: shop", "name: Shop_Co", "is not an organization name"),
        ("email: aws-dev@shop.example", "email: aws-dev.shop.example", "is not an email address"),
        ("ou: WorkloadsOU", "ou: WorkloadsOU/", "is not an OU path"),
        ("environment: dev", "environment: Dev", "is not an environment name"),
        ("management_account: management", "management_account: Management", "is not an account name"),
    ],
)
def test_a_pattern_mismatch_is_explained_in_words_not_as_a_regex(
    tmp_path: Path, old: str, new: str, words: str
) -> None:
    text = MATRIX.replace(old, new)
    err = the_error(text, tmp_path)
    assert words in err.message
    assert not re.search(r"[\^$\\]", err.message), err.message
    assert err.location is not None and err.location.line == line_of(text, new)


def _patterns(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        if isinstance(schema.get("pattern"), str):
            found.add(schema["pattern"])
        for value in schema.values():
            found |= _patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= _patterns(value)
    return found


def test_every_pattern_in_the_schema_has_words() -> None:
    patterns = _patterns(AccessMatrix.model_json_schema()) | _patterns(Environment.model_json_schema())
    missing = sorted(patterns - set(load._PATTERN_WORDS))
    assert missing == [], "add these patterns to load._PATTERN_WORDS"


@pytest.mark.parametrize(
    "old, new, message, hint",
    [
        (
            "    ou: WorkloadsOU\n",
            "    ou: WorkloadsOU\n    id: 111122223333\n",
            "expected text, got 111122223333",
            "quotes",
        ),
        ("    ou: WorkloadsOU\n", "    ou: WorkloadsOU\n    networking: perhaps\n", "expected true or false", None),
        ("accounts:\n", "accounts: prod\nx:\n", "accounts: expected a list, got 'prod'", "write a list"),
        ("organization:\n", "organization: []\nx:\n", "organization: expected a mapping, got a list", None),
        ("version: 1", "version: 2", "version: expected 1, got 2", None),
    ],
    ids=["number-for-text", "bool", "text-for-list", "list-for-mapping", "literal"],
)
def test_wrong_types_name_what_was_expected_and_what_was_found(
    tmp_path: Path, old: str, new: str, message: str, hint: str | None
) -> None:
    errors = errors_of(MATRIX.replace(old, new, 1), tmp_path)
    matching = [e for e in errors if message in e.message]
    assert matching, "\n".join(map(str, errors))
    if hint:
        assert hint in (matching[0].hint or "")


def test_a_choice_close_to_an_allowed_one_is_suggested(tmp_path: Path) -> None:
    text = MATRIX + "identity_center:\n  identity_source:\n    provider: Okta\n"
    err = the_error(text, tmp_path)
    assert "expected 'azure-ad' or 'okta', got 'Okta'" in err.message
    assert err.hint == "did you mean 'okta'?"


def test_a_huge_value_is_shortened_in_the_message(tmp_path: Path) -> None:
    text = MATRIX.replace("name: shop", "name: " + "X" * 10_000)
    err = the_error(text, tmp_path)
    assert "10,000 characters" in err.message
    assert len(err.message) < 300


def test_a_file_full_of_errors_reports_a_bounded_number(tmp_path: Path) -> None:
    many = "".join(f"  - name: a{i}\n    ou: /\n" for i in range(300))  # each lacks its email
    errors = errors_of(MATRIX + many, tmp_path)
    assert len(errors) == load.MAX_REPORTED + 1
    assert errors[-1].message == f"{300 - load.MAX_REPORTED:,} more error(s) not shown"


def test_the_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    err = the_error("- version: 1\n", tmp_path)
    assert err.message == "expected a mapping at the top level, got a list"
    assert err.hint is not None and "version:, organization:, accounts:" in err.hint


# ---- environment files ------------------------------------------------------------------------------

ENV = "name: dev\nstacks: [organization]\naccounts: [management, dev]\n"


def test_an_environment_file_loads_with_positions(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, {"access-matrix.yaml": MATRIX, "environments/dev.yaml": ENV}))
    assert project.environments["dev"].accounts == ["management", "dev"]
    assert project.environment_positions["dev"].at(("accounts", 1)).line == line_of(ENV, "accounts:")


def test_an_environment_named_unlike_its_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "environments" / "dev.yaml"
    write(tmp_path, {"environments/dev.yaml": "description: first stage\nname: develop\nstacks: [organization]\n"})
    with pytest.raises(InputError) as caught:
        load_environment(file)
    assert "environment name 'develop' does not match the file name 'dev.yaml'" in caught.value.message
    assert caught.value.location is not None and caught.value.location.line == 2
    assert caught.value.hint == "rename the file to develop.yaml or set name: dev"


def test_an_environment_defined_by_both_yaml_and_yml_is_refused(tmp_path: Path) -> None:
    err = the_error(MATRIX, tmp_path, **{"environments/dev.yaml": ENV, "environments/dev.yml": ENV})
    assert "environment 'dev' is defined twice" in err.message
    assert err.location is not None and err.location.file.name == "dev.yml"


def test_a_bad_target_type_points_at_the_type_line(tmp_path: Path) -> None:
    env = ENV + "target:\n  profile: ops\n  type: amazon\n"
    err = the_error(MATRIX, tmp_path, **{"environments/dev.yaml": env})
    assert err.message == "target.type: expected 'sandbox' or 'aws', got 'amazon'"
    assert err.location is not None and err.location.line == line_of(env, "type: amazon")


def test_errors_in_several_environment_files_are_reported_together(tmp_path: Path) -> None:
    errors = errors_of(
        MATRIX,
        tmp_path,
        **{
            "environments/dev.yaml": ENV + "aproval: none\n",
            "environments/prod.yaml": "name: prod\naccounts: [Prod]\n",
        },
    )
    assert {e.location.file.name for e in errors if e.location} == {"dev.yaml", "prod.yaml"}
    assert any(e.hint == "did you mean 'approval'?" for e in errors)
    assert any("'Prod' is not an account name" in e.message for e in errors)


# ---- policy files -----------------------------------------------------------------------------------------

POLICY_MATRIX = MATRIX + "policies:\n  - name: Deploy\n    file: policies/deploy.json\n"


def test_a_policy_file_that_is_not_json_points_into_the_policy_file(tmp_path: Path) -> None:
    policy = '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow",}\n  ]\n}\n'
    err = the_error(POLICY_MATRIX, tmp_path, **{"policies/deploy.json": policy})
    assert "policy file is not valid JSON" in err.message
    assert err.location is not None and err.location.file.name == "deploy.json"
    assert err.location.line == line_of(policy, '"Effect": "Allow",}')


def test_a_duplicate_key_in_a_policy_file_names_both_lines(tmp_path: Path) -> None:
    policy = (
        '{\n  "Statement": [{\n    "Effect": "Allow",\n    "Action": "s3:GetObject",\n    "Effect": "Deny"\n  }]\n}\n'
    )
    assert json.loads(policy)["Statement"][0]["Effect"] == "Deny"  # what plain JSON would silently do
    err = the_error(POLICY_MATRIX, tmp_path, **{"policies/deploy.json": policy})
    assert f"duplicate key 'Effect' (first written on line {line_of(policy, 'Allow')})" in err.message
    assert err.location is not None and err.location.line == line_of(policy, '"Deny"')
    assert err.hint is not None and err.hint.startswith("JSON would keep only the last value")


def test_a_missing_policy_file_is_reported_where_the_matrix_names_it(tmp_path: Path) -> None:
    err = the_error(POLICY_MATRIX, tmp_path)
    assert err.message == "policy file not found: policies/deploy.json"
    assert err.location is not None and err.location.file.name == "access-matrix.yaml"
    assert err.location.line == line_of(POLICY_MATRIX, "file: policies/deploy.json")


@pytest.mark.parametrize(
    "policy, words",
    [
        ('["Statement"]\n', "must be a JSON object with a 'Statement'"),
        ('{"Statement": 5}\n', "Statement"),
        ('{"Version": "2020-01-01", "Statement": []}\n', "Version: expected '2012-10-17' or '2008-10-17'"),
        ("[" * 50_000 + "]" * 50_000, ""),
    ],
    ids=["not-an-object", "statement-number", "bad-version", "deeply-nested"],
)
def test_a_policy_file_of_the_wrong_shape_is_refused_cleanly(tmp_path: Path, policy: str, words: str) -> None:
    errors = errors_of(POLICY_MATRIX, tmp_path, **{"policies/deploy.json": policy})
    assert any(words in e.message for e in errors), "\n".join(map(str, errors))
    assert all(e.location is not None and e.location.file.name == "deploy.json" for e in errors)


# ---- the exported JSON Schema ---------------------------------------------------------------------------

SCHEMA_FILE = ROOT / "access-matrix.schema.json"


def as_an_editor_reads(value: Any) -> Any:
    """YAML 1.2 editors have no timestamp type: a date stays the text it was written as."""
    if isinstance(value, dict):
        return {k: as_an_editor_reads(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_an_editor_reads(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def test_the_committed_schema_is_what_the_schema_command_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from securecart_tf.cli.app import main

    fresh = tmp_path / "schema.json"
    monkeypatch.setattr("sys.argv", ["securecart-tf", "schema", "--output", str(fresh)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0
    assert SCHEMA_FILE.read_text() == fresh.read_text(), "run `make schema` and commit access-matrix.schema.json"
    assert json.loads(fresh.read_text()) == export_json_schema()


def test_the_example_names_the_schema_for_editors_and_validates_against_it() -> None:
    first_line = EXAMPLE_MATRIX.read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=./access-matrix.schema.json"
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    example = as_an_editor_reads(yaml.safe_load(EXAMPLE_MATRIX.read_text()))
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in jsonschema.Draft202012Validator(schema).iter_errors(example)
    ]
    assert errors == []


@pytest.mark.parametrize(
    "old, new",
    [
        ("    email: aws-dev@shop.example", "    emial: aws-dev@shop.example"),
        ("email: aws-dev@shop.example", "email: aws-dev.shop.example"),
        ("version: 1", "version: 2"),
        ("  - name: management\n", "  - name: [management]\n"),
    ],
    ids=["unknown-key", "pattern", "literal", "type"],
)
def test_the_schema_rejects_what_the_loader_rejects(tmp_path: Path, old: str, new: str) -> None:
    """So that an editor flags the mistake before the tool is run."""
    text = MATRIX.replace(old, new)
    errors_of(text, tmp_path)  # the loader refuses it ...
    schema = json.loads(SCHEMA_FILE.read_text())
    assert not jsonschema.Draft202012Validator(schema).is_valid(yaml.safe_load(text))  # ... and so does the schema
    assert jsonschema.Draft202012Validator(schema).is_valid(yaml.safe_load(MATRIX))
