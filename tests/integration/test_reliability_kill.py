"""`kill -9` of securecart-tf mid-apply: Terraform finishes on its own, and a plain rerun waits for it and converges.

Terraform runs in a session of its own with its output in a file, so it outlives the tool and still
finishes its apply and writes state (through a pipe it would die of SIGPIPE before saving state). The
rerun finds its record in the stack's folder and waits for it. See tests/integration/killing.py.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from securecart_tf import sandbox
from tests.helpers import explain
from tests.integration.faultproxy import FaultProxy, Watched, processes_in, statuses
from tests.integration.killing import assert_converged, holding_alpha, tiny_project

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


@pytest.fixture(params=["local", "s3"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    yield from tiny_project(tmp_path, request.param)


def test_kill_9_mid_apply_leaves_terraform_to_finish_and_a_rerun_waits_for_it(project: Path) -> None:
    info, _ = sandbox.up(project / ".securecart")
    creating = holding_alpha()
    with FaultProxy(info.endpoint, [creating]) as proxy:
        env = {sandbox.ENDPOINT_VAR: proxy.url}
        run = Watched(project, "apply", "--env", "dev", env=env)
        try:
            assert creating.hit.wait(300), run.explain()
            os.kill(run.pid, signal.SIGKILL)
            killed = run.finish(timeout=60)
        finally:
            run.stop()
        assert killed.returncode == -signal.SIGKILL
        orphaned = processes_in(project / "build" / "dev" / "organization")
        assert orphaned, "the apply's Terraform did not outlive securecart-tf"

        rerun = Watched(project, "apply", "--env", "dev", "--json", env=env)
        try:
            waiting = rerun.wait_for(r"organization: waiting", timeout=300)
            assert rerun.proc.poll() is None
            creating.release.set()  # the killed run's Terraform now finishes its apply, on its own
            result = rerun.finish(timeout=600)
        finally:
            rerun.stop()
    assert "earlier run" in waiting and "terraform apply" in waiting, waiting
    assert result.returncode == 0, explain(result)
    report = json.loads(result.stdout)
    assert statuses(result.stdout) == {"organization": "unchanged"}, result.stdout  # the killed run's apply did it
    assert any("left running by an earlier securecart-tf" in n for n in report["notices"]), report["notices"]
    log = (project / ".securecart" / "logs" / "dev" / "organization.log").read_text()
    assert "Apply complete!" in log.rpartition("started by an earlier securecart-tf that stopped")[2], log[-3000:]
    assert {pid for pid, _ in orphaned}.isdisjoint(pid for pid, _ in processes_in(project / "build"))
    assert_converged(project)
