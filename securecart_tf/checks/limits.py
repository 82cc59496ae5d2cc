"""AWS quota checks, each reading the limits table and measuring what the model renders."""

from __future__ import annotations

import json
import re
from collections import defaultdict

from securecart_tf.checks.context import Context, PathT
from securecart_tf.checks.rules import finding
from securecart_tf.config.schema import Guardrail, iso_duration_hours, ou_paths
from securecart_tf.findings import Finding
from securecart_tf.iam.documents import minify
from securecart_tf.iam.limits import COUNT_LIMIT, FULL_ACCESS, SIZE_LIMIT
from securecart_tf.iam.lint import shorten, statement_label, statements

_RAISED_SCP = 10240


def check_limits(ctx: Context) -> list[Finding]:
    return [
        *_scps(ctx),
        *_ou_depth(ctx),
        *_account_count(ctx),
        *_roles(ctx),
        *_policies(ctx),
        *_permission_sets(ctx),
    ]


def _account_count(ctx: Context) -> list[Finding]:
    """CreateAccount fails with ACCOUNT_NUMBER_LIMIT_EXCEEDED once the organization's quota is used up."""
    limit = ctx.limits["accounts_per_organization"]
    accounts = ctx.matrix.accounts
    if len(accounts) <= limit:
        return []
    first_over = accounts[limit]  # the account that takes the first place beyond the quota
    return [
        finding(
            "accounts-per-organization",
            f"the organization would have {len(accounts)} accounts, the management account included; its "
            f"account quota is {limit}, so creating '{first_over.name}' and the ones after it would fail",
            ctx.at("accounts", limit, "name"),
            "request a higher quota (Service Quotas: AWS Organizations, 'Default maximum number of accounts') "
            "and set limits.accounts_per_organization to it",
            first_over.name,
        )
    ]


def _n(value: int) -> str:
    return f"{value:,}"


def _scp_fix(ctx: Context, what: str, kind: str = "scp") -> str:
    if kind == "scp" and ctx.limits["scp_max_chars"] < _RAISED_SCP:
        return f"{what}, or set limits.scp_max_chars: {_RAISED_SCP} if your organization has the raised quota"
    return what


