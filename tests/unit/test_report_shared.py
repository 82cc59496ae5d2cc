"""Seats alike in policies and SCP path share one evaluation, and sharing changes no seat's answer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from securecart_tf.config.load import load_project
from securecart_tf.model import build_model
from securecart_tf.report.access import SeatAccess, _Builder, build_report
from tests.bench_scripts import load_bench

synth = load_bench("synth")
AS_OF = dt.date(2026, 6, 1)


def facts(s: SeatAccess) -> dict[str, Any]:
    return {
        "level": s.level,
        "grants": [(g.name, g.level) for g in s.grants],
        "boundary": s.boundary.to_json() if s.boundary else None,
        "scps": [e.to_json() for e in s.scps],
        "denies": s.denies,
        "notes": s.notes,
        "escalation": s.escalation,
        "fingerprint": s.fingerprint,
    }


def test_seats_share_evaluations_and_each_answer_is_what_it_is_alone(tmp_path: Path) -> None:
    synth.write_project(tmp_path, synth.Size.scaled(16))
    project = load_project(tmp_path / "access-matrix.yaml")
    model = build_model(project)
    report = build_report(project, as_of=AS_OF, model=model)
    seats = list(report.seats.values())
    # a permission set assigned in several accounts of one OU is evaluated once for them
    shared = {id(s.grants) for s in seats}
    assert len(shared) < len(seats) / 2
    # ... and every seat says what a builder that saw only that seat says
    for seat in seats[::4]:
        alone = _Builder(project, model, AS_OF).seat(seat.seat)
        assert facts(alone) == facts(seat), seat.seat.key
