"""One `import`: read the live organization, write the project's files, and check what was written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from securecart_tf.errors import SecureCartError

if TYPE_CHECKING:
    from securecart_tf.adopt.inventory import Inventory
    from securecart_tf.adopt.write import Written
    from securecart_tf.config.load import Project
    from securecart_tf.findings import Finding
    from securecart_tf.run.workspace import Target


@dataclass
class Imported:
    """What an import wrote and found: the files, the summary's lists, and the written matrix's findings."""

    inventory: Inventory
    written: Written
    findings: list[Finding] = field(default_factory=list)
    summary_file: Path | None = None
    """Every list of the summary in full: what was not expressed, what the first apply changes, notes."""
    load_error: SecureCartError | None = None
    """The written project failed to load: a bug in import, reported rather than hidden."""

    @property
    def files(self) -> list[str]:
        return sorted(self.written.files)


def existing_files(root: Path, names: list[str]) -> list[str]:
    """The files an import would write that the folder already has."""
    return sorted(n for n in names if (root / n).exists())


def parse_stages(specs: list[str]) -> dict[str, list[str]] | None:
    """`dev=a,b staging=c prod=d` (one or several arguments) → {"dev": ["a", "b"], ...}, in the order given."""
    if not specs:
        return None
    stages: dict[str, list[str]] = {}
    for spec in " ".join(specs).split():
        name, sep, accounts = spec.partition("=")
        if not sep or not name or not accounts:
            raise SecureCartError(
                f"--stages: {spec!r} is not STAGE=ACCOUNT[,ACCOUNT...]",
                hint="e.g. --stages 'dev=dev,sandbox staging=staging prod=prod'",
            )
        if name in stages:
            raise SecureCartError(f"--stages: stage {name!r} is given twice", hint="name each stage once in --stages")
        stages[name] = [a for a in accounts.split(",") if a]
    return stages


def read_and_write(
    root: Path,
    target: Target,
    *,
    deployment_role: str,
    identity_center_region: str | None,
    stages: dict[str, list[str]] | None,
    org_name: str | None,
    force: bool,
    progress: Callable[[str], None],
) -> Imported:
    """Read the organization behind `target`, then write its project into `root` and check it."""
    from securecart_tf.adopt.clients import TargetClients
    from securecart_tf.adopt.live import read_inventory
    from securecart_tf.adopt.write import write_project

    _refuse_overwrite(root, existing_files(root, ["access-matrix.yaml", "adopted.yaml"]), force)
    clients = TargetClients(target, deployment_role)
    inventory = read_inventory(
        clients.management,
        enter=clients.enter,
        region=target.region,
        deployment_role=deployment_role,
        identity_center_region=identity_center_region,
        progress=progress,
    )
    target_spec: dict[str, object] = {"type": "sandbox"} if target.info is not None else {"type": "aws"}
    if target.profile:
        target_spec["profile"] = target.profile
    written = write_project(inventory, target=target_spec, stages=stages, org_name=org_name)
    _refuse_overwrite(root, existing_files(root, list(written.files)), force)
    for name, text in written.files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    imported = _checked(root, Imported(inventory, written))
    imported.summary_file = _write_summary(root, imported)
    return imported


def _refuse_overwrite(root: Path, clash: list[str], force: bool) -> None:
    """Files a person may have edited are overwritten only when asked to (checked before and after reading)."""
    if clash and not force:
        raise SecureCartError(
            f"{root} already has {', '.join(clash[:5])}{' and more' if len(clash) > 5 else ''}",
            hint="import into an empty folder, or pass --force to overwrite those files",
        )


def _write_summary(root: Path, imported: Imported) -> Path:
    from securecart_tf.run.workspace import Workspace

    home = Workspace(root).home
    home.mkdir(parents=True, exist_ok=True)
    path = home / "import-summary.txt"
    sections = [
        ("Not expressed in the matrix (left as they are in AWS)", imported.written.unexpressed),
        ("The first apply changes in place", imported.written.changes),
        ("Notes", imported.written.notes),
    ]
    lines = [f"securecart-tf import of {imported.inventory.organization_id}"]
    for title, items in sections:
        lines += ["", f"{title} ({len(items)}):", *(f"  - {item}" for item in items)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _checked(root: Path, imported: Imported) -> Imported:
    """Load what was written and run every check; findings are reported, never suppressed."""
    from securecart_tf.checks.validate import run_checks
    from securecart_tf.config.load import load_project

    try:
        project = load_project(root / "access-matrix.yaml")
        imported.findings = run_checks(project)
    except SecureCartError as exc:
        imported.load_error = exc
        return imported
    imported.written.notes.extend(stage_waits(project))
    return imported


def stage_waits(project: Project) -> list[str]:
    """The identity-center stack rolls out with the first stage, but waits for the access stacks that hold the
    customer-managed policies its permission sets name: say so when those are in later stages."""
    from securecart_tf.adopt.scope import listing
    from securecart_tf.model import IDENTITY_CENTER, build_model

    model = build_model(project)
    ic = model.stacks.get(IDENTITY_CENTER)
    if ic is None:
        return []
    stage = {name: stack.environment for name, stack in model.stacks.items()}
    later = [d for d in ic.depends_on if stage.get(d) not in (None, ic.environment)]
    if not later:
        return []
    stages = sorted({str(stage[d]) for d in later})
    return [
        f"identity-center rolls out in {ic.environment} but waits for {listing(later)} ({listing(stages)}): its "
        "permission sets name customer-managed policies those accounts hold, and IAM must have them before the "
        f"permission sets are provisioned there; {ic.environment} applies everything else first, and "
        "identity-center follows once those stages are applied"
    ]
