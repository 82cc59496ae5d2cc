"""Module tests share one Planner: fixture roots in a scratch folder, our Terraform CLI config (the
provider mirror), and the sandbox, started only if a module with data sources is planned."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.modules.inventory import Case, Planner


@pytest.fixture(scope="session")
def module_planner(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planner]:
    with Planner(tmp_path_factory.mktemp("module-plans")) as planner:
        # Plan, in the background, the cases this run selected; each test then waits for its own.
        selected = []
        for item in request.session.items:
            callspec = getattr(item, "callspec", None)
            case = callspec.params.get("case") if callspec is not None else None
            if isinstance(case, Case):
                selected.append(case)
        planner.prefetch(selected)
        yield planner
