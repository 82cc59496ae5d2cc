"""Cross-reference checks: names that must exist, names that must be unique, and cycles.

Each problem is a `Finding` at the line where the reference is written, so `validate` can list them all.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from securecart_tf.config.environments import AwsTarget, Environment
from securecart_tf.config.load import Project, explain_all
from securecart_tf.config.schema import Guardrail, OrganizationalUnit, PolicyRef, Role, Targets, ou_paths
from securecart_tf.findings import Finding, Severity
from securecart_tf.iam.guardrails import LIBRARY, GuardrailParameterError, build_guardrail

PathT = tuple[str | int, ...]

_LISTED = 12
"""Known names listed at most in a fix; more would not fit on a line."""

_PLACE = "add accounts:, ous: or environments:"


def _suggest(kind: str, name: str, known: Iterable[str]) -> str:
    """A fix for an unknown name: the closest known one, else the names there are."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if not names:
        return "tag an account with environment: first" if kind == "environment" else f"declare the {kind} first"
    shown = ", ".join(names[:_LISTED]) + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")
    if kind == "environment":  # environments exist through the accounts tagged with them
        return f"tag an account with environment: {name}, or use one of: {shown}"
    return f"declare it, or use one of: {shown}"


class _Checker:
    def __init__(self, project: Project):
        self.p = project
        self.m = project.matrix
        self.findings: list[Finding] = []
        self.ous = {path for path, _, _ in ou_paths(self.m.organization.units)} | {"/"}
        self.accounts = {a.name for a in self.m.accounts}
        self.declared_environment: dict[str, str | None] = {}
        for a in self.m.accounts:
            self.declared_environment.setdefault(a.name, a.environment)
        self.environments = {a.environment for a in self.m.accounts if a.environment}
        ic = self.m.identity_center
        self.groups = {g.name for g in ic.groups} if ic else set()
        self.permission_sets = {ps.name for ps in ic.permission_sets} if ic else set()
        self.policies = {p.name for p in self.m.policies}
        self.roles = {r.name for r in self.m.roles} | {r.name for r in self.m.service_roles}

    def error(self, rule: str, message: str, path: PathT, fix: str, subject: str = "") -> None:
        self.findings.append(Finding(rule, Severity.error, message, self.p.positions.at(path), fix, subject))

    def unknown(self, kind: str, name: str, known: set[str], path: PathT) -> None:
        self.error("unknown-reference", f"{kind} '{name}' is not declared", path, _suggest(kind, name, known), name)

    def duplicates(self, kind: str, names: list[str], base: PathT, key: str = "name") -> None:
        counts = Counter(names)
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            if counts[name] > 1:
                if name in seen:
                    first = self.p.positions.at((*base, seen[name], key)).line
                    self.error(
                        "duplicate-name",
                        f"{kind} '{name}' is declared twice (first on line {first})",
                        (*base, i, key),
                        f"rename or remove one {kind}",
                        name,
                    )
                else:
                    seen[name] = i

    def targets(self, targets: Targets, path: PathT) -> None:
        for i, a in enumerate(targets.accounts):
            if a not in self.accounts:
                self.unknown("account", a, self.accounts, (*path, "accounts", i))
        for i, ou in enumerate(targets.ous):
            if ou not in self.ous:
                self.unknown("OU", ou, self.ous, (*path, "ous", i))
        for i, env in enumerate(targets.environments):
            if env not in self.environments:
                self.unknown("environment", env, self.environments, (*path, "environments", i))

    def policy_ref(self, name: str | None, path: PathT) -> None:
        if name is not None and name not in self.policies:
            self.unknown("policy", name, self.policies, path)

    def run(self) -> list[Finding]:
        m = self.m
        self._accounts()
        self.duplicates("guardrail", [g.name for g in m.guardrails], ("guardrails",))
        for i, g in enumerate(m.guardrails):
            self._guardrail(i, g)
        self.duplicates("policy", [p.name for p in m.policies], ("policies",))
        self.duplicates("role", [r.name for r in m.roles], ("roles",))
        self.duplicates("service role", [r.name for r in m.service_roles], ("service_roles",))
        self._iam_names()
        for i, r in enumerate(m.roles):
            self._role(i, r)
        for i, s in enumerate(m.service_roles):
            self._placed("service role", s.name, s.targets(), ("service_roles", i))
            self._policy_refs(s.permissions_boundary, s.managed_policies, ("service_roles", i))
        if m.identity_center is not None:
            self._identity_center()
        if m.security_baseline is not None and m.security_baseline.account not in self.accounts:
            self.unknown("account", m.security_baseline.account, self.accounts, ("security_baseline", "account"))
        for i, rule in enumerate(m.drift.ignore):
            for j, account in enumerate(rule.accounts):
                if account not in self.accounts:
                    self.unknown("account", account, self.accounts, ("drift", "ignore", i, "accounts", j))
        self.duplicates("customization", [c.name for c in m.customizations], ("customizations",))
        for i, c in enumerate(m.customizations):
            self._placed("customization", c.name, c.targets, ("customizations", i, "targets"))
        self._environments()
        self._adopted_accounts()
        return self.findings

    def _accounts(self) -> None:
        m = self.m
        self.duplicates("account", [a.name for a in m.accounts], ("accounts",))
        self.duplicates("account email", [a.email.lower() for a in m.accounts], ("accounts",), "email")
        first_with_id: dict[str, int] = {}
        for i, a in enumerate(m.accounts):
            if a.id is None:
                continue
            if a.id in first_with_id:
                first = m.accounts[first_with_id[a.id]]
                line = self.p.positions.at(("accounts", first_with_id[a.id], "id")).line
                self.error(
                    "duplicate-name",
                    f"account id {a.id} is used by more than one account ('{first.name}' on line {line})",
                    ("accounts", i, "id"),
                    "each account has its own id; check which one was copied",
                    a.name,
                )
            else:
                first_with_id[a.id] = i
        self._ou_siblings(m.organization.units, ("organization", "units"))
        if m.organization.management_account not in self.accounts:
            self.unknown(
                "account", m.organization.management_account, self.accounts, ("organization", "management_account")
            )
        for i, a in enumerate(m.accounts):
            if a.ou not in self.ous:
                self.unknown("OU", a.ou, self.ous, ("accounts", i, "ou"))
            if a.name == m.organization.management_account and a.ou != "/":
                self.error(
                    "management-account-placement",
                    "the management account always sits at the root",
                    ("accounts", i, "ou"),
                    "set ou: /",
                    a.name,
                )

    def _guardrail(self, i: int, g: Guardrail) -> None:
        self.targets(g.targets, ("guardrails", i, "targets"))
        if g.targets.is_empty():
            self.error(
                "empty-targets",
                f"guardrail '{g.name}' is attached nowhere",
                ("guardrails", i, "targets"),
                "add ous: or accounts: under targets",
                g.name,
            )
        if g.builtin is None:
            return
        if g.builtin not in LIBRARY:
            self.unknown("library guardrail", g.builtin, set(LIBRARY), ("guardrails", i, "builtin"))
        elif LIBRARY[g.builtin].type != g.type:
            kind = LIBRARY[g.builtin].type
            self.error(
                "guardrail-type",
                f"guardrail '{g.name}' is of type {g.type}, but library guardrail {g.builtin} is an {kind.upper()}",
                ("guardrails", i, "builtin"),
                f"set type: {kind}, or choose a library {g.type.upper()} (`securecart-tf guardrails`)",
                g.name,
            )
        else:
            self._guardrail_parameters(i, g.name, g.builtin, g.parameters)

    def _placed(self, kind: str, name: str, targets: Targets, base: PathT) -> None:
        """A role's or service role's placement: its targets exist, and there is at least one."""
        self.targets(targets, base)
        if targets.is_empty():
            self.error("empty-targets", f"{kind} '{name}' is placed in no account", base, _PLACE, name)

    def _policy_refs(self, boundary: PolicyRef | None, managed: list[PolicyRef], base: PathT) -> None:
        if boundary is not None:
            self.policy_ref(boundary.policy, (*base, "permissions_boundary", "policy"))
        for j, ref in enumerate(managed):
            self.policy_ref(ref.policy, (*base, "managed_policies", j))

    def _role(self, i: int, r: Role) -> None:
        base: PathT = ("roles", i)
        self._placed("role", r.name, r.targets(), base)
        for j, principal in enumerate(r.trust.principals):
            ppath = (*base, "trust", "principals", j)
            if principal.identity_center is not None:
                ic = principal.identity_center
                if ic.permission_set not in self.permission_sets:
                    self.unknown(
                        "permission set",
                        ic.permission_set,
                        self.permission_sets,
                        (*ppath, "identity_center", "permission_set"),
                    )
                if ic.account not in self.accounts:
                    self.unknown("account", ic.account, self.accounts, (*ppath, "identity_center", "account"))
            if principal.role is not None and principal.role.account not in self.accounts:
                self.unknown("account", principal.role.account, self.accounts, (*ppath, "role", "account"))
            if principal.account is not None and principal.account not in self.accounts:
                self.unknown("account", principal.account, self.accounts, (*ppath, "account"))
        self._policy_refs(r.permissions_boundary, r.managed_policies, base)

    def _adopted_accounts(self) -> None:
        """An invited account has no access role: AWS creates one only in accounts Organizations creates."""
        mgmt = self.m.organization.management_account
        for i, a in enumerate(self.m.accounts):
            if a.id is None or a.name == mgmt or a.access_role_exists:
                continue
            env = next((e for e in self.p.environments.values() if a.name in e.accounts), None)
            target = env.target if env is not None else None
            if isinstance(target, AwsTarget) and a.name in target.account_profiles:
                continue
            role = (target.role_name if isinstance(target, AwsTarget) else None) or self.m.organization.deployment_role
            where = f"environments/{env.name}.yaml" if env is not None else "its environment file"
            self.error(
                "adopted-account-access",
                f"account '{a.name}' is adopted (id {a.id}), and AWS creates {role} only in accounts "
                "Organizations creates, so securecart-tf cannot reach it",
                ("accounts", i, "id"),
                f"create {role} in it (trusting the management account) and add access_role_exists: true, "
                f"or give it a profile under target.account_profiles in {where}",
                a.name,
            )

    def _iam_names(self) -> None:
        """IAM compares role names, and policy names, without regard to case. Exact repeats within one list
        are reported by `duplicates`; this finds the rest before AWS refuses them halfway through an apply."""
        access_roles = {"OrganizationAccountAccessRole"}
        for env in self.p.environments.values():
            role_name = getattr(env.target, "role_name", None)
            if role_name:
                access_roles.add(role_name)
        reserved = {name.lower(): name for name in access_roles}
        entries: list[tuple[str, str, PathT]] = [
            ("role", r.name, ("roles", i, "name")) for i, r in enumerate(self.m.roles)
        ]
        entries += [("service role", r.name, ("service_roles", i, "name")) for i, r in enumerate(self.m.service_roles)]
        self._case_clashes(entries, "IAM role names are unique in an account regardless of case", reserved)
        policies: list[tuple[str, str, PathT]] = [
            ("policy", p.name, ("policies", i, "name")) for i, p in enumerate(self.m.policies)
        ]
        self._case_clashes(policies, "IAM policy names are unique in an account regardless of case", {})

    def _case_clashes(self, entries: list[tuple[str, str, PathT]], why: str, reserved: dict[str, str]) -> None:
        seen: dict[str, tuple[str, str, PathT]] = {}
        for kind, name, path in entries:
            key = name.lower()
            if key in reserved:
                self.error(
                    "duplicate-name",
                    f"{kind} '{name}' has the name of {reserved[key]}, the role the tool reaches each member account "
                    f"through; {why}",
                    path,
                    f"rename the {kind}",
                    name,
                )
                continue
            first = seen.get(key)
            if first is None:
                seen[key] = (kind, name, path)
                continue
            first_kind, first_name, first_path = first
            if (first_kind, first_name) == (kind, name):
                continue  # an exact repeat in one list: `duplicates` reports it
            line = self.p.positions.at(first_path).line
            same = "the same name as" if first_name == name else "a name differing only in case from"
            self.error(
                "duplicate-name",
                f"{kind} '{name}' has {same} {first_kind} '{first_name}' (line {line}); {why}",
                path,
                "rename one of them",
                name,
            )

    def _guardrail_parameters(self, i: int, name: str, builtin: str, parameters: dict[str, Any]) -> None:
        base: PathT = ("guardrails", i, "parameters")
        model = LIBRARY[builtin].params
        fix = f"see `securecart-tf guardrails` for {builtin}'s parameters"
        try:
            model.model_validate(parameters)
        except ValidationError as exc:
            for problem in explain_all(exc, model, parameters, self.p.positions, base):
                self.findings.append(
                    Finding(
                        "guardrail-parameters",
                        Severity.error,
                        f"guardrail '{name}': {problem.message}",
                        problem.location or self.p.positions.at(base),
                        problem.hint or fix,
                        name,
                    )
                )
            return
        try:
            build_guardrail(builtin, dict(parameters), [])
        except GuardrailParameterError as exc:
            self.error("guardrail-parameters", f"guardrail '{name}': {exc}", base, fix, name)

    def _ou_siblings(self, units: list[OrganizationalUnit], path: PathT) -> None:
        self.duplicates("OU", [u.name for u in units], path)
        for i, u in enumerate(units):
            self._ou_siblings(u.units, (*path, i, "units"))

    def _identity_center(self) -> None:
        ic = self.m.identity_center
        assert ic is not None
        base: PathT = ("identity_center",)
        self.duplicates("group", [g.name for g in ic.groups], (*base, "groups"))
        self.duplicates("permission set", [p.name for p in ic.permission_sets], (*base, "permission_sets"))
        for i, ps in enumerate(ic.permission_sets):
            for j, name in enumerate(ps.customer_managed_policies):
                self.policy_ref(name, (*base, "permission_sets", i, "customer_managed_policies", j))
            if ps.permissions_boundary is not None:
                self.policy_ref(
                    ps.permissions_boundary.policy, (*base, "permission_sets", i, "permissions_boundary", "policy")
                )
        seen: dict[tuple[str, str], int] = {}
        for i, a in enumerate(ic.assignments):
            path = (*base, "assignments", i)
            if a.group not in self.groups:
                self.unknown("group", a.group, self.groups, (*path, "group"))
            if a.permission_set not in self.permission_sets:
                self.unknown("permission set", a.permission_set, self.permission_sets, (*path, "permission_set"))
            self.targets(a.targets(), path)
            if a.targets().is_empty():
                self.error(
                    "empty-targets",
                    f"assignment of {a.permission_set} to {a.group} covers no account",
                    path,
                    "add accounts:, ous: or environments:",
                    a.group,
                )
            key = (a.group, a.permission_set)
            if key in seen:
                first = self.p.positions.at((*base, "assignments", seen[key])).line
                self.error(
                    "duplicate-name",
                    f"{a.group} is given {a.permission_set} twice (first on line {first}); merge the targets",
                    path,
                    "list all targets in one assignment",
                    a.group,
                )
            seen.setdefault(key, i)

    def _environments(self) -> None:
        envs = self.p.environments
        if not envs:
            return
        owner: dict[str, str] = {}
        for name, env in envs.items():
            self._environment_accounts(name, env)
            self._environment_stacks(name, env)
            self._stack_owners(name, env, owner)
            if env.promotes_from is not None and env.promotes_from not in envs:
                close = difflib.get_close_matches(env.promotes_from, sorted(envs), n=1)
                self._env_error(
                    name,
                    "unknown-reference",
                    f"promotes_from names unknown environment '{env.promotes_from}'",
                    ("promotes_from",),
                    f"did you mean '{close[0]}'?" if close else "name an environment file",
                )
        self._uncovered(owner)
        self._promotion_cycles()

    def _env_error(self, env: str, rule: str, message: str, path: PathT, fix: str) -> None:
        """An error in an environment file, about that environment."""
        at = self.p.environment_positions[env].at(path)
        self.findings.append(Finding(rule, Severity.error, message, at, fix, env))

    def _environment_accounts(self, name: str, env: Environment) -> None:
        for i, account in enumerate(env.accounts):
            if account not in self.accounts:
                close = difflib.get_close_matches(account, sorted(self.accounts), n=1)
                self._env_error(
                    name,
                    "unknown-reference",
                    f"account '{account}' is not in the matrix",
                    ("accounts", i),
                    f"did you mean '{close[0]}'?" if close else "declare it under accounts: in the matrix",
                )
                continue
            declared = self.declared_environment[account]
            if declared and declared != name:
                self._env_error(
                    name,
                    "environment-mismatch",
                    f"account '{account}' is tagged environment '{declared}' in the matrix but rolls out in '{name}'",
                    ("accounts", i),
                    f"move it to environments/{declared}.yaml",
                )

    def _environment_stacks(self, name: str, env: Environment) -> None:
        role_name = getattr(env.target, "role_name", None)
        deployment_role = self.m.organization.deployment_role
        if role_name and role_name != deployment_role and not getattr(env.target, "role_name_reason", None):
            self._env_error(
                name,
                "role-name-mismatch",
                f"target.role_name '{role_name}' differs from the matrix's deployment_role '{deployment_role}', "
                "which is the role guardrails exempt",
                ("target", "role_name"),
                "remove role_name to assume deployment_role, or say why in target.role_name_reason:",
            )
        for i, stack in enumerate(env.stacks):
            if stack == "security" and self.m.security_baseline is None:
                self._env_error(
                    name,
                    "unknown-reference",
                    "stack 'security' needs a security_baseline in the matrix",
                    ("stacks", i),
                    "add security_baseline: or drop the stack",
                )
            if stack == "identity-center" and self.m.identity_center is None:
                self._env_error(
                    name,
                    "unknown-reference",
                    "stack 'identity-center' needs identity_center in the matrix",
                    ("stacks", i),
                    "add identity_center: or drop the stack",
                )

    def _stack_owners(self, name: str, env: Environment, owner: dict[str, str]) -> None:
        """Record which environment covers each stack in `owner`; a stack covered twice is an error."""
        file = self.p.environment_files[name]
        entries: list[tuple[str, PathT]] = [(s, ("stacks", i)) for i, s in enumerate(env.stacks)]
        entries += [(f"access-{a}", ("accounts", i)) for i, a in enumerate(env.accounts)]
        for key, entry in entries:
            if key not in owner:
                owner[key] = name
                continue
            other = owner[key]
            if other != name:
                message = f"stack '{key}' is covered by both {other} and {name}"
                fix = f"keep it in one environment file ({file.name} or {self.p.environment_files[other].name})"
            else:
                message, fix = f"stack '{key}' is listed twice in {file.name}", "remove the repeated entry"
            self._env_error(name, "duplicate-name", message, entry, fix)

    def _uncovered(self, owner: dict[str, str]) -> None:
        """Once environment files exist, every account and every stack the matrix needs is in one."""
        envs = self.p.environments
        for i, a in enumerate(self.m.accounts):
            if f"access-{a.name}" not in owner:
                self.error(
                    "uncovered-account",
                    f"account '{a.name}' is in no environment file",
                    ("accounts", i, "name"),
                    "add it to accounts: of one environments/*.yaml",
                    a.name,
                )
        for stack in ("organization", "security", "identity-center"):
            needed = (
                stack == "organization"
                or (stack == "security" and self.m.security_baseline is not None)
                or (stack == "identity-center" and self.m.identity_center is not None)
            )
            if needed and stack not in owner:
                starts = sorted(n for n, e in envs.items() if e.promotes_from is None) or sorted(envs)
                first = starts[0]
                self.findings.append(
                    Finding(
                        "uncovered-stack",
                        Severity.error,
                        f"stack '{stack}' is in no environment file",
                        self.p.environment_positions[first].at(("stacks",)),
                        f"add it to stacks: of the first stage ({self.p.environment_files[first].name})",
                        stack,
                    )
                )

    def _promotion_cycles(self) -> None:
        """The promotion chain has no cycle; each cycle is reported once, at its first member by name."""
        envs = self.p.environments
        reported: set[frozenset[str]] = set()
        for name in sorted(envs):
            seen_chain = [name]
            current = envs[name].promotes_from
            while current is not None and current in envs:
                if current in seen_chain:
                    cycle = seen_chain[seen_chain.index(current) :]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        self._cycle(cycle)
                    break
                seen_chain.append(current)
                current = envs[current].promotes_from

    def _cycle(self, cycle: list[str]) -> None:
        start = min(cycle)
        ordered = cycle[cycle.index(start) :] + cycle[: cycle.index(start)]
        chain = " → ".join([*ordered, start])
        self.findings.append(
            Finding(
                "promotion-cycle",
                Severity.error,
                f"promotion order has a cycle: {chain} (each stage promotes from the next)",
                self.p.environment_positions[start].at(("promotes_from",)),
                "the first stage (usually dev) has no promotes_from; remove it there",
                start,
            )
        )


def check_references(project: Project) -> list[Finding]:
    return _Checker(project).run()
