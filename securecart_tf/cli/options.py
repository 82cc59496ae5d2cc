"""The options several commands share, each declared once so that every command names and explains it alike."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_MATRIX = Path("access-matrix.yaml")
TIMEOUT_HELP = "Seconds before a Terraform call is stopped (default: 1800)."

MatrixOpt = Annotated[Path, typer.Option("--matrix", "-m", help="The access matrix.", show_default=True)]
EnvOpt = Annotated[str, typer.Option("--env", "-e", help="Environment name (environments/<name>.yaml).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
ParallelismOpt = Annotated[
    int | None, typer.Option("--parallelism", help="Concurrent stacks (default: what the machine holds).")
]
TimeoutOpt = Annotated[float | None, typer.Option("--timeout", help=TIMEOUT_HELP)]
RefreshOpt = Annotated[
    bool, typer.Option("--refresh/--no-refresh", help="Plan every stack, even those unchanged since their last apply.")
]
AutoApproveOpt = Annotated[bool, typer.Option("--auto-approve", help="Do not ask (unless approval: always).")]
ConfirmEnvOpt = Annotated[
    str | None, typer.Option("--confirm-env", help="Type the environment's name here instead of at the prompt.")
]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")]
# destroy and promote ask about something else, so they say so
DestroyAutoApproveOpt = Annotated[bool, typer.Option("--auto-approve", help="Do not ask (sandbox only).")]
ConfirmTargetOpt = Annotated[
    str | None, typer.Option("--confirm-env", help="Type the target environment's name here, not at the prompt.")
]
StacksOpt = Annotated[
    str | None,
    typer.Option(
        "--stacks",
        help="Only these stacks of the environment, comma-separated (e.g. organization,access-dev); a stack they "
        "depend on that is not among them must already be applied.",
    ),
]
ShardOpt = Annotated[
    str | None,
    typer.Option(
        "--shard",
        help="i/N: only the i-th of N slices of the (selected) stacks, dealt round-robin in dependency order.",
    ),
]
PlansOpt = Annotated[
    Path | None,
    typer.Option(
        "--plans",
        help="The folder of saved plans (default: .securecart/plans/<environment>/); carry it between machines.",
    ),
]
