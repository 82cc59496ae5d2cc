"""Reading YAML with positions: where each value was written, and every way a file can be refused.

Expected lines and columns are counted in the YAML text each test writes, never taken from the loader.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
import yaml

from securecart_tf.config import yamlpos
from securecart_tf.config.yamlpos import load_yaml, parse_yaml, read_text
from securecart_tf.errors import InputError

F = Path("matrix.yaml")


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the nth line containing `needle`."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert len(hits) >= nth, f"{needle!r} occurs {len(hits)} times"
    return hits[nth - 1]


def refused(text: str | bytes, tmp_path: Path | None = None) -> InputError:
    with pytest.raises(InputError) as caught:
        if isinstance(text, bytes):
            assert tmp_path is not None
            file = tmp_path / "matrix.yaml"
            file.write_bytes(text)
            load_yaml(file, "access matrix")
        else:
            parse_yaml(text, F, "access matrix")
    assert caught.value.location is not None
    return caught.value


# ---- positions ------------------------------------------------------------------------------------

NESTED = """\
# comment
organization:
  name: shop
  units:
    - name: SecurityOU
    - name: WorkloadsOU
      units:
        - name: ProdOU
accounts:
  - { name: prod, email: p@x.example }
"""


def test_keys_nested_anywhere_point_to_their_line_and_column() -> None:
    doc = parse_yaml(NESTED, F)
    assert doc.at("organization", "name").line == line_of(NESTED, "name: shop")
    assert doc.at("organization", "name").column == 3
    deep = doc.at("organization", "units", 1, "units", 0, "name")
    assert (deep.line, deep.column) == (line_of(NESTED, "name: ProdOU"), 11)
    assert deep.file == F


def test_list_items_point_to_the_item_and_flow_mappings_to_each_key() -> None:
    doc = parse_yaml(NESTED, F)
    assert doc.at("organization", "units", 1).line == line_of(NESTED, "name: WorkloadsOU")
    assert doc.at("accounts", 0).line == line_of(NESTED, "{ name: prod")
    email = doc.at("accounts", 0, "email")
    assert (email.line, email.column) == (line_of(NESTED, "email: p@x"), NESTED.splitlines()[9].index("email") + 1)


def test_a_path_that_was_not_written_falls_back_to_its_nearest_parent() -> None:
    doc = parse_yaml(NESTED, F)
    assert doc.at("accounts", 0, "ou") == doc.at("accounts", 0)
    assert doc.at("nowhere", "at", "all").line == line_of(NESTED, "organization:")
    assert not doc.positions.has(("accounts", 0, "ou"))


def test_values_are_read_exactly_like_yaml_safe_load() -> None:
    text = (
        "a: 1\nb: 0x1f\nc: yes\nd: ~\ne: 2027-06-30\nf: '007'\ng: [1.5, .inf, -2]\nh: {x: null}\ni: |\n  two\n  lines\n"
    )
    assert parse_yaml(text, F).data == yaml.safe_load(text)


# ---- merge keys ----------------------------------------------------------------------------------

MERGE_BEFORE = """\
defaults: &defaults
  ou: WorkloadsOU
  networking: false
account:
  <<: *defaults
  networking: true
  name: dev
"""

MERGE_AFTER = """\
defaults: &defaults
  ou: WorkloadsOU
  networking: false
account:
  networking: true
  name: dev
  <<: *defaults
