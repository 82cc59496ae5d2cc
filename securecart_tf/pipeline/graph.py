"""The pipeline's shape from the model: each environment's stacks in waves, each wave split into matrix entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from securecart_tf.config.environments import Environment, S3Backend
from securecart_tf.config.load import Project
from securecart_tf.errors import Location, SecureCartError
from securecart_tf.model import Model, Stack, build_model
from securecart_tf.render import stacks_of

Ci = Literal["gitlab", "github"]
MATRIX_CAP: dict[Ci, int] = {"github": 256, "gitlab": 200}
"""Jobs one matrix may expand to: GitHub's `strategy.matrix`, GitLab's `parallel:matrix`."""
CI_NAMES: dict[Ci, str] = {"github": "GitHub Actions", "gitlab": "GitLab CI"}


@dataclass(frozen=True)
class Entry:
    """One job of a wave's matrix: the stacks it runs, and how the command line selects them."""

    key: str
    """Short and unique within the wave: the stack's name, or the shard's number."""
    stacks: tuple[str, ...]
    shard: tuple[int, int] | None = None
    """(i, N) when the wave is the whole environment, so `--shard i/N` selects the same slice."""

    @property
    def value(self) -> str:
        """What follows the wave's option on the command line: `i/N` for `--shard`, `A,B` for `--stacks`."""
        if self.shard is not None:
            return f"{self.shard[0]}/{self.shard[1]}"
        return ",".join(self.stacks)


@dataclass(frozen=True)
class Wave:
    """Stacks of one environment at one depth of the dependency graph: they can run side by side."""

    env: str
    index: int
    stacks: tuple[str, ...]
    entries: tuple[Entry, ...]

    @property
    def option(self) -> str:
        """How the wave's jobs select their stacks: `--shard` when the wave is the whole environment, sliced."""
        return "--shard" if any(e.shard is not None for e in self.entries) else "--stacks"

    @property
    def variable(self) -> str:
        """The job variable that carries an entry's value."""
        return "SHARD" if self.option == "--shard" else "STACKS"


@dataclass(frozen=True)
class EnvPlan:
    """One environment in the pipeline: its waves, and how it is reached and gated."""

    env: Environment
    waves: tuple[Wave, ...]

    @property
    def name(self) -> str:
        return self.env.name

    @property
    def gated(self) -> bool:
        """Whether the CI asks a person before applying: the environment's own `approval` says so."""
        return self.env.approval.value != "none"


@dataclass(frozen=True)
class Pipeline:
    """Everything an emitter writes: environments in promotion order, each with its waves."""

    ci: Ci
    environments: tuple[EnvPlan, ...]

    @property
    def first(self) -> EnvPlan:
        return self.environments[0]

    def promotions(self) -> list[tuple[EnvPlan, EnvPlan]]:
        """(from, to) for every environment after the first, in promotion order."""
        by_name = {e.name: e for e in self.environments}
        return [(by_name[e.env.promotes_from], e) for e in self.environments[1:] if e.env.promotes_from]


def promotion_order(project: Project) -> list[Environment]:
    """Environments from the first stage along `promotes_from`; stages that branch off come in name order."""
    envs = project.environments
    order: list[Environment] = []
    frontier = sorted(n for n, e in envs.items() if e.promotes_from is None)
    while frontier:
        name = frontier.pop(0)
        order.append(envs[name])
        frontier += sorted(n for n, e in envs.items() if e.promotes_from == name)
    return order


def require_s3_backends(project: Project, envs: list[Environment]) -> None:
    """Jobs share nothing but the backend and artifacts: an environment on a local backend cannot run in CI."""
    for env in envs:
        if not isinstance(env.backend, S3Backend):
            path = project.environment_files.get(env.name)
            where = project.environment_positions[env.name].at(("backend",)) if path else None
            raise SecureCartError(
                f"environment '{env.name}' keeps its state in a local backend, which CI jobs on separate "
                "machines cannot share",
                location=where if isinstance(where, Location) else (Location(path) if path else None),
                hint="give it `backend: { type: s3, bucket: ..., region: ... }`; state, ledger and locks then live "
                "in the bucket",
            )


def depths(stacks: list[Stack]) -> dict[str, int]:
    """Each stack's depth among these stacks: 0 when it needs none of them, else one more than its deepest need.

    A dependency outside the list belongs to an earlier environment, which is applied by then.
    """
    names = {s.name for s in stacks}
    depth: dict[str, int] = {}
    for stack in stacks:  # dependency order: every need inside the list is already placed
        inner = [depth[d] for d in stack.depends_on if d in names]
        depth[stack.name] = 1 + max(inner) if inner else 0
    return depth


def _entries(wave: list[str], whole_env: bool, shards: int | None, cap: int) -> tuple[Entry, ...]:
    """One entry per stack; or `shards` slices (at most the cap) when asked, or when the wave exceeds the cap."""
    count = shards if shards is not None else (cap if len(wave) > cap else None)
    if count is None:
        return tuple(Entry(name, (name,)) for name in wave)
    count = min(count, len(wave))
    size, extra = divmod(len(wave), count)
    entries: list[Entry] = []
    start = 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        entries.append(Entry(str(i + 1), tuple(wave[start:end]), (i + 1, count) if whole_env else None))
        start = end
    return tuple(entries)


def env_waves(model: Model, env: Environment, shards: int | None, cap: int) -> tuple[Wave, ...]:
    stacks = stacks_of(model, env)
    depth = depths(stacks)
    levels = sorted(set(depth.values()))
    waves: list[Wave] = []
    for level in levels:
        names = [s.name for s in stacks if depth[s.name] == level]
        whole = len(levels) == 1
        waves.append(Wave(env.name, level, tuple(names), _entries(names, whole, shards, cap)))
    return tuple(waves)


def build_pipeline(project: Project, ci: Ci, shards: int | None = None) -> Pipeline:
    """The pipeline for `ci`: refused for a project whose environments cannot share state across machines."""
    cap = MATRIX_CAP[ci]
    if shards is not None and not 1 <= shards <= cap:
        raise SecureCartError(
            f"--shards {shards} is outside 1 to {cap}",
            hint=f"{CI_NAMES[ci]} runs at most {cap} jobs per matrix; give --shards between 1 and {cap}",
        )
    envs = promotion_order(project)
    if not envs:
        raise SecureCartError(
            "the project has no environment files, so there is nothing to promote through CI",
            hint="add environments/dev.yaml (and staging, prod) with an S3 backend; `securecart-tf init` writes them",
        )
    require_s3_backends(project, envs)
    model = build_model(project)
    return Pipeline(ci, tuple(EnvPlan(env, env_waves(model, env, shards, cap)) for env in envs))
