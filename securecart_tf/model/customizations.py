"""Customizations: each one's module block in the access stack of every account it targets, with its inputs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from securecart_tf.config.load import Project
from securecart_tf.config.schema import Customization
from securecart_tf.errors import InputError
from securecart_tf.model.index import MatrixIndex

LOCAL_FOLDER = "customizations"
"""Where a stack's folder holds its copies of local customization modules."""
_PLACEHOLDER = re.compile(r"\{(account|account_id|environment)\}")


@dataclass
class CustomizationPlacement:
    """Which accounts each customization reaches, and the environments those accounts are in."""

    accounts: dict[str, list[Customization]] = field(default_factory=dict)
    """account → the customizations its access stack holds, in matrix order."""
    stages: dict[str, list[str]] = field(default_factory=dict)
    """customization name → the environments its accounts are deployed by."""


def place_customizations(index: MatrixIndex) -> CustomizationPlacement:
    placed = CustomizationPlacement()
    for custom in index.matrix.customizations:
        accounts = index.expand(custom.targets)
        for acc in accounts:
            placed.accounts.setdefault(acc, []).append(custom)
        placed.stages[custom.name] = index.stages(accounts)
    return placed


def module_block(custom: Customization) -> dict[str, Any]:
    """What the template writes for one customization: its module source and the inputs it passes."""
    source = f"./{LOCAL_FOLDER}/{custom.name}" if custom.is_local else custom.source
    return {"name": custom.name, "source": custom.source, "module_source": source, "version": custom.version}


def customization_inputs(
    project: Project, customs: list[Customization], acc: str, account_id: str, environment: str | None
) -> dict[str, dict[str, Any]]:
    """name → the inputs of each customization in one account, with the placeholders replaced."""
    values = {"account": acc, "account_id": account_id, "environment": environment}
    out: dict[str, dict[str, Any]] = {}
    for custom in customs:
        i = project.matrix.customizations.index(custom)
        out[custom.name] = {
            key: _replace(value, values, project, (i, key), custom.name) for key, value in custom.inputs.items()
        }
    return out


def _replace(value: Any, values: dict[str, str | None], project: Project, where: tuple[int, str], name: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, values, project, where, name) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, values, project, where, name) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        found = values[match.group(1)]
        if found is None:
            raise InputError(
                f"customization '{name}' uses {{environment}} in input '{where[1]}', but account "
                f"'{values['account']}' is in no environment",
                location=project.at("customizations", where[0], "inputs", where[1]),
                hint="give the account environment: in the matrix, or list it in an environment file",
            )
        return found

    return _PLACEHOLDER.sub(one, value)