"""


@pytest.mark.parametrize("text", [MERGE_BEFORE, MERGE_AFTER], ids=["merge-first", "merge-last"])
def test_an_explicit_key_wins_over_a_merged_one_and_keeps_its_own_line(text: str) -> None:
    doc = parse_yaml(text, F)
    assert doc.data["account"] == {"ou": "WorkloadsOU", "networking": True, "name": "dev"}
    assert doc.at("account", "networking").line == line_of(text, "networking: true")
    # a merged key points to where it is written: under the anchor
    assert doc.at("account", "ou").line == line_of(text, "ou: WorkloadsOU")


def test_a_list_of_merge_sources_gives_the_first_source_priority() -> None:
    text = "a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  w: 0\n"
    assert parse_yaml(text, F).data["c"] == yaml.safe_load(text)["c"] == {"x": 1, "y": 1, "z": 2, "w": 0}


def test_merges_nest_through_anchors_that_merge_themselves() -> None:
    text = "base: &base {region: us-east-1}\nmid: &mid\n  <<: *base\n  ou: A\nleaf:\n  <<: *mid\n  name: x\n"
    assert parse_yaml(text, F).data["leaf"] == {"region": "us-east-1", "ou": "A", "name": "x"}


def test_a_merged_key_is_not_a_duplicate_of_an_explicit_one() -> None:
    text = "d: &d {name: a}\ne:\n  <<: *d\n  name: b\n"
    assert parse_yaml(text, F).data["e"] == {"name": "b"}


def test_merging_something_other_than_a_mapping_is_refused() -> None:
    text = "a: &a [1, 2]\nb:\n  <<: *a\n"
    err = refused(text)
    assert "'<<' must merge a mapping" in err.message
    assert err.location.line == line_of(text, "<<: *a")


def test_a_mapping_that_merges_itself_is_refused() -> None:
    err = refused("a: &a\n  x: 1\n  <<: *a\n")
    assert "contains it" in err.message


# ---- duplicate keys ------------------------------------------------------------------------------


def test_yaml_itself_would_silently_keep_the_last_duplicate() -> None:
    """Why the loader refuses duplicates: PyYAML drops the first value without a word."""
    assert yaml.safe_load("ou: SecurityOU\nou: WorkloadsOU\n") == {"ou": "WorkloadsOU"}


@pytest.mark.parametrize(
    "text, key, first, second",
    [
        ("accounts:\n  - name: a\n    ou: SecurityOU\n    ou: WorkloadsOU\n", "ou", "SecurityOU", "WorkloadsOU"),
        ("version: 1\naccounts: []\nversion: 2\n", "version", "version: 1", "version: 2"),
        ("targets: {ous: [A], ous: [B]}\n", "ous", "[A]", "[B]"),
        ("a:\n  b:\n    c:\n      - {x: 1}\n      - x: 2\n        x: 3\n", "x", "x: 2", "x: 3"),
    ],
    ids=["in-a-list-item", "top-level", "flow-mapping", "deep"],
)
def test_a_duplicate_key_is_an_error_naming_both_lines(text: str, key: str, first: str, second: str) -> None:
    err = refused(text)
    assert f"duplicate key '{key}' (first written on line {line_of(text, first)})" in err.message
    assert err.location.line == line_of(text, second)
    assert "remove or rename" in (err.hint or "")


def test_the_same_key_in_different_mappings_is_fine() -> None:
    text = "a: {name: x}\nb: {name: y}\nc:\n  - name: z\n  - name: w\n"
    assert parse_yaml(text, F).data == yaml.safe_load(text)


# ---- bounds: aliases, depth, size ----------------------------------------------------------------


def bomb(levels: int, fan: int = 10) -> str:
    lines = ["l0: &l0 [" + ", ".join(["lol"] * fan) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fan) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_before_any_value_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object) -> None:
        raise AssertionError("values were built for an alias bomb")

    monkeypatch.setattr(yamlpos._Builder, "build", never)
    text = bomb(9)  # 10^9 values once expanded
    tracemalloc.start()
    try:
        err = refused(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"more than {yamlpos.MAX_VALUES:,} values" in err.message
    assert "alias bomb" in (err.hint or "")
    assert peak < 32 * 1024 * 1024, f"peak {peak:,} bytes"
    # l0 holds 11 values (itself and ten strings), l1 holds 1 + 10 * 11 = 111, ... l5 holds 1,111,111:
    # the first list past the bound
    assert err.location.line == line_of(text, "l5: &l5")


def test_aliases_below_the_bound_expand_normally() -> None:
    text = bomb(3, fan=3)
    assert parse_yaml(text, F).data == yaml.safe_load(text)


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    text = "units: &u\n  - name: A\n    units: *u\n"
    err = refused(text)
    assert "refers to the list or mapping that contains it" in err.message
    assert err.location.line == line_of(text, "units: &u")


def test_nesting_deeper_than_the_bound_is_refused_by_brackets_and_by_alias_chains() -> None:
    deep = "a: " + "[" * (yamlpos.MAX_DEPTH + 5) + "]" * (yamlpos.MAX_DEPTH + 5) + "\n"
    assert f"deeper than {yamlpos.MAX_DEPTH} levels" in refused(deep).message
    chain = "a0: &a0 x\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, yamlpos.MAX_DEPTH + 5))
    assert f"deeper than {yamlpos.MAX_DEPTH} levels" in refused(chain).message


def test_very_deep_brackets_do_not_exhaust_the_stack() -> None:
    err = refused("a: " + "[" * 100_000 + "\n")
    assert any(words in err.message for words in ("nesting depth", "nests too deeply", "deeper than"))


def test_more_values_than_the_bound_are_refused_while_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlpos, "MAX_NODES", 50)
    text = "items:\n" + "".join(f"  - item{i}\n" for i in range(60))
    err = refused(text)
    assert "more than 50 values" in err.message
    # the 51st value: the root mapping, the key, the list, then items 0..47
    assert err.location.line == line_of(text, "- item47")


def test_a_file_over_the_size_limit_is_refused_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamlpos, "MAX_FILE_BYTES", 100)
    file = tmp_path / "big.yaml"
    file.write_text("a: " + "x" * 200 + "\n")
    with pytest.raises(InputError, match="204 bytes; the limit is 100"):
        read_text(file, "access matrix")
    file.write_text("a: " + "x" * 90 + "\n")
    assert read_text(file, "access matrix").startswith("a: x")


# ---- bytes: NUL, encodings, control characters ------------------------------------------------------


def test_a_nul_byte_is_refused_at_its_line_and_column(tmp_path: Path) -> None:
    err = refused(b"version: 1\norganization:\n  name: sh\x00op\n", tmp_path)
    assert "NUL byte" in err.message
    assert (err.location.line, err.location.column) == (3, 11)


def test_a_byte_that_is_not_utf8_is_refused_at_its_line_and_column(tmp_path: Path) -> None:
    err = refused("version: 1\nname: café\n".encode("latin-1"), tmp_path)
    assert "not UTF-8" in err.message and "0xe9" in err.message
    assert (err.location.line, err.location.column) == (2, 10)
    assert err.hint == "save the file as UTF-8"


def test_a_utf16_file_is_refused_as_not_utf8(tmp_path: Path) -> None:
    err = refused("version: 1\n".encode("utf-16"), tmp_path)
    assert "not UTF-8" in err.message


def test_a_utf8_byte_order_mark_is_accepted_and_keeps_columns(tmp_path: Path) -> None:
    file = tmp_path / "bom.yaml"
    file.write_bytes(b"\xef\xbb\xbfversion: 1\nname: caf\xc3\xa9\n")
    doc = load_yaml(file)
    assert doc.data == {"version": 1, "name": "café"}
    assert (doc.at("version").line, doc.at("version").column) == (1, 1)


def test_a_control_character_is_refused_at_its_position_even_after_multibyte_text() -> None:
    text = "name: ééé\nother: a\x07b\n"
    err = refused(text)
    assert "U+0007" in err.message
    assert (err.location.line, err.location.column) == (2, 9)


def test_a_missing_file_and_a_folder_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="access matrix not found") as missing:
        load_yaml(tmp_path / "nope.yaml", "access matrix")
    assert missing.value.location is not None and missing.value.location.file == tmp_path / "nope.yaml"
    with pytest.raises(InputError, match="is a folder"):
        load_yaml(tmp_path, "access matrix")


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n# and another\n"])
def test_an_empty_file_is_refused_with_a_way_forward(text: str) -> None:
    err = refused(text)
    assert "empty" in err.message or "no YAML document" in err.message
    assert "securecart-tf init" in (err.hint or "")


# ---- syntax errors ---------------------------------------------------------------------------------


def test_a_tab_used_for_indentation_gets_the_spaces_hint() -> None:
    text = "organization:\n  name: shop\n\tunits: []\n"
    err = refused(text)
    assert err.location.line == 3
    assert err.hint == "YAML indents with spaces, never tabs"


def test_an_unclosed_bracket_points_where_it_opens() -> None:
    text = "a: 1\nous: [SecurityOU, WorkloadsOU\nb: 2\nc: 3\n"
    err = refused(text)
    assert "never closed" in err.message
    assert (err.location.line, err.location.column) == (2, text.splitlines()[1].index("[") + 1)


def test_an_unclosed_quote_points_where_it_opens() -> None:
    text = 'a: 1\nb: "open\nc: 3\n'
    err = refused(text)
    assert "quote is never closed" in err.message
    assert err.location.line == 2


def test_a_second_document_is_refused() -> None:
    text = "a: 1\n---\nb: 2\n"
    err = refused(text)
    assert err.location.line == 2 and "---" in (err.hint or "")


def test_a_custom_tag_is_refused_and_never_executed() -> None:
    text = "a: !!python/object/apply:os.system ['echo hacked']\n"
    err = refused(text)
    assert "unsupported YAML tag" in err.message and err.location.line == 1


def test_a_non_scalar_key_is_refused() -> None:
    err = refused("? [a, b]\n: 1\n")
    assert "a key must be a plain string" in err.message


def test_a_huge_value_is_shortened_in_the_message() -> None:
    err = refused("version: " + "9" * 5000 + "\n")
    assert "5,000 digits" in err.message
    assert len(str(err)) < 400