def _scps(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    attached: dict[tuple[str, str], list[tuple[str, PathT]]] = defaultdict(list)
    labels: dict[str, str] = {}
    for i, g in enumerate(ctx.matrix.guardrails):
        parts = ctx.scp_parts(g)
        out += _scp_size(ctx, i, g, parts)
        out += _scp_name(ctx, i, g, parts)
        for key, label, path in ctx.target_entries(i):
            labels[key] = label
            attached[(g.type, key)].extend((name, path) for name, _ in parts)
    for (policy_type, key), items in attached.items():
        out += _scp_slots(ctx, policy_type, key, labels[key], items)
    return out


def _scp_size(ctx: Context, i: int, g: Guardrail, parts: list[tuple[str, str]]) -> list[Finding]:
    """A guardrail over the size limit: packed into several policies, fitting once minified, or too large."""
    out: list[Finding] = []
    loc = ctx.guardrail_location(i)
    limit = ctx.limits[SIZE_LIMIT[g.type]]
    kind = g.type.upper()
    document = ctx.guardrail_document(g)
    oversized = [(name, content) for name, content in parts if len(content) > limit]
    for _name, content in oversized:
        inside = statements(json.loads(content))
        originals = statements(document)
        labels_in = [statement_label(s, originals.index(s) if s in originals else k) for k, s in enumerate(inside)]
        out.append(
            finding(
                "scp-too-large",
                f"guardrail '{g.name}': {' and '.join(labels_in)} alone is {_n(len(content))} characters "
                f"minified, over the {_n(limit)} {kind} limit, so no packing can fit it",
                loc,
                _scp_fix(ctx, "split its actions over several statements", g.type),
                g.name,
            )
        )
    if g.file is not None and len(parts) == 1 and not oversized:
        written = len(ctx.project.policy_files[g.file].text)
        if written > limit:
            out.append(
                finding(
                    "scp-minified",
                    f"guardrail '{g.name}': {g.file} is {_n(written)} characters as written, over the "
                    f"{_n(limit)} {kind} limit; it is sent minified, at {_n(len(parts[0][1]))}",
                    loc,
                    "nothing to do: whitespace is stripped before the SCP is sent",
                    g.name,
                )
            )
    if len(parts) > 1 and not oversized:
        sizes = ", ".join(f"{name} ({_n(len(content))})" for name, content in parts)
        out.append(
            finding(
                "scp-packed",
                f"guardrail '{g.name}' is {_n(len(minify(document)))} characters minified, over the "
                f"{_n(limit)} {kind} limit; its statements are packed into {len(parts)} {kind}s: {sizes}",
                loc,
                _scp_fix(ctx, "nothing to do, but each part takes an attachment slot on every target", g.type),
                g.name,
            )
        )
    return out


def _scp_name(ctx: Context, i: int, g: Guardrail, parts: list[tuple[str, str]]) -> list[Finding]:
    name_limit = ctx.limits["policy_name_chars"]
    longest = max((name for name, _ in parts), key=len)
    if len(longest) <= name_limit:
        return []
    return [
        finding(
            "scp-name-length",
            f"{g.type.upper()} name '{longest}' is {len(longest)} characters; AWS allows {name_limit}",
            ctx.at("guardrails", i, "name"),
            f"shorten the guardrail name to at most {name_limit - len(longest) + len(g.name)} characters",
            g.name,
        )
    ]


def _scp_slots(ctx: Context, policy_type: str, key: str, label: str, items: list[tuple[str, PathT]]) -> list[Finding]:
    """More policies of one type attached to a target than it has slots for."""
    slots = ctx.limits[COUNT_LIMIT[policy_type]]
    total = 1 + len(items)  # (RCP)FullAWSAccess is attached to every root, OU and account
    if total <= slots:
        return []
    names = [FULL_ACCESS[policy_type], *(name for name, _ in items)]
    _, path = items[slots - 1]  # the attachment that takes the first slot beyond the limit
    subject = key.split(":", 1)[1] if ":" in key else key
    fix = f"merge guardrails into fewer {policy_type.upper()}s, or attach some at a parent OU"
    if policy_type == "scp" and slots < 10:
        fix += "; or set limits.scps_per_target: 10 if your organization has the raised quota"
    return [
        finding(
            "scps-per-target",
            f"{label} would have {total} {policy_type.upper()}s attached directly, over the limit of "
            f"{slots}: {', '.join(names)}",
            ctx.at(*path),
            fix,
            subject,
        )
    ]


def _ou_depth(ctx: Context) -> list[Finding]:
    limit = ctx.limits["ou_depth"]
    return [
        finding(
            "ou-depth",
            f"OU '{path}' is nested {depth} levels deep; AWS allows {limit} levels under the root",
            ctx.at(*pos, "name"),
            "move it (and the OUs beneath it) up a level",
            path,
        )
        for path, depth, pos in ou_paths(ctx.matrix.organization.units)
        if depth == limit + 1  # the first level too deep; the OUs beneath it go with it
    ]


def _trust_size(ctx: Context, name: str, base: PathT) -> list[Finding]:
    limit = ctx.limits["role_trust_policy_chars"]
    over = [(acc, len(spec["trust_policy"])) for acc, spec in ctx.rendered_roles(name)]
    over = [(acc, size) for acc, size in over if size > limit]
    if not over:
        return []
    biggest = max(size for _, size in over)
    fix = "trust fewer principals, or list several ARNs in one statement"
    if limit < 8192:
        fix += "; or raise limits.role_trust_policy_chars after a quota increase"
    return [
        finding(
            "trust-policy-size",
            f"role '{name}' has a trust policy of {_n(biggest)} characters in "
            f"{shorten([acc for acc, _ in over])}, over the {_n(limit)} limit",
            ctx.at(*base, "trust") if ctx.has(*base, "trust") else ctx.at(*base, "name"),
            fix,
            name,
        )
    ]


def _managed_count(ctx: Context, name: str, count: int, path: PathT) -> list[Finding]:
    limit = ctx.limits["managed_policies_per_role"]
    if count <= limit:
        return []
    return [
        finding(
            "managed-policies-per-role",
            f"role '{name}' has {count} managed policies; IAM allows {limit} per role",
            ctx.at(*path),
            "merge customer-managed policies, or raise limits.managed_policies_per_role after a quota increase",
            name,
        )
    ]


def _role_name(ctx: Context, name: str, path: PathT) -> list[Finding]:
    limit = ctx.limits["role_name_chars"]
    if len(name) <= limit:
        return []
    return [
        finding(
            "role-name-length",
            f"role name '{name}' is {len(name)} characters; IAM allows {limit}",
            ctx.at(*path),
            f"shorten it to at most {limit} characters",
            name,
        )
    ]


def _roles(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    low, high = ctx.limits["role_session_min_seconds"], ctx.limits["role_session_max_seconds"]
    for i, r in enumerate(ctx.matrix.roles):
        base: PathT = ("roles", i)
        out += _role_name(ctx, r.name, (*base, "name"))
        session_path = (*base, "max_session_duration") if ctx.has(*base, "max_session_duration") else (*base, "name")
        if not low <= r.max_session_duration <= high:
            out.append(
                finding(
                    "role-session-duration",
                    f"role '{r.name}' asks for max_session_duration {r.max_session_duration}s; IAM allows "
                    f"{low} to {high} seconds",
                    ctx.at(*session_path),
                    f"set max_session_duration between {low} and {high}",
                    r.name,
                )
            )
        elif (
            r.max_session_duration > 3600
            and r.trust.principals  # a trust policy file says who in its own words: no telling
            and all(p.identity_center is not None or p.role is not None for p in r.trust.principals)
        ):
            out.append(
                finding(
                    "role-chaining-session",
                    f"role '{r.name}' is assumed only from other role sessions (role chaining), which AWS caps at "
                    f"one hour, so max_session_duration {r.max_session_duration}s is never used",
                    ctx.at(*session_path),
                    "set max_session_duration: 3600; a chained session lasts one hour whatever the role allows",
                    r.name,
                )
            )
        out += _trust_size(ctx, r.name, base)
        out += _managed_count(ctx, r.name, len(r.managed_policies), (*base, "managed_policies"))
        out += _inline_size(ctx, "role", r.name, base, "move permissions into a customer-managed policy")
    for i, s in enumerate(ctx.matrix.service_roles):
        base = ("service_roles", i)
        out += _role_name(ctx, s.name, (*base, "name"))
        out += _trust_size(ctx, s.name, base)
        out += _managed_count(ctx, s.name, len(s.managed_policies), (*base, "managed_policies"))
        fix = "split the service into several roles, or share one bucket prefix or table pattern"
        out += _inline_size(ctx, "service role", s.name, base, fix)
    return out


def _inline_size(ctx: Context, kind: str, name: str, base: PathT, fix: str) -> list[Finding]:
    """A role's inline policies together, in each account, against IAM's per-role limit."""
    limit = ctx.limits["role_inline_policy_chars"]
    sizes = [(acc, sum(len(p) for p in spec["inline_policies"].values())) for acc, spec in ctx.rendered_roles(name)]
    over = [(acc, size) for acc, size in sizes if size > limit]
    if not over:
        return []
    where = (*base, "inline_policies") if ctx.has(*base, "inline_policies") else (*base, "name")
    return [
        finding(
            "role-inline-policy-size",
            f"{kind} '{name}' has inline policies of {_n(max(n for _, n in over))} characters in "
            f"{shorten([acc for acc, _ in over])}; IAM allows {_n(limit)} per role",
            ctx.at(*where),
            fix,
            name,
        )
    ]


def _policies(ctx: Context) -> list[Finding]:
    limit = ctx.limits["managed_policy_chars"]
    out = []
    for p in ctx.matrix.policies:
        size = len(minify(ctx.policy_document(p.name)))
        if size > limit:
            out.append(
                finding(
                    "managed-policy-size",
                    f"policy '{p.name}' is {_n(size)} characters minified; IAM allows {_n(limit)}",
                    ctx.policy_location(p.name),
                    "split it into two policies and attach both",
                    p.name,
                )
            )
    return out


def _permission_sets(ctx: Context) -> list[Finding]:
    ic = ctx.matrix.identity_center
    if ic is None:
        return []
    out: list[Finding] = []
    lim = ctx.limits
    for i, ps in enumerate(ic.permission_sets):
        base: PathT = ("identity_center", "permission_sets", i)
        if len(ps.name) > lim["permission_set_name_chars"]:
            out.append(
                finding(
                    "permission-set-name-length",
                    f"permission set name '{ps.name}' is {len(ps.name)} characters; Identity Center allows "
                    f"{lim['permission_set_name_chars']}",
                    ctx.at(*base, "name"),
                    f"shorten it to at most {lim['permission_set_name_chars']} characters",
                    ps.name,
                )
            )
        minutes = round(iso_duration_hours(ps.session_duration) * 60)
        low, high = lim["permission_set_session_min_minutes"], lim["permission_set_session_max_minutes"]
        if not low <= minutes <= high:
            out.append(
                finding(
                    "permission-set-session-duration",
                    f"permission set '{ps.name}' asks for session_duration {ps.session_duration}; Identity Center "
                    f"allows PT{low // 60}H to PT{high // 60}H",
                    ctx.at(*base, "session_duration"),
                    f"set session_duration between PT{low // 60}H and PT{high // 60}H",
                    ps.name,
                )
            )
        rendered = ctx.rendered_permission_set(ps.name)
        inline = rendered["inline_policy"] if rendered else None
        if inline:
            size_bytes = len(inline.encode("utf-8"))
            chars = len(re.sub(r"\s", "", inline))
            problems = []
            if size_bytes > lim["permission_set_inline_bytes"]:
                problems.append(f"{_n(size_bytes)} bytes (limit {_n(lim['permission_set_inline_bytes'])})")
            if chars > lim["permission_set_inline_chars"]:
                problems.append(
                    f"{_n(chars)} non-whitespace characters (limit {_n(lim['permission_set_inline_chars'])})"
                )
            if problems:
                out.append(
                    finding(
                        "permission-set-inline-policy-size",
                        f"permission set '{ps.name}' has an inline policy of {' and '.join(problems)}",
                        ctx.at(*base, "inline_policy"),
                        "move part of it into a customer-managed policy listed in customer_managed_policies",
                        ps.name,
                    )
                )
        count = len(ps.managed_policies) + len(ps.customer_managed_policies)
        cap = min(lim["permission_set_managed_policies"], lim["managed_policies_per_role"])
        if count > cap:
            out.append(
                finding(
                    "permission-set-managed-policies",
                    f"permission set '{ps.name}' has {count} managed policies; at most {cap} fit (Identity Center "
                    f"allows {lim['permission_set_managed_policies']}, "
                    f"IAM {lim['managed_policies_per_role']} per role)",
                    ctx.at(*base, "managed_policies" if ps.managed_policies else "customer_managed_policies"),
                    "merge customer-managed policies, or raise limits.managed_policies_per_role after a quota increase",
                    ps.name,
                )
            )
    return out
