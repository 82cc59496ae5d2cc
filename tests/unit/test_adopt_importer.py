"""What `import` takes from its command line before it reads anything: stages, and files it must not overwrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from securecart_tf.adopt.importer import existing_files, parse_stages
from securecart_tf.errors import SecureCartError


def test_stages_keep_the_order_given_in_one_argument_or_several() -> None:
    assert parse_stages(["dev=a,b staging=c", "prod=d"]) == {"dev": ["a", "b"], "staging": ["c"], "prod": ["d"]}
    assert list(parse_stages(["prod=d dev=a"]) or {}) == ["prod", "dev"]
    assert parse_stages([]) is None


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("dev", "is not STAGE=ACCOUNT"),
        ("=a", "is not STAGE=ACCOUNT"),
        ("dev=", "is not STAGE=ACCOUNT"),
        ("dev=a dev=b", "given twice"),
    ],
)
def test_a_bad_stage_is_named_with_the_form_it_should_take(spec: str, says: str) -> None:
    with pytest.raises(SecureCartError) as caught:
        parse_stages([spec])
    assert says in caught.value.message
    assert caught.value.hint and "--stages" in caught.value.hint


def test_only_files_that_exist_are_named_as_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "main.yaml").write_text("name: main\n")
    (tmp_path / "access-matrix.yaml").write_text("version: 1\n")
    wanted = ["policies/scp-a.json", "environments/main.yaml", "access-matrix.yaml", "adopted.yaml"]
    assert existing_files(tmp_path, wanted) == ["access-matrix.yaml", "environments/main.yaml"]


def test_the_printed_import_policy_is_read_only_and_reads_nothing(tmp_path: Path) -> None:
    import json

    from tests.helpers import run_cli

    printed = run_cli(tmp_path, "import", "--policy")
    assert printed.returncode == 0, printed.stderr
    actions = [a for s in json.loads(printed.stdout)["Statement"] for a in s["Action"]]
    assert "organizations:DescribeOrganization" in actions and "iam:ListRoles" in actions
    verbs = {a.split(":")[1].startswith(("Get", "List", "Describe")) or a == "sts:AssumeRole" for a in actions}
    assert verbs == {True}, actions
    assert list(tmp_path.iterdir()) == [], "--policy neither starts a sandbox nor writes a file"


def test_a_bad_stage_is_refused_before_anything_starts(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    refused = run_cli(tmp_path, "import", "--stages", "dev")
    assert refused.returncode == 1
    assert "is not STAGE=ACCOUNT" in refused.stderr and "started the sandbox" not in refused.stderr
    assert list(tmp_path.iterdir()) == [], "no sandbox was started and nothing was written"


def test_identity_center_waiting_for_a_later_stage_is_said_and_not_otherwise(tmp_path: Path) -> None:
    """DevAccess names the customer policy ShopRead, which the dev and staging accounts hold."""
    from securecart_tf.adopt.importer import stage_waits
    from securecart_tf.adopt.write import write_project
    from securecart_tf.config.load import load_project
    from tests.unit.test_adopt_write import _save, organization

    staged = write_project(
        organization(),
        target={"type": "sandbox"},
        stages={"dev": ["dev", "security-tooling"], "prod": ["staging", "prod"]},
    )
    (said,) = stage_waits(load_project(_save(staged, tmp_path / "staged")))
    assert said.startswith("identity-center rolls out in dev but waits for access-staging (prod)")

    together = write_project(
        organization(),
        target={"type": "sandbox"},
        stages={"dev": ["dev", "staging"], "prod": ["prod", "security-tooling"]},
    )
    assert stage_waits(load_project(_save(together, tmp_path / "together"))) == []
