"""`import`: adopt an organization that already exists, writing the project that describes it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from securecart_tf.cli.console import err, out
from securecart_tf.errors import SecureCartError

if TYPE_CHECKING:
    from securecart_tf.adopt.importer import Imported
    from securecart_tf.run.workspace import Target

SHOWN = 25
"""Lines of each summary list printed; the rest are counted (all of them are in `.securecart/import-summary.txt`)."""


def _target(root: Path, target: str, profile: str | None, region: str | None) -> Target:
    from securecart_tf import sandbox
    from securecart_tf.run.workspace import Target, Workspace, sandbox_endpoint_override

    if profile is not None or target == "aws":
        return Target("aws", "aws", region or _profile_region(profile) or "us-east-1", profile=profile)
    if target != "sandbox":
        raise SecureCartError(f"--target {target!r} is not known", hint="use --target sandbox, or --profile P")
    info, started = sandbox.up(Workspace(root).home)
    if started:
        err.print(f"[cyan]note:[/] started the sandbox on {info.endpoint} (session {info.session})")
    endpoint = sandbox_endpoint_override()
    return Target("sandbox", f"sandbox:{info.session}", region or "us-east-1", info=info, endpoint=endpoint)


def _profile_region(profile: str | None) -> str | None:
    import boto3

    region: str | None = boto3.session.Session(profile_name=profile).region_name
    return region


def import_(
    target: Annotated[str, typer.Option("--target", help="sandbox (the local sandbox) or aws.")] = "sandbox",
    profile: Annotated[
        str | None, typer.Option("--profile", help="AWS profile of the management account (implies --target aws).")
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="The organization's home region (default: the profile's).")
    ] = None,
    identity_center_region: Annotated[
        str | None, typer.Option("--identity-center-region", help="Where Identity Center lives, if elsewhere.")
    ] = None,
    stages: Annotated[
        list[str] | None,
        typer.Option("--stages", help="Promotion stages and their accounts: 'dev=a,b staging=c prod=d'."),
    ] = None,
    deployment_role: Annotated[
        str, typer.Option("--deployment-role", help="The role entered in member accounts to read their IAM.")
    ] = "OrganizationAccountAccessRole",
    name: Annotated[str | None, typer.Option("--name", help="The organization's short name in the matrix.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files the folder already has.")] = False,
    policy: Annotated[
        bool, typer.Option("--policy", help="Print the read-only IAM policy import needs, and read nothing.")
    ] = False,
) -> None:
    """Read a live organization and write access-matrix.yaml, environments/ and policies/ that describe it.

    The first plan then imports every existing object: nothing is created twice and nothing is destroyed.
    Exit 1 if the written matrix breaks an error-level rule (fix the matrix, then plan).
    """
    from securecart_tf.adopt.importer import parse_stages, read_and_write

    if policy:
        import json

        from securecart_tf.adopt.live import import_policy

        print(json.dumps(import_policy(), indent=2))
        raise typer.Exit(0)
    root = Path.cwd()
    wanted = parse_stages(stages or [])  # before the sandbox starts: bad input changes nothing
    chosen = _target(root, target, profile, region)
    imported = read_and_write(
        root,
        chosen,
        deployment_role=deployment_role,
        identity_center_region=identity_center_region,
        stages=wanted,
        org_name=name,
        force=force,
        progress=lambda message: err.print(f"[dim]{escape(message)}[/]", highlight=False),
    )
    raise typer.Exit(_summary(imported))


def _summary(imported: Imported) -> int:
    """Print what was adopted and what was not; the exit code: 1 when the written matrix has errors."""
    inv = imported.inventory
    iam = sum(len(a.roles) for a in inv.iam)
    ic = inv.identity_center
    out.print(
        f"Read organization {inv.organization_id}: {len(inv.units)} OU(s), {len(inv.accounts)} account(s), "
        f"{sum(not p.aws_managed for p in inv.policies)} organization policy(ies), "
        f"{len(ic.permission_sets) if ic else 0} permission set(s), {iam} role(s) in {len(inv.iam)} account(s)"
    )
    out.print(f"Wrote {', '.join(_grouped(imported.files))}")
    _listing("Not expressed in the matrix (left as they are in AWS)", imported.written.unexpressed)
    _listing("The first apply changes in place", imported.written.changes)
    _listing("Notes", imported.written.notes)
    if imported.summary_file is not None and any(
        len(items) > SHOWN for items in (imported.written.unexpressed, imported.written.changes, imported.written.notes)
    ):
        out.print(f"Every line of these lists is in {escape(str(imported.summary_file))}")
    if imported.load_error is not None:
        err.print(f"[red]error:[/] the written project does not load: {escape(imported.load_error.message)}")
        return 1
    blocking = [f for f in imported.findings if f.blocks]
    for f in blocking:
        out.print(
            f"[red]error[/] {escape(f.rule)}: {escape(f.message)}\n  fix: {escape(f.fix)}",
            highlight=False,
        )
    if blocking:
        out.print(
            f"[red]{len(blocking)} finding(s) at error level[/] in the live organization: fix the matrix "
            "(no suppression was written), then `securecart-tf validate` and `securecart-tf plan`"
        )
        return 1
    warnings = sum(1 for f in imported.findings if f.active)
    first_env = next((f for f in imported.files if f.startswith("environments/")), "environments/main.yaml")
    env = Path(first_env).stem
    out.print(
        f"[green]valid[/] — {warnings} warning(s). Next: `securecart-tf plan --env {env}` imports every existing "
        "object and should create and destroy nothing."
    )
    return 0


def _grouped(files: list[str]) -> list[str]:
    folders: dict[str, int] = {}
    top = []
    for f in files:
        head, sep, _ = f.partition("/")
        if sep:
            folders[head] = folders.get(head, 0) + 1
        else:
            top.append(f)
    return top + [f"{n} file(s) in {d}/" for d, n in sorted(folders.items())]


def _listing(title: str, lines: list[str]) -> None:
    if not lines:
        return
    out.print(f"[bold]{title}[/] ({len(lines)}):")
    for line in lines[:SHOWN]:
        out.print(f"  - {escape(line)}", highlight=False)
    if len(lines) > SHOWN:
        out.print(f"  … and {len(lines) - SHOWN} more")


def register(app: typer.Typer) -> None:
    """Add `import` to the securecart-tf app."""
    app.command("import")(import_)
