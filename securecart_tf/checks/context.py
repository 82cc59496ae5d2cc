"""What the policy checks look at: the model built from the project, and where each thing is in the YAML.

Checks measure and lint what the model renders (the stack inputs that become `terraform.tfvars.json`), so
the JSON they judge is the JSON AWS receives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from securecart_tf.config.load import Project
from securecart_tf.config.schema import AccessMatrix, Guardrail, Targets
from securecart_tf.errors import Location
from securecart_tf.iam.documents import in_partition, partition_of
from securecart_tf.iam.guardrails import build_guardrail
from securecart_tf.iam.limits import Limits
from securecart_tf.model import IDENTITY_CENTER, ORGANIZATION, Model, access_stack, build_model

PathT = tuple[str | int, ...]


@dataclass
class Context:
    project: Project
    model: Model
    limits: Limits
    _policy_docs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def build(cls, project: Project) -> Context:
        """The context for a project. One `validate` run builds it once and hands it to every check, which
        share the model and the documents it has already parsed."""
        return cls(project, build_model(project), Limits.from_matrix(project.matrix))

    @property
    def matrix(self) -> AccessMatrix:
        return self.project.matrix

    def at(self, *path: str | int) -> Location:
        return self.project.positions.at(path)

    def has(self, *path: str | int) -> bool:
        return self.project.positions.has(path)

    def account_id(self, account: str) -> str:
        return self.model.directory(account)

    @cached_property
    def _environments(self) -> dict[str, str | None]:
        envs: dict[str, str | None] = {}
        for a in self.matrix.accounts:
            envs.setdefault(a.name, a.environment)  # the first account of a name, as a scan would find
        return envs

    def environment(self, account: str) -> str | None:
        return self._environments.get(account)

    @property
    def platform_roles(self) -> list[tuple[str, str]]:
        """(what it is, role name) for the roles no SCP may deny."""
        org = self.matrix.organization
        roles = [("deployment role", org.deployment_role)]
        if org.break_glass_role:
            roles.append(("break-glass role", org.break_glass_role))
        return roles

    # ---- guardrails

    def guardrail_location(self, index: int) -> Location:
        g = self.matrix.guardrails[index]
        return self.at("guardrails", index, "file" if g.file else "builtin")

    def guardrail_document(self, g: Guardrail) -> dict[str, Any]:
        """The SCP before packing, built exactly as the model builds it."""
        if g.file is not None:
            return self.project.policy_files[g.file].document
        assert g.builtin is not None
        exempt = [name for _, name in self.platform_roles] + list(g.exempt_roles)
        document: dict[str, Any] = in_partition(
            build_guardrail(g.builtin, g.parameters, exempt), partition_of(self.matrix.organization.home_region)
        )
        return document

    def scp_parts(self, g: Guardrail) -> list[tuple[str, str]]:
        """(SCP name, content) as rendered for the organization stack."""
        rendered = self.model.stacks[ORGANIZATION].inputs["guardrails"]
        return [(name, rendered[name]["content"]) for name in self.model.scp_parts[g.name]]

    def target_entries(self, index: int) -> list[tuple[str, str, PathT]]:
        """(attachment key, label, YAML path) for each target a guardrail lists."""
        targets: Targets = self.matrix.guardrails[index].targets
        out: list[tuple[str, str, PathT]] = []
        for j, ou in enumerate(targets.ous):
            key = "root" if ou == "/" else f"ou:{ou}"
            out.append((key, "the root" if ou == "/" else f"OU {ou}", ("guardrails", index, "targets", "ous", j)))
        for j, acc in enumerate(targets.accounts):
            out.append((f"account:{acc}", f"account {acc}", ("guardrails", index, "targets", "accounts", j)))
        return out

    # ---- customer-managed policies

    @cached_property
    def _policy_indexes(self) -> dict[str, int]:
        indexes: dict[str, int] = {}
        for i, p in enumerate(self.matrix.policies):
            indexes.setdefault(p.name, i)
        return indexes

    def policy_index(self, name: str) -> int:
        return self._policy_indexes[name]

    def policy_location(self, name: str) -> Location:
        i = self.policy_index(name)
        return self.at("policies", i, "file" if self.matrix.policies[i].file else "document")

    def policy_document(self, name: str) -> dict[str, Any]:
        """A customer-managed policy as rendered into an account's stack (or as it would be, if unused)."""
        if not self._policy_docs:
            for stack in self.model.stacks.values():
                for pname, spec in stack.inputs.get("policies", {}).items():
                    self._policy_docs.setdefault(pname, json.loads(spec["document"]))
        if name not in self._policy_docs:
            pol = self.matrix.policies[self.policy_index(name)]
            self._policy_docs[name] = (
                pol.document.model_dump(mode="json", exclude_none=True)
                if pol.document is not None
                else self.project.policy_files[str(pol.file)].document
            )
        return self._policy_docs[name]

    # ---- roles as rendered per account

    def rendered_roles(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        """(account, role inputs) for every account the role or service role is placed in."""
        out = []
        for acc in self.model.placements.get(name, []):
            stack = self.model.stacks.get(access_stack(acc))
            if stack is not None and name in stack.inputs["roles"]:
                out.append((acc, stack.inputs["roles"][name]))
        return out

    def rendered_permission_set(self, name: str) -> dict[str, Any] | None:
        stack = self.model.stacks.get(IDENTITY_CENTER)
        return stack.inputs["permission_sets"].get(name) if stack is not None else None
