"""SIGTERM to securecart-tf mid-apply: handled as Ctrl-C, the apply in flight finishes, nothing is left running.

See tests/integration/killing.py for the project and the convergence check.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from securecart_tf import sandbox
from tests.helpers import explain
from tests.integration.faultproxy import FaultProxy, Watched, processes_in
from tests.integration.killing import assert_converged, holding_alpha, in_state, state_of, tiny_project

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


@pytest.fixture(params=["local", "s3"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    yield from tiny_project(tmp_path, request.param)


def test_sigterm_mid_apply_lets_the_apply_finish_and_leaves_nothing_running(project: Path) -> None:
    info, _ = sandbox.up(project / ".securecart")
    creating = holding_alpha()
    with FaultProxy(info.endpoint, [creating]) as proxy:
        run = Watched(project, "apply", "--env", "dev", env={sandbox.ENDPOINT_VAR: proxy.url})
        try:
            assert creating.hit.wait(300), run.explain()
            os.kill(run.pid, signal.SIGTERM)
            notice = run.wait_for(r"Interrupted\.", timeout=60)
            creating.release.set()
            result = run.finish(timeout=300)
        finally:
            run.stop()
    assert result.returncode == 1, explain(result)
    assert "SIGTERM" in notice and "organization" in notice, notice
    assert "Traceback" not in result.stderr
    assert processes_in(project / "build") == []  # the tool exited, and took nothing it started with it running
    state = state_of(project, "organization")
    assert {a["name"] for a in in_state(state, "aws_organizations_account")} == {"alpha"}
    assert_converged(project)
