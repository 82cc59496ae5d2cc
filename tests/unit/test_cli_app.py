"""The command line's shape: shared options explained alike in every command, and a start-up that loads little."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from typing import Any

import typer
from typer.core import TyperGroup, TyperOption

SHARED = ("--matrix", "--json", "--parallelism", "--timeout", "--refresh", "--output", "--stacks", "--shard", "--plans")


def commands(group: TyperGroup, prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            found |= commands(command, f"{prefix}{name} ")
        else:
            found[f"{prefix}{name}"] = command
    return found


def test_an_option_shared_by_several_commands_has_one_help_text() -> None:
    from securecart_tf.cli.app import app

    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    helps: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for name, command in commands(root).items():
        for param in command.params:
            if isinstance(param, TyperOption) and param.opts[0] in SHARED:
                helps[param.opts[0]][param.help or ""].append(name)
    assert {"--matrix", "--json", "--parallelism", "--timeout"} <= set(helps)
    differing = {option: dict(texts) for option, texts in helps.items() if len(texts) > 1}
    assert not differing, f"the same option is explained differently: {differing}"


def test_the_version_loads_no_heavy_module() -> None:
    """`securecart-tf --version` runs on every shell completion and CI step: it must stay quick."""
    probe = "import json, sys; import securecart_tf.cli.app; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout))
    heavy = {"jinja2", "boto3", "botocore", "moto", "pydantic", "yaml", "rich.table", "rich.live"}
    assert not heavy & loaded
    assert not {m for m in loaded if m.startswith(("securecart_tf.run", "securecart_tf.model", "securecart_tf.config"))}
