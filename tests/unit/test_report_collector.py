"""`securecart-tf report` runs with Python's cyclic collector paused, from reading the matrix to the text."""

from __future__ import annotations

import datetime as dt
import gc
from typing import Any

import pytest

from securecart_tf.report import render_json
from securecart_tf.report.formats import ReportFormat
from securecart_tf.report.run import produce
from tests.conftest import EXAMPLE_MATRIX


def test_the_collector_is_paused_while_rendering_and_restored_after(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    document = render_json.document

    def watched(report: Any) -> dict[str, Any]:
        seen.append(gc.isenabled())
        return document(report)

    monkeypatch.setattr(render_json, "document", watched)
    assert gc.isenabled()
    produce(EXAMPLE_MATRIX, ReportFormat.json, as_of=dt.date(2026, 6, 1))
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off() -> None:
    gc.disable()
    try:
        produce(EXAMPLE_MATRIX, ReportFormat.md, as_of=dt.date(2026, 6, 1))
        assert not gc.isenabled()
    finally:
        gc.enable()
