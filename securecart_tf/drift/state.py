"""Resource instances as Terraform state records them: from a state file, a plan file, or `show -json`."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securecart_tf.drift.import_blocks import tf_index


@dataclass(frozen=True)
class Instance:
    """One resource instance in a state snapshot."""

    address: str
    type: str
    attributes: dict[str, Any]
    sensitive: frozenset[str] = frozenset()


def _address(resource: dict[str, Any], index_key: Any) -> str:
    module = resource.get("module") or ""
    prefix = f"{module}." if module else ""
    if resource.get("mode") == "data":
        prefix += "data."
    index = "" if index_key is None else tf_index(index_key)
    return f"{prefix}{resource['type']}.{resource['name']}{index}"


def instances(state: dict[str, Any] | None) -> dict[str, Instance]:
    """Managed resource instances of a state (format version 4), by address."""
    found: dict[str, Instance] = {}
    for resource in (state or {}).get("resources") or []:
        if resource.get("mode") != "managed":
            continue
        for inst in resource.get("instances") or []:
            address = _address(resource, inst.get("index_key"))
            sensitive = frozenset(
                step[0]["value"]
                for step in inst.get("sensitive_attributes") or []
                if isinstance(step, list) and step and isinstance(step[0], dict) and step[0].get("type") == "get_attr"
            )
            found[address] = Instance(address, resource["type"], dict(inst.get("attributes") or {}), sensitive)
    return found


def plan_snapshots(planfile: Path) -> tuple[dict[str, Instance], dict[str, Instance]] | None:
    """The state before and after the refresh, as saved inside a plan file; None if unreadable.

    A plan file is a zip holding `tfstate-prev` (the state as the last run left it) and `tfstate` (the
    same state refreshed). Both are ordinary state files (format 4).
    """
    try:
        with zipfile.ZipFile(planfile) as z:
            previous = json.loads(z.read("tfstate-prev"))
            refreshed = json.loads(z.read("tfstate"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    if previous.get("version") != 4 or refreshed.get("version") != 4:
        return None
    return instances(previous), instances(refreshed)


def _module_instances(module: dict[str, Any], found: dict[str, Instance]) -> None:
    for res in module.get("resources") or []:
        if res.get("mode") != "managed":
            continue
        sensitive = frozenset(k for k, v in (res.get("sensitive_values") or {}).items() if v is True)
        found[res["address"]] = Instance(res["address"], res["type"], dict(res.get("values") or {}), sensitive)
    for child in module.get("child_modules") or []:
        _module_instances(child, found)


def show_snapshots(plan: dict[str, Any]) -> tuple[dict[str, Instance], dict[str, Instance]]:
    """The same two snapshots from `terraform show -json` of a refresh-only plan (the fallback)."""
    refreshed: dict[str, Instance] = {}
    _module_instances(((plan.get("prior_state") or {}).get("values") or {}).get("root_module") or {}, refreshed)
    previous = dict(refreshed)
    for drift in plan.get("resource_drift") or []:
        change = drift.get("change") or {}
        address = drift["address"]
        if change.get("before") is None:
            continue
        sensitive = frozenset(k for k, v in (change.get("before_sensitive") or {}).items() if v is True)
        previous[address] = Instance(address, drift["type"], dict(change["before"]), sensitive)
        if change.get("actions") == ["delete"]:
            refreshed.pop(address, None)
    return previous, refreshed


def managed_attributes(state: dict[str, Any] | None, resource_type: str) -> list[dict[str, Any]]:
    """The attributes of every managed instance of one resource type in a state."""
    return [i.attributes for i in instances(state).values() if i.type == resource_type]


def state_key(state: dict[str, Any] | None, resource_type: str) -> dict[str, str]:
    """ID → for_each key of each instance of a resource type (e.g. SCP ID → SCP name)."""
    found = {}
    for resource in (state or {}).get("resources") or []:
        if resource.get("type") != resource_type or resource.get("mode") != "managed":
            continue
        for inst in resource.get("instances") or []:
            key = inst.get("index_key")
            ident = (inst.get("attributes") or {}).get("id")
            if isinstance(key, str) and isinstance(ident, str):
                found[ident] = key
    return found
