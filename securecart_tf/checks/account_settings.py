"""The security baseline's per-account settings: overrides name real accounts, Config recorders have the baseline's
Config to deliver to, and no customization manages what a setting already manages in the same account."""

from __future__ import annotations

import difflib
import posixpath

from securecart_tf.config.load import Project
from securecart_tf.config.schema import AccountSettings, SecurityBaseline
from securecart_tf.findings import Finding, Severity
from securecart_tf.model.account_settings import effective_settings
from securecart_tf.model.index import MatrixIndex

SETTINGS = ("security_baseline", "every_account")

MANAGED_TYPES: dict[str, tuple[str, ...]] = {
    "s3_public_access_block": ("aws_s3_account_public_access_block",),
    "ebs_encryption": ("aws_ebs_encryption_by_default",),
    "config_recorder": (
        "aws_config_configuration_recorder",
        "aws_config_delivery_channel",
        "aws_config_configuration_recorder_status",
    ),
}
"""Setting → the resource types it manages, of which AWS keeps one per account (or region)."""


def check_account_settings(project: Project) -> list[Finding]:
    baseline = project.matrix.security_baseline
    if baseline is None:
        return []
    findings = _overrides(project, baseline)
    findings.extend(_config_off(project, baseline))
    findings.extend(_customization_conflicts(project, baseline))
    return findings


def _overrides(project: Project, baseline: SecurityBaseline) -> list[Finding]:
    accounts = {a.name for a in project.matrix.accounts}
    return [
        Finding(
            "unknown-reference",
            Severity.error,
            f"account '{name}' is not declared",
            project.positions.at((*SETTINGS, "overrides", name)),
            _did_you_mean(name, accounts),
            name,
        )
        for name in baseline.every_account.overrides
        if name not in accounts
    ]


def _did_you_mean(name: str, accounts: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(accounts), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else "declare the account under accounts:, or remove its override"


def _config_off(project: Project, baseline: SecurityBaseline) -> list[Finding]:
    """A recorder asked for while the baseline's Config is off would deliver to a bucket policy that does not let
    Config write, and feed no aggregator: refuse it rather than silently leave it out."""
    if baseline.config:
        return []
    asked: list[tuple[str | tuple[str, ...], str]] = []
    if baseline.every_account.config_recorder:
        asked.append(("config_recorder", "every_account"))
    for name, override in baseline.every_account.overrides.items():
        if override.config_recorder:
            asked.append((("overrides", name, "config_recorder"), f"account '{name}'"))
    findings = []
    for path, where in asked:
        key = (path,) if isinstance(path, str) else path
        findings.append(
            Finding(
                "baseline-config-off",
                Severity.error,
                f"config_recorder is on for {where}, but security_baseline.config is false: the recorders deliver to "
                "the security account's log bucket and feed its organization aggregator, which config: true creates",
                project.positions.at((*SETTINGS, *key)),
                "set security_baseline.config: true, or config_recorder: false",
                "config_recorder",
            )
        )
    return findings


def _customization_conflicts(project: Project, baseline: SecurityBaseline) -> list[Finding]:
    """A customization that declares a resource a setting also manages in one of its accounts: two resources
    would manage one account's setting, each undoing the other, and removing either would turn it off."""
    index = MatrixIndex(project)
    settings: dict[str, AccountSettings] = {}
    findings = []
    for i, custom in enumerate(project.matrix.customizations):
        module = project.modules.get(posixpath.normpath(custom.source)) if custom.is_local else None
        if module is None:
            continue
        accounts = index.expand(custom.targets)
        for setting, types in MANAGED_TYPES.items():
            declared = [(kind, where) for kind, where in module.resources if kind in types]
            if not declared:
                continue
            both = [
                a for a in accounts if getattr(settings.setdefault(a, effective_settings(baseline, index, a)), setting)
            ]
            if not both:
                continue
            kind, where = declared[0]
            findings.append(
                Finding(
                    "baseline-customization-conflict",
                    Severity.error,
                    f"customization '{custom.name}' manages {kind} ({where}), and so does security_baseline's "
                    f"every_account.{setting} in {', '.join(both)}: the two would undo each other, and removing "
                    "either would remove the setting",
                    project.positions.at(("customizations", i, "source")),
                    f"remove the customization (the baseline's {setting} does the same), or set {setting}: false "
                    f"under security_baseline.every_account (or in overrides, for {', '.join(both)})",
                    custom.name,
                )
            )
    return findings
