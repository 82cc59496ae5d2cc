"""What the report keeps in the cache folder between runs: the IAM action catalogue, the page's compiled template."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import jinja2
import pytest

from securecart_tf.config.load import load_project
from securecart_tf.report import actions, render_html
from securecart_tf.report.access import build_report
from tests.conftest import EXAMPLE_MATRIX


def _never() -> dict[str, str]:
    raise AssertionError("parliament was read although the catalogue is cached")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SECURECART_CACHE_DIR", str(folder))
    return folder


def test_the_catalogue_is_written_once_then_read_without_parliament(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = actions.catalogue.__wrapped__()
    # levels of the AWS Service Authorization Reference, which parliament copies
    assert first["s3:getobject"] == "Read"
    assert first["iam:putrolepolicy"] == "Permissions management"
    assert first["ec2:runinstances"] == "Write"
    [written] = cache.glob("actions-*.json")

    monkeypatch.setattr(actions, "_from_parliament", _never)
    assert actions.catalogue.__wrapped__() == first

    # another shape of the cached levels is another file: the old one is not read
    monkeypatch.setattr(actions, "CATALOGUE_FORMAT", actions.CATALOGUE_FORMAT + 1)
    assert actions._catalogue_file() != written


def test_an_unreadable_cached_catalogue_is_read_again_from_parliament(cache: Path) -> None:
    expected = actions.catalogue.__wrapped__()
    [written] = cache.glob("actions-*.json")
    written.write_text("{not json")
    assert actions.catalogue.__wrapped__() == expected
    written.write_text("[]")
    assert actions.catalogue.__wrapped__() == expected
    assert written.read_text().startswith("{")  # written again


def test_with_the_cache_off_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURECART_CACHE_DIR", "off")
    monkeypatch.chdir(tmp_path)
    assert actions._catalogue_file() is None
    assert actions.catalogue.__wrapped__()["s3:getobject"] == "Read"
    assert list(tmp_path.iterdir()) == []


PATTERNS = ["s3:Get*", "s3:get*", "iam:pass*", "ec2:*", "*:getobject*", "iam:*role*", "s3:get?bject"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_pattern_names_the_actions_its_wildcards_match(pattern: str) -> None:
    # a prefix is matched as text, other patterns as an expression: both name what the IAM wildcard does
    wildcard = re.compile("^" + re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", ".") + "$")
    expected = frozenset(a for a in actions.catalogue() if wildcard.match(a))
    assert expected
    assert actions.expand(pattern) == expected


def test_the_page_template_is_compiled_once_and_read_back(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = build_report(load_project(EXAMPLE_MATRIX), as_of=dt.date(2026, 6, 1))
    first = render_html.render(report)
    [compiled] = (cache / "templates").iterdir()

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("the template was compiled again although it is cached")

    monkeypatch.setattr(jinja2.Environment, "compile", no_compiling)
    assert render_html.render(report) == first
    assert list((cache / "templates").iterdir()) == [compiled]


def test_with_the_cache_off_the_template_is_compiled_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURECART_CACHE_DIR", "off")
    monkeypatch.chdir(tmp_path)
    report = build_report(load_project(EXAMPLE_MATRIX), as_of=dt.date(2026, 6, 1))
    assert "Effective access" in render_html.render(report)
    assert list(tmp_path.iterdir()) == []
