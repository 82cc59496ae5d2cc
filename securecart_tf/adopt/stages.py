"""Environment files: one environment holding everything, or one per promotion stage the user names."""

from __future__ import annotations

import re
from typing import Any

from securecart_tf.adopt.scope import Scope, listing
from securecart_tf.adopt.yamltext import dump
from securecart_tf.config.schema import ENV_NAME
from securecart_tf.errors import SecureCartError

DEFAULT_ENVIRONMENT = "main"


def assign_stages(scope: Scope, stages: dict[str, list[str]]) -> dict[str, str]:
    """Matrix account name → its stage. Accounts are named by matrix name, AWS name or ID; each account is in
    exactly one stage, except the management account, which joins the first stage when no stage names it."""
    if not stages:
        raise SecureCartError("--stages names no stage", hint="e.g. --stages dev=a,b staging=c prod=d")
    by_ref: dict[str, str] = {}
    for name, account_id in scope.ids.items():
        by_ref.update({name: name, account_id: name, scope.aws_names[name]: name})
    stage_of: dict[str, str] = {}
    for i, (stage, refs) in enumerate(stages.items()):
        if i and not refs:
            raise SecureCartError(f"stage {stage} names no account", hint="give it accounts, or leave it out")
        if not re.match(ENV_NAME, stage):
            raise SecureCartError(
                f"stage name {stage!r} is not an environment name",
                hint="lowercase letters, digits and '-', starting with a letter, such as dev",
            )
        for ref in refs:
            found = by_ref.get(ref)
            if found is None:
                raise SecureCartError(
                    f"stage {stage}: no account is called {ref!r}",
                    hint=f"name accounts by name or ID; the accounts are {listing(scope.account_order())}",
                )
            if found in stage_of:
                raise SecureCartError(
                    f"account {found} is in two stages, {stage_of[found]} and {stage}",
                    hint="each account rolls out in exactly one stage",
                )
            stage_of[found] = stage
    stage_of.setdefault(scope.management, next(iter(stages)))
    missing = [n for n in scope.account_order() if n not in stage_of]
    if missing:
        raise SecureCartError(
            f"accounts {listing(missing)} are in no stage",
            hint="each account rolls out in exactly one stage: add them to --stages",
        )
    return stage_of


def environment_files(
    scope: Scope, target: dict[str, Any], stages: list[str] | None, has_identity_center: bool
) -> dict[str, str]:
    """environments/<name>.yaml for each stage (or the one default environment), in promotion order."""
    names = stages or [DEFAULT_ENVIRONMENT]
    stacks = ["organization", *(["identity-center"] if has_identity_center else [])]
    files: dict[str, str] = {}
    for i, env in enumerate(names):
        accounts = [a for a in scope.account_order() if scope.stage_of.get(a, DEFAULT_ENVIRONMENT) == env]
        doc: dict[str, Any] = {"name": env}
        if i == 0:
            doc["description"] = "Imported: the organization-wide stacks" + (" and " if accounts else "")
            doc["description"] += "the first stage's accounts" if stages else "every account"
        else:
            doc["description"] = f"Imported; a revision arrives here only after it applied cleanly in {names[i - 1]}"
            doc["promotes_from"] = names[i - 1]
        if i == 0:
            doc["stacks"] = stacks
        if accounts:
            doc["accounts"] = accounts
        doc["target"] = target
        doc["backend"] = {"type": "local"}
        doc["approval"] = "always" if len(names) > 1 and i == len(names) - 1 else "prompt"
        header = "Written by `securecart-tf import`." + (
            "\nThe first stage also owns the organization-wide stacks." if i == 0 and stages else ""
        )
        files[f"environments/{env}.yaml"] = dump(doc, header)
    return files
