"""Choosing part of an environment: `--stacks`, `--shard i/N`, and the waves of the stack graph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from securecart_tf.errors import SecureCartError
from securecart_tf.model import Stack
from securecart_tf.run.selection import Selection, Shard, parse_shard, parse_stacks, waves
from tests.helpers import EXAMPLE_DEV_STACKS, copy_example, explain, run_cli


def _stack(name: str, *depends_on: str) -> Stack:
    return Stack(name=name, layer="access", account=name, depends_on=depends_on, modules=(), inputs={})


# organization first; three access stacks after it; identity-center after one of them
ORDERED = [
    _stack("organization"),
    _stack("access-a", "organization"),
    _stack("access-b", "organization"),
    _stack("access-c", "organization"),
    _stack("identity-center", "organization", "access-a"),
]


@pytest.mark.parametrize(("text", "shard"), [("1/1", Shard(1, 1)), ("2/3", Shard(2, 3)), (" 3 / 3 ", Shard(3, 3))])
def test_a_shard_is_i_of_n(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0/3", "between 1 and 3"),
        ("4/3", "between 1 and 3"),
        ("1/0", "at least 1"),
        ("x", "not of the form i/N"),
        ("1/", "not of the form i/N"),
        ("-1/3", "not of the form i/N"),
        ("1.5/3", "not of the form i/N"),
    ],
)
def test_a_bad_shard_is_refused_saying_why(text: str, words: str) -> None:
    with pytest.raises(SecureCartError, match=words) as caught:
        parse_shard(text)
    assert caught.value.hint is not None and "i/N" in caught.value.hint


def test_stack_names_are_split_trimmed_and_kept_once() -> None:
    assert parse_stacks("access-a, organization,access-a") == ("access-a", "organization")
    for text in ("", " , ", "a,,b"):
        with pytest.raises(SecureCartError, match="--stacks"):
            parse_stacks(text)


def test_a_selection_keeps_dependency_order_whatever_order_it_names() -> None:
    chosen = Selection(("identity-center", "access-b", "organization")).of(ORDERED)
    assert [s.name for s in chosen] == ["organization", "access-b", "identity-center"]


def test_shards_deal_the_stacks_round_robin_and_cover_each_once() -> None:
    slices = [[s.name for s in Selection(shard=Shard(i, 2)).of(ORDERED)] for i in (1, 2)]
    assert slices == [["organization", "access-b", "identity-center"], ["access-a", "access-c"]]
    three = [[s.name for s in Selection(shard=Shard(i, 3)).of(ORDERED)] for i in (1, 2, 3)]
    assert sorted(name for part in three for name in part) == sorted(s.name for s in ORDERED)
    assert [len(s) for s in three] == [2, 2, 1]
    more = [Selection(shard=Shard(i, 7)).of(ORDERED) for i in range(1, 8)]
    assert [len(s) for s in more] == [1, 1, 1, 1, 1, 0, 0]  # more shards than stacks: the last are empty


def test_a_shard_slices_the_selected_stacks() -> None:
    selection = Selection(("access-a", "access-b", "access-c"), Shard(2, 2))
    assert [s.name for s in selection.of(ORDERED)] == ["access-b"]
    assert not selection.whole and Selection().whole and Selection(shard=Shard(1, 1)).whole


def test_an_unknown_stack_is_named_with_the_environments_stacks() -> None:
    selection = Selection(("access-a", "access-zz", "access-prod"))
    with pytest.raises(SecureCartError) as caught:
        selection.check("dev", [s.name for s in ORDERED], {"access-prod": "prod"})
    assert caught.value.message == "--stacks: environment 'dev' has no stacks access-zz, access-prod (environment prod)"
    assert caught.value.hint == "its stacks: organization, access-a, access-b, access-c, identity-center"


def test_waves_are_the_longest_chain_of_dependencies_in_the_environment() -> None:
    assert waves(ORDERED) == {
        "organization": 0,
        "access-a": 1,
        "access-b": 1,
        "access-c": 1,
        "identity-center": 2,
    }
    # a dependency in another environment does not count: it is applied before this environment runs
    assert waves([_stack("access-staging", "organization")]) == {"access-staging": 0}


# ---- the command line ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("example"))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--stacks", "access-nowhere"), "environment 'dev' has no stack access-nowhere"),
        (("--stacks", "access-prod"), "has no stack access-prod (environment prod)"),
        (("--shard", "0/3"), "--shard 0/3: the shard must be between 1 and 3"),
        (("--shard", "4/3"), "--shard 4/3: the shard must be between 1 and 3"),
        (("--shard", "x"), "--shard 'x' is not of the form i/N"),
    ],
)
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_bad_selection_is_a_usage_error_before_anything_runs(
    example: Path, command: str, args: tuple[str, ...], words: str
) -> None:
    result = run_cli(example, command, "--env", "dev", *args)
    assert result.returncode == 1, explain(result)
    text = " ".join(result.stderr.split())
    assert words in text, explain(result)
    assert "Traceback" not in result.stderr
    assert not (example / ".securecart" / "sandbox.json").exists()  # nothing started
    if "--stacks" in args:
        assert "its stacks: organization, " in text and "access-dev" in text


@pytest.mark.parametrize(
    ("command", "args", "words"),
    [
        (("drift", "--env", "dev"), ("--stacks", "access-nowhere"), "environment 'dev' has no stack access-nowhere"),
        (("drift", "--env", "dev"), ("--shard", "3/2"), "--shard 3/2: the shard must be between 1 and 2"),
        (
            ("promote", "--from", "dev", "--to", "staging"),
            ("--stacks", "access-dev"),
            "environment 'staging' has no stack access-dev (environment dev)",
        ),
        (
            ("promote", "--from", "dev", "--to", "staging"),
            ("--shard", "1/0"),
            "the number of shards must be at least 1",
        ),
        (
            ("rollback", "--env", "prod", "--to", "0123abc"),
            ("--stacks", "access-nowhere"),
            "environment 'prod' has no stack access-nowhere",
        ),
    ],
)
def test_drift_promote_and_rollback_take_a_selection_and_refuse_a_bad_one_first(
    example: Path, command: tuple[str, ...], args: tuple[str, ...], words: str
) -> None:
    result = run_cli(example, *command, *args)
    assert result.returncode == 1, explain(result)
    assert words in " ".join(result.stderr.split()), explain(result)
    assert "Traceback" not in result.stderr
    assert not (example / ".securecart" / "sandbox.json").exists()  # nothing started


def test_stacks_lists_the_environment_in_order_with_dependencies_and_waves(example: Path) -> None:
    result = run_cli(example, "stacks", "--env", "dev", "--json")
    assert result.returncode == 0, explain(result)
    listing = json.loads(result.stdout)
    assert listing["environment"] == "dev"
    rows = {r["name"]: r for r in listing["stacks"]}
    assert set(rows) == set(EXAMPLE_DEV_STACKS)
    position = {r["name"]: i for i, r in enumerate(listing["stacks"])}
    for row in listing["stacks"]:
        for dep in row["depends_on"]:
            assert position[dep] < position[row["name"]]  # in dependency order
            assert rows[dep]["wave"] < row["wave"]
        assert row["wave"] == max((rows[d]["wave"] + 1 for d in row["depends_on"]), default=0)
    assert rows["organization"]["wave"] == 0 and rows["organization"]["depends_on"] == []
    assert rows["access-dev"]["depends_on"] == ["organization"]

    staging = json.loads(run_cli(example, "stacks", "--env", "staging", "--json").stdout)
    assert [(r["name"], r["depends_on"], r["depends_elsewhere"], r["wave"]) for r in staging["stacks"]] == [
        ("access-staging", [], ["organization"], 0)
    ]

    halves = [
        [
            r["name"]
            for r in json.loads(run_cli(example, "stacks", "--env", "dev", "--json", "--shard", s).stdout)["stacks"]
        ]
        for s in ("1/2", "2/2")
    ]
    assert sorted(halves[0] + halves[1]) == sorted(rows) and not set(halves[0]) & set(halves[1])
