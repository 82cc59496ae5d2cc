"""Plan, apply and destroy an environment's stacks: in dependency order, in parallel where independent.

A stack starts as soon as the stacks it depends on in this run have finished, up to `parallelism` at
a time. When the environment needs an approval, the stacks that are ready are planned together and
approved once per batch. A stack whose dependency failed is skipped; the others go on, and the exit
code says what happened. The first Ctrl-C starts nothing new; see terraform.ProcessRegistry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from securecart_tf import __version__
from securecart_tf.config.environments import Approval, AwsTarget, Environment, S3Backend
from securecart_tf.config.load import Project
from securecart_tf.errors import RunRefused, SecureCartError, TerraformError
from securecart_tf.iam.limits import LIMITS
from securecart_tf.iam.lint import shorten
from securecart_tf.model import IDENTITY_CENTER, ORGANIZATION, SECURITY, OrgFacts, Stack, build_model
from securecart_tf.render import RenderedStack, render, stacks_of
from securecart_tf.run.ledger import Record, environment_status, last_applied
from securecart_tf.run.revision import revision_of, snapshot
from securecart_tf.run.terraform import (
    S3_LOCKFILE_VERSION,
    Outcome,
    ResourceChange,
    Runner,
    cli_config,
    errored_states,
    find_terraform,
    secrets_of,
    terraform_version,
    wait_for_earlier,
)
from securecart_tf.run.workspace import Workspace, check_aws_credentials

PROVIDER_MEMORY_MIB = 700
"""Peak resident memory of one Terraform plan, Terraform and its AWS provider together: up to 690 MiB
measured against the sandbox (see bench/RESULTS.md)."""

RESOURCE_KINDS = {
    "aws_organizations_policy": "guardrail",
    "aws_organizations_policy_attachment": "attachment",
    "aws_organizations_organizational_unit": "unit",
    "aws_organizations_account": "account",
    "aws_ssoadmin_permission_set": "permission_set",
    "aws_ssoadmin_managed_policy_attachment": "permission_set",
    "aws_ssoadmin_customer_managed_policy_attachment": "permission_set",
    "aws_ssoadmin_permission_set_inline_policy": "permission_set",
    "aws_ssoadmin_permissions_boundary_attachment": "permission_set",
    "aws_ssoadmin_account_assignment": "assignment",
    "aws_identitystore_group": "group",
}


def reached_environments(stack: Stack, changes: list[ResourceChange], own: str) -> list[str]:
    """Environments other than `own` that these planned changes of an organization-wide stack reach at once."""
    if not stack.reach:
        return []
    found: set[str] = set()
    for change in changes:
        kind = RESOURCE_KINDS.get(change.resource_type)
        if kind is None or change.index is None:
            continue
        key = str(change.index)
        table = stack.reach.get(kind, {})
        # sub-resources are keyed "<parent>|...": a permission set's policy attachment reaches what the set does
        found.update(table.get(key) or table.get(key.split("|", 1)[0]) or [])
    found.discard(own)
    return sorted(found)


def require_backend_support(project: Project, env: Environment, version: tuple[int, int, int]) -> None:
    """Refuse, before `terraform init` fails on it, a backend this Terraform cannot use."""
    if not isinstance(env.backend, S3Backend) or version >= S3_LOCKFILE_VERSION:
        return
    needed = ".".join(map(str, S3_LOCKFILE_VERSION))
    positions = project.environment_positions.get(env.name)
    raise TerraformError(
        f"environment '{env.name}' keeps state in S3, locked with use_lockfile, which needs Terraform {needed} "
        f"or newer; this Terraform is {'.'.join(map(str, version))}",
        location=positions.at(("backend", "type")) if positions is not None else None,
        hint=f"upgrade Terraform to {needed} or newer, or use backend: {{ type: local }}",
    )


def default_parallelism() -> int:
    """As many concurrent Terraform processes as the cores can feed and half the memory can hold."""
    cores = os.cpu_count() or 1
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_slots = max(1, int(pages * 0.5 / (PROVIDER_MEMORY_MIB * 1024 * 1024)))
    except (ValueError, OSError):
        memory_slots = 4
    return max(1, min(cores + 1, memory_slots))


# ---- saved plans and state fingerprints -----------------------------------------------------------------

APPLICABLE_PLAN_COMMAND = "plan"
"""The only command whose saved plans `apply` takes: plans made by apply, destroy, promote or rollback are
theirs alone, and one left behind (declined, failed, killed) must never be applied by a later command."""


class UnusablePlan(Exception):
    """A saved plan is there but `apply` must not take it; the message says why."""


@dataclass(frozen=True)
class SavedPlan:
    """A plan file and what its metadata says about it, checked for shape and for which command made it."""

    planfile: Path
    command: str
    revision: str
    stack_hash: str
    target: str
    add: int
    change: int
    remove: int

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.remove)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_saved_plan(planfile: Path, meta_path: Path) -> SavedPlan | None:
    """The plan `plan` saved for a stack, or None when there is none; UnusablePlan when one is there that
    `apply` must not take (unreadable, made by another command, or not the file its metadata describes)."""
    if not planfile.exists() and not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise UnusablePlan(f"{planfile} has no metadata file {meta_path.name}") from None
    except (OSError, ValueError) as exc:
        raise UnusablePlan(f"its metadata {meta_path} is unreadable ({exc})") from None
    if not isinstance(meta, dict):
        raise UnusablePlan(f"its metadata {meta_path} is not a JSON object")
    if meta.get("destroy") is True:
        raise UnusablePlan("it was made by `destroy`; apply takes only plans that `plan` saved")
    for key in ("add", "change", "remove"):
        value = meta.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise UnusablePlan(f"its metadata {meta_path} has no valid {key!r} count")
    for key in ("command", "revision", "stack_hash", "target", "digest"):
        if not isinstance(meta.get(key), str):
            raise UnusablePlan(f"its metadata {meta_path} has no {key!r} (written by an older securecart-tf?)")
    if meta.get("destroy") is not False:
        raise UnusablePlan(f"its metadata {meta_path} does not say whether it destroys")
    if meta["command"] != APPLICABLE_PLAN_COMMAND:
        raise UnusablePlan(f"it was made by `{meta['command']}`; apply takes only plans that `plan` saved")
    if not planfile.is_file():
        raise UnusablePlan(f"its plan file {planfile} is missing")
    try:
        digest = file_digest(planfile)
    except OSError as exc:
        raise UnusablePlan(f"its plan file {planfile} is unreadable ({exc.strerror or exc})") from None
    if digest != meta["digest"]:
        raise UnusablePlan(f"{planfile} is not the plan its metadata describes")
    return SavedPlan(
        planfile,
        command=meta["command"],
        revision=meta["revision"],
        stack_hash=meta["stack_hash"],
        target=meta["target"],
        add=meta["add"],
        change=meta["change"],
        remove=meta["remove"],
    )


@dataclass(frozen=True)
class StateFingerprint:
    serial: int | None
    lineage: str
    digest: str


def fingerprint(state: dict[str, Any]) -> StateFingerprint:
    serial = state.get("serial")
    lineage = state.get("lineage")
    return StateFingerprint(
        serial if isinstance(serial, int) and not isinstance(serial, bool) else None,
        lineage if isinstance(lineage, str) else "",
        hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest(),
    )


def state_mismatch(state: dict[str, Any] | None, applied: Record) -> str | None:
    """Why a stack's state is not the one its last apply left (so its inputs alone cannot vouch for it), or None."""
    if not state:
        return "its state is missing or unreadable since the last apply"
    if not applied.state_lineage or not applied.state_digest:
        return "the ledger holds no fingerprint of its state (the last apply predates them)"
    now = fingerprint(state)
    if now.lineage != applied.state_lineage:
        return "its state was replaced since the last apply (another lineage)"
    if now.serial != applied.state_serial:
        return f"its state changed since the last apply (serial {applied.state_serial} -> {now.serial})"
    if now.digest != applied.state_digest:
        return "its state was edited since the last apply"
    return None


# ---- what a plan may not remove, and what destroy never destroys ------------------------------------

KEPT_BY_DESTROY = {
    ORGANIZATION: (
        "aws_organizations_organization",
        "aws_organizations_organizational_unit",
        "aws_organizations_account",
    ),
    SECURITY: (
        "aws_kms_key",
        "aws_s3_bucket",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_lifecycle_configuration",
    ),
}
NEVER_DESTROYED = (
    "destroy never destroys the organization, its OUs and accounts, or the security account's log bucket and its "
    "KMS key: they stay in AWS and leave Terraform's state. Close an account with closing: true; "
    "the sandbox is discarded with `securecart-tf sandbox down`"
)


def split_for_destroy(layer: str, state: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """The stack's managed resources as (addresses destroy may destroy, addresses it keeps)."""
    kept_types = KEPT_BY_DESTROY.get(layer, ())
    destroyable: list[str] = []
    kept: list[str] = []
    for r in (state or {}).get("resources", []):
        if r.get("mode") != "managed" or not r.get("instances"):
            continue
        address = ".".join(p for p in (r.get("module"), r.get("type"), r.get("name")) if p)
        (kept if r.get("type") in kept_types else destroyable).append(address)
    return destroyable, kept


TRANSIENT_ATTEMPTS = 3
TRANSIENT_BACKOFF_SECONDS = 5.0
TRANSIENT_ERRORS = ("ConflictException", "ThrottlingException", "TooManyRequestsException")


def _transient(stack: Stack, outcome: Outcome) -> bool:
    """An Identity Center apply that failed only on conflicts or throttling the provider gave up on."""
    return (
        stack.layer == IDENTITY_CENTER
        and bool(outcome.errors)
        and not outcome.interrupted
        and not outcome.timed_out
        and all(any(code in error for code in TRANSIENT_ERRORS) for error in outcome.errors)
    )


def removal_refusal(changes: list[ResourceChange], state: dict[str, Any] | None) -> str | None:
    """Why a plan that deletes the organization, or removes or replaces an account, may not go ahead."""
    closing: dict[Any, bool] = {}
    for r in (state or {}).get("resources", []):
        if r.get("type") == "aws_organizations_account":
            for instance in r.get("instances", []):
                attributes = instance.get("attributes") or {}
                closing[instance.get("index_key")] = attributes.get("close_on_deletion") is True
    problems = []
    for c in changes:
        if c.action not in ("delete", "replace"):
            continue
        if c.resource_type == "aws_organizations_organization":
            problems.append("delete the organization")
        elif c.resource_type == "aws_organizations_account" and not closing.get(c.index, False):
            verb = "replace" if c.action == "replace" else "remove"
            problems.append(f"{verb} account '{c.index}'")
    if not problems:
        return None
    return (
        f"refused: the plan would {', '.join(problems)}. A changed email or name replaces an account, and removing "
        "one calls RemoveAccountFromOrganization, which AWS refuses for accounts without standalone billing and "
        "for delegated administrators. To close an account on purpose, set closing: true on it and apply, then "
        "remove it; otherwise restore its name and email"
    )


# ---- results ------------------------------------------------------------------------------------------


@dataclass
class StackResult:
    stack: str
    account: str
    environment: str
    status: str
    """planned, no changes, unchanged, applied, destroyed, waiting, failed, skipped, timed out, interrupted."""
    add: int = 0
    change: int = 0
    remove: int = 0
    duration: float = 0.0
    log: str = ""
    message: str = ""
    reaches: list[str] = field(default_factory=list)
    """Other environments a planned change here reaches immediately."""
    changes: list[dict[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "timed out", "interrupted", "refused")

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.remove) or self.status == "waiting"


@dataclass
class RunReport:
    command: str
    environment: str
    revision: str
    target: str
    results: list[StackResult]
    notices: list[str] = field(default_factory=list)
    summary_file: str | None = None
    duration: float = 0.0
    interrupted: bool = False

    @property
    def failed(self) -> bool:
        return self.interrupted or any(r.failed or r.status == "skipped" for r in self.results)

    def exit_code(self) -> int:
        if self.failed:
            return 1
        if self.command in ("plan", "drift") and any(r.has_changes for r in self.results):
            return 2
        return 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = self.exit_code()
        data["tool_version"] = __version__
        return data


Listener = Callable[[str, str, str], None]
"""(stack, status, detail) → None; drives the progress view."""


# ---- preparation --------------------------------------------------------------------------------------


@dataclass
class Options:
    parallelism: int = field(default_factory=default_parallelism)
    timeout: float | None = 1800.0
    refresh: bool = False
    auto_approve: bool = False
    out: Path | None = None
    confirm: Callable[[str, Environment, list[StackResult]], bool] | None = None
    listener: Listener | None = None
    use_saved_plans: bool = True
    """apply uses the plans `plan` saved; promote and rollback always plan afresh at their revision."""


class Run:
    """Everything one command needs for one environment, prepared once."""

    def __init__(
        self,
        project: Project,
        env: Environment,
        workspace: Workspace,
        options: Options,
        command: str,
    ):
        self.project = project
        self.env = env
        self.ws = workspace
        self.options = options
        self.command = command
        self.notices: list[str] = []
        self.revision = revision_of(project)
        self.binary = find_terraform()
        workspace.ensure_writable()
        require_backend_support(project, env, terraform_version(self.binary, workspace.tool_home))
        self.target, notices = workspace.target(env, project.matrix.organization.home_region)
        if isinstance(env.target, AwsTarget):
            check_aws_credentials(env.name, env.target)  # before any Terraform runs
        self.notices += notices
        self.cli_config = cli_config(workspace.tool_home)
        self.out = (options.out or project.root / "build").resolve()
        self.wait_for_earlier()
        self.ensure_backend()
        self.ledger = workspace.ledger(env, self.target)
        self.facts = self.read_facts()
        self.model = build_model(project, self.facts)
        layers = {s.layer for s in self.stacks()}
        if ORGANIZATION in layers:
            self.notices += self.model.stacks[ORGANIZATION].notes
        if command == "destroy" and layers & set(KEPT_BY_DESTROY):
            self.notices.append(NEVER_DESTROYED)
        self.rendered: dict[str, RenderedStack] = {}
        self.render()
        snapshot(project, self.revision, workspace.revisions)
        self._lock = threading.Lock()

    def wait_for_earlier(self) -> None:
        """Wait for any Terraform a killed securecart-tf left finishing this environment's stacks: until it
        has written state, reading the state (or planning) would miss what it created."""
        env_dir = self.out / self.env.name
        secrets = secrets_of(self.target.env())
        for folder in sorted(p for p in env_dir.iterdir() if p.is_dir()) if env_dir.is_dir() else []:
            earlier = wait_for_earlier(
                folder,
                secrets=secrets,
                timeout=self.options.timeout,
                on_wait=lambda e: self.listen(e.label, "waiting", f"for {e.describe()}, left by an earlier run"),
            )
            if earlier is not None:
                self.notices.append(
                    f"{earlier.label}: {earlier.describe()}, left running by an earlier securecart-tf that stopped, "
                    f"has exited; what it wrote is in {earlier.log}"
                )

    def ensure_backend(self) -> None:
        """Create the S3 state bucket when the environment asks for it (sandbox only)."""
        backend = self.env.backend
        if not isinstance(backend, S3Backend) or not backend.create_bucket:
            return
        if self.target.kind != "sandbox":
            raise SecureCartError(
                "backend.create_bucket works only against the sandbox",
                hint=f"create the bucket {backend.bucket} (versioned, encrypted) first, then drop create_bucket",
            )
        s3 = self.target.client("s3")
        try:
            s3.head_bucket(Bucket=backend.bucket)
        except Exception:
            s3.create_bucket(Bucket=backend.bucket)
            s3.put_bucket_versioning(Bucket=backend.bucket, VersioningConfiguration={"Status": "Enabled"})

    # -- facts and rendering --------------------------------------------------------------------------

    def read_facts(self) -> OrgFacts:
        outputs = self.read_outputs(ORGANIZATION)
        facts = OrgFacts()
        if outputs:
            facts.account_ids = dict(outputs.get("account_ids") or {})
            facts.organization_id = outputs.get("organization_id")
            facts.root_id = outputs.get("root_id")
        if facts.organization_id is not None:
            facts.service_access_principals, facts.enabled_policy_types = self.live_organization_settings()
        return facts

    def live_organization_settings(self) -> tuple[list[str], list[str]]:
        """The trusted services and root policy types the organization has now, whoever enabled them."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            org = self.target.client("organizations")
            principals = [
                s["ServicePrincipal"]
                for page in org.get_paginator("list_aws_service_access_for_organization").paginate()
                for s in page["EnabledServicePrincipals"]
            ]
            roots = org.list_roots()["Roots"]
        except (BotoCoreError, ClientError) as exc:
            notice = (
                f"cannot read the organization's trusted services and policy types ({exc}); an update of the "
                "organization would switch off those the matrix does not list"
            )
            if notice not in self.notices:
                self.notices.append(notice)
            return [], []
        types = [t["Type"] for r in roots for t in r.get("PolicyTypes", []) if t.get("Status") == "ENABLED"]
        return sorted(principals), sorted(types)

    def read_state(self, stack: str) -> dict[str, Any] | None:
        """A stack's Terraform state, read straight from its backend: no Terraform process needed."""
        try:
            if isinstance(self.env.backend, S3Backend):
                backend = self._backend_of(stack)
                body = (
                    self.target.client("s3")
                    .get_object(Bucket=backend.bucket, Key=f"{backend.key_prefix}/{stack}/terraform.tfstate")["Body"]
                    .read()
                )
                state = json.loads(body)
            else:
                state = json.loads(self.ws.state_file(stack).read_text())
        except Exception:
            return None
        return state if isinstance(state, dict) else None

    def read_outputs(self, stack: str) -> dict[str, Any]:
        state = self.read_state(stack) or {}
        return {k: v.get("value") for k, v in (state.get("outputs") or {}).items()}

    def _backend_of(self, stack: str) -> S3Backend:
        for env in self.project.environments.values():
            if (stack in env.stacks or stack.removeprefix("access-") in env.accounts) and isinstance(
                env.backend, S3Backend
            ):
                return env.backend
        assert isinstance(self.env.backend, S3Backend)
        return self.env.backend

    def render(self) -> None:
        result = render(self.model, [self.env], self.out)
        self.rendered = result.stacks

    def refresh_model(self) -> None:
        facts = self.read_facts()
        if facts != self.facts:
            self.facts = facts
            self.model = build_model(self.project, facts)
            self.render()

    def stacks(self) -> list[Stack]:
        return stacks_of(self.model, self.env)

    # -- per-stack Terraform ---------------------------------------------------------------------------

    def runner(self, stack: str) -> Runner:
        env = self.target.env()
        env.update(
            {
                "TF_CLI_CONFIG_FILE": str(self.cli_config),
                "TF_IN_AUTOMATION": "1",
                "TF_INPUT": "0",
                "CHECKPOINT_DISABLE": "1",
            }
        )
        log = self.ws.logs(self.env.name) / f"{stack}.log"
        return Runner(
            self.rendered[stack].directory,
            env=env,
            log=log,
            binary=self.binary,
            timeout=self.options.timeout,
            label=stack,
        )

    def backend_config(self, stack: str) -> dict[str, str]:
        if isinstance(self.env.backend, S3Backend):
            return {}
        path = self.ws.state_file(stack)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return {"path": str(path.resolve())}

    def plan_paths(self, stack: str) -> tuple[Path, Path]:
        d = self.ws.plans(self.env.name)
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return d / f"{stack}.tfplan", d / f"{stack}.json"

    def saved_plan(self, stack: str) -> SavedPlan | None:
        """The plan `plan` saved for the stack, or None; UnusablePlan when one is there apply must not take."""
        return read_saved_plan(*self.plan_paths(stack))

    def save_plan_meta(self, stack: str, meta: dict[str, Any]) -> None:
        """Write a plan's metadata whole or not at all (a torn file must never describe a plan)."""
        planfile, meta_path = self.plan_paths(stack)
        meta = {**meta, "digest": file_digest(planfile)}
        tmp = meta_path.with_name(f".{meta_path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(meta) + "\n")
        os.replace(tmp, meta_path)

    def state_fingerprint(self, stack: str) -> StateFingerprint | None:
        state = self.read_state(stack)
        return fingerprint(state) if state else None

    def drop_plan(self, stack: str) -> None:
        for path in self.plan_paths(stack):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def record(self, records: list[Record]) -> None:
        with self._lock:
            try:
                self.ledger.append(records)
            except OSError as exc:
                errored = errored_states(self.out / self.env.name)
                raise SecureCartError(
                    f"cannot write the ledger under {self.ws.home}: {exc.strerror or exc}",
                    hint="free some disk space or make the folder writable, then "
                    + (
                        f"push the state Terraform could not save: `terraform state push {errored[0].name}` in "
                        f"{', '.join(str(e.parent) for e in errored)} (with TF_CLI_CONFIG_FILE={self.cli_config}), "
                        "before anything else runs; then "
                        if errored
                        else ""
                    )
                    + "run `plan` again to see where things stand",
                ) from None

    def notice(self, text: str) -> None:
        with self._lock:
            self.notices.append(text)

    @property
    def interrupted(self) -> bool:
        from securecart_tf.run.terraform import REGISTRY

        return REGISTRY.interrupted.is_set()

    def listen(self, stack: str, status: str, detail: str = "") -> None:
        if self.options.listener is not None:
            self.options.listener(stack, status, detail)

    def result(self, stack: Stack, status: str, outcome: Outcome | None = None, message: str = "") -> StackResult:
        res = StackResult(
            stack=stack.name, account=stack.account, environment=self.env.name, status=status, message=message
        )
        if outcome is not None:
            res.add, res.change, res.remove = outcome.add, outcome.change, outcome.remove
            res.duration = outcome.duration
            res.log = str(outcome.log)
            res.changes = [{"address": c.address, "action": c.action} for c in outcome.changes]
            res.reaches = reached_environments(stack, outcome.changes, self.env.name)
            if outcome.timed_out:
                res.status = "timed out"
                res.message = f"no answer within {self.options.timeout:.0f}s; see {outcome.log}"
            elif outcome.interrupted:
                res.status = "interrupted"
                res.message = message or f"{outcome.errors[0]} (log: {outcome.log})"
            elif outcome.errors and not message:
                res.message = outcome.errors[0][:1000] + f" (log: {outcome.log})"
        return res

    def before_plan(self, stack: Stack) -> None:
        """Sandbox only: stand in for the IdP, which provisions SCIM groups in real AWS."""
        ic = self.project.matrix.identity_center
        if stack.layer != "identity-center" or self.target.info is None or ic is None:
            return
        from securecart_tf.sandbox import provision_scim_groups

        scim = [g.name for g in ic.groups if g.source.value == "scim"]
        created = provision_scim_groups(lambda service: self.target.client(service, ic.region), scim)
        if created:
            with self._lock:
                self.notices.append(f"the sandbox provisioned SCIM groups as the IdP would: {', '.join(created)}")

    # -- upstream readiness ----------------------------------------------------------------------------

    def blocked_by(self, stack: Stack, in_run: set[str]) -> str | None:
        """Why a stack cannot be planned yet, or None."""
        for dep in stack.depends_on:
            if dep in in_run:
                continue
            if not self.state_exists(dep):
                owner = self.model.stacks[dep].environment if dep in self.model.stacks else None
                where = f" (environment {owner})" if owner else ""
                return f"waiting for {dep}{where} to be applied first"
        if stack.pending_accounts:
            names = shorten([a for a in stack.pending_accounts if a != "organization"], 8)
            return f"waiting for the organization stack to create {names or 'the organization'}"
        return None

    def forget_kept(self, stack: Stack, res: StackResult) -> StackResult:
        """After a destroy: drop from state what destroy never destroys; AWS keeps it."""
        state = self.read_state(stack.name)
        _, kept = split_for_destroy(stack.layer, state)
        if not kept:
            return res
        # a targeted destroy leaves the data sources it read; they go with what is kept
        reads = [
            ".".join(p for p in (r.get("module"), "data", r.get("type"), r.get("name")) if p)
            for r in (state or {}).get("resources", [])
            if r.get("mode") == "data"
        ]
        outcome = self.runner(stack.name).state_rm(kept + reads)
        if not outcome.ok:
            res.status = "failed"
            res.message = f"cannot remove what destroy keeps from the state; see {outcome.log}"
            return res
        names = sorted({a.rsplit(".", 1)[0].rsplit(".", 1)[-1] for a in kept})
        res.message = "; ".join(m for m in (res.message, f"kept in AWS, removed from state: {', '.join(names)}") if m)
        return res

    def scp_slots_refusal(self, stack: Stack) -> str | None:
        """SCPs attached outside the matrix take slots too: count them where the matrix attaches its own."""
        from botocore.exceptions import BotoCoreError, ClientError

        outputs = self.read_outputs(ORGANIZATION)
        ids = {"root": outputs.get("root_id")}
        ids |= {f"ou:{path}": i for path, i in (outputs.get("ou_ids") or {}).items() if path != "/"}
        ids |= {f"account:{name}": i for name, i in (outputs.get("account_ids") or {}).items()}
        ours = set(stack.inputs["guardrails"])
        wanted: dict[str, int] = {}
        for attachment in stack.inputs["attachments"].values():
            wanted[attachment["target"]] = wanted.get(attachment["target"], 0) + 1
        slots = self.model.project.matrix.limits.scps_per_target or LIMITS["scps_per_target"].value
        problems = []
        try:
            org = self.target.client("organizations")
            for target, count in sorted(wanted.items()):
                if not ids.get(target):
                    continue  # not created yet: nothing attached outside the matrix
                pages = org.get_paginator("list_policies_for_target").paginate(
                    TargetId=ids[target], Filter="SERVICE_CONTROL_POLICY"
                )
                others = sorted(p["Name"] for page in pages for p in page["Policies"] if p["Name"] not in ours)
                if len(others) + count > slots:
                    problems.append(f"{target} ({count} from the matrix + {', '.join(others)})")
        except (BotoCoreError, ClientError) as exc:
            self.notices.append(f"cannot count the SCPs attached outside the matrix ({exc})")
            return None
        if not problems:
            return None
        return (
            f"refused: more than {slots} SCPs would be attached directly to {'; '.join(problems)}; the ones not in "
            "the matrix were attached by someone else and take slots too"
        )

    def state_exists(self, stack: str) -> bool:
        """True once the stack has been applied and still manages something."""
        return bool((self.read_state(stack) or {}).get("resources"))


# ---- plan -----------------------------------------------------------------------------------------------


def _fast_path(run: Run, stack: Stack, fast_path: dict[str, Record]) -> tuple[Record | None, str]:
    """The last apply that vouches for this stack unplanned, if any, and else why a full plan is needed ("" when
    there is no such apply at all). It vouches only while the inputs and the state are the ones it left."""
    previous = fast_path.get(stack.name)
    if previous is None or previous.stack_hash != run.rendered[stack.name].hash or run.options.refresh:
        return None, ""
    mismatch = state_mismatch(run.read_state(stack.name), previous)
    if mismatch is not None:
        return None, f"{mismatch}; planned in full"
    return previous, ""


def _plan_one(
    run: Run, stack: Stack, *, fast_path: dict[str, Record], destroy: bool = False, refresh_only: bool = False
) -> StackResult:
    rendered = run.rendered[stack.name]
    why_full = ""
    if not destroy and not refresh_only:
        previous, why_full = _fast_path(run, stack, fast_path)
        if previous is not None:
            run.listen(stack.name, "unchanged", "inputs match the last successful apply")
            run.drop_plan(stack.name)
            return run.result(stack, "unchanged", message=f"same inputs as the apply of revision {previous.revision}")
    run.drop_plan(stack.name)  # metadata left from an earlier plan must never describe the one made now
    run.before_plan(stack)
    runner = run.runner(stack.name)
    run.listen(stack.name, "init", why_full)
    init = runner.init(run.backend_config(stack.name))
    if not init.ok:
        run.listen(stack.name, "failed", "init")
        return run.result(stack, "failed", init, message=f"terraform init failed; see {init.log}")
    planfile, _meta_path = run.plan_paths(stack.name)
    targets = None
    if destroy:
        destroyable, kept = split_for_destroy(stack.layer, run.read_state(stack.name))
        if kept and not destroyable:  # nothing but what destroy keeps: no plan, only forgetting
            run.drop_plan(stack.name)
            return run.result(stack, "no changes", message="only resources destroy keeps")
        targets = destroyable if kept else None  # a whole destroy when nothing is kept: data sources go too
    run.listen(stack.name, "planning", why_full)
    outcome = runner.plan(planfile, destroy=destroy, refresh_only=refresh_only, targets=targets)
    if not outcome.ok:
        run.drop_plan(stack.name)
        res = run.result(stack, "failed", outcome)
        run.listen(stack.name, res.status, res.message)
        return res
    refusal = None if destroy or refresh_only else removal_refusal(outcome.changes, run.read_state(stack.name))
    if refusal is None and stack.layer == ORGANIZATION and not (destroy or refresh_only):
        refusal = run.scp_slots_refusal(stack)
    if refusal is not None:
        run.drop_plan(stack.name)
        res = run.result(stack, "refused", outcome, message=refusal)
        run.listen(stack.name, res.status, res.message)
        return res
    os.chmod(planfile, 0o600)
    status = "planned" if outcome.has_changes else "no changes"
    res = run.result(stack, status, outcome, message=why_full)
    run.listen(stack.name, status, f"+{outcome.add} ~{outcome.change} -{outcome.remove}")
    if status == "no changes":  # nothing to apply: keep no plan that could go stale
        run.drop_plan(stack.name)
        return res
    meta = {
        "command": "destroy" if destroy else run.command,
        "revision": run.revision,
        "stack_hash": rendered.hash,
        "target": run.target.id,
        "created": time.time(),
        "destroy": destroy,
        "add": outcome.add,
        "change": outcome.change,
        "remove": outcome.remove,
    }
    try:
        run.save_plan_meta(stack.name, meta)
    except OSError as exc:
        run.drop_plan(stack.name)
        res.status, res.message = "failed", f"cannot save the plan's metadata: {exc.strerror or exc}"
    return res


def _in_pool(run: Run, stacks: list[Stack], work: Callable[[Stack], StackResult]) -> list[StackResult]:
    if not stacks:
        return []
    with ThreadPoolExecutor(max_workers=max(1, run.options.parallelism)) as pool:
        return list(pool.map(work, stacks))


def plan(run: Run) -> RunReport:
    start = time.monotonic()
    stacks = run.stacks()
    in_run = {s.name for s in stacks}
    fast_path = last_applied(run.ledger.records(), run.target.id)
    results: dict[str, StackResult] = {}
    ready: list[Stack] = []
    for stack in stacks:
        reason = run.blocked_by(stack, in_run)
        if reason is None:
            ready.append(stack)
        else:
            run.drop_plan(stack.name)
            own_env_upstream = ORGANIZATION in in_run
            results[stack.name] = run.result(stack, "waiting" if own_env_upstream else "refused", message=reason)
            run.listen(stack.name, results[stack.name].status, reason)
    for res in _in_pool(
        run, ready, lambda s: _recorded(run, "plan", _guarded(run, s, lambda: _plan_one(run, s, fast_path=fast_path)))
    ):
        results[res.stack] = res
    for stack in stacks:  # in dependency order, so a skip carries down
        if results[stack.name].status != "waiting":
            continue
        bad = [d for d in stack.depends_on if d in results and (results[d].failed or results[d].status == "skipped")]
        if bad:
            results[stack.name] = run.result(stack, "skipped", message=f"skipped: {', '.join(bad)} did not plan")
            run.listen(stack.name, "skipped", results[stack.name].message)
    ordered = [results[s.name] for s in stacks]
    run.record([_record(run, "plan", r) for r in ordered if r.stack not in {s.name for s in ready}])
    return RunReport(
        "plan", run.env.name, run.revision, run.target.id, ordered, run.notices, duration=time.monotonic() - start
    )


def _guarded(run: Run, stack: Stack, work: Callable[[], StackResult]) -> StackResult:
    """One stack's work; an unexpected error fails that stack instead of ending the run and losing the others."""
    try:
        return work()
    except RunRefused:
        raise
    except Exception as exc:
        res = run.result(stack, "failed", message=f"unexpected error: {type(exc).__name__}: {exc}")
        run.listen(stack.name, "failed", res.message)
        return res


def _recorded(run: Run, action: str, r: StackResult) -> StackResult:
    """Write a stack's record as soon as it finishes: a run killed later keeps what it did."""
    run.record([_record(run, action, r)])
    return r


def _record(run: Run, action: str, r: StackResult) -> Record:
    result = {
        "planned": "changes",
        "no changes": "no-changes",
        "applied": "ok",
        "destroyed": "ok",
        "timed out": "timed-out",
    }.get(r.status, r.status)
    return Record(
        action=action,
        environment=run.env.name,
        stack=r.stack,
        revision=run.revision,
        result=result,
        target=run.target.id,
        stack_hash=run.rendered[r.stack].hash if r.stack in run.rendered else "",
        add=r.add,
        change=r.change,
        remove=r.remove,
        duration=round(r.duration, 2),
        detail=r.message[:500],
        **_state_fields(run, action, r, result),
    )


def _state_fields(run: Run, action: str, r: StackResult, result: str) -> dict[str, Any]:
    """The fingerprint of the state an apply left, which the no-change fast path checks before trusting it."""
    if action != "apply" or result not in ("ok", "unchanged"):
        return {}
    found = run.state_fingerprint(r.stack)
    if found is None:
        return {}
    return {"state_serial": found.serial, "state_lineage": found.lineage, "state_digest": found.digest}


# ---- apply ----------------------------------------------------------------------------------------------


def needs_approval(env: Environment, auto_approve: bool) -> bool:
    if env.approval == Approval.none:
        return False
    if env.approval == Approval.always:
        return True
    return not auto_approve


STALE_PLAN_ERROR = "saved plan is stale"
"""Terraform's words when a plan file no longer matches the state it was made from."""


def _check_saved_plan(run: Run, stack: Stack) -> SavedPlan | None:
    """The saved plan apply may take for this stack, or None to plan afresh. RunRefused for a stale one,
    unless --refresh asks to plan afresh instead."""
    try:
        saved = run.saved_plan(stack.name)
    except UnusablePlan as exc:
        run.drop_plan(stack.name)
        run.notice(f"{stack.name}: the saved plan is not used and was dropped: {exc}; planning afresh")
        return None
    if saved is None:
        return None
    rendered = run.rendered[stack.name]
    problems = []
    if saved.target != run.target.id:
        problems.append(f"it was made against {saved.target}, not {run.target.id}")
    if saved.revision != run.revision:
        problems.append(f"it was made from revision {saved.revision}; the inputs are now at {run.revision}")
    elif saved.stack_hash != rendered.hash:
        problems.append("the stack's rendered inputs changed since (an upstream stack was applied)")
    if not problems:
        return saved
    if run.options.refresh:
        run.drop_plan(stack.name)
        run.notice(f"{stack.name}: the saved plan is stale ({'; '.join(problems)}); planning afresh (--refresh)")
        return None
    raise RunRefused(
        f"the saved plan for {stack.name} is stale: {'; '.join(problems)}",
        hint=f"run `securecart-tf plan --env {run.env.name}` again, then apply (or `apply --refresh` to plan afresh)",
    )


def _apply_failure(run: Run, command: str, outcome: Outcome, message: str) -> str:
    message = message or f"{command} failed; see {outcome.log}"
    if any(STALE_PLAN_ERROR in error.lower() for error in outcome.errors):
        message += (
            f"; the plan no longer matched the stack's state and was dropped: run `securecart-tf plan --env "
            f"{run.env.name}` to review a new one, then apply"
        )
    return message


def apply(run: Run, *, destroy: bool = False) -> RunReport:
    """Apply the environment in dependency order; destroy=True tears it down in reverse order.

    Each stack starts as soon as the stacks it depends on have finished. When the environment needs an
    approval, ready stacks are gathered into a batch, planned together, and approved once per batch. Each
    stack's record is written to the ledger as it finishes. `apply` takes only plans `plan` saved; the plans
    this run makes itself are applied now or dropped, never left for a later command.
    """
    start = time.monotonic()
    command = "destroy" if destroy else "apply"
    stacks = run.stacks()
    if destroy:
        stacks = list(reversed(stacks))
    by_name = {s.name: s for s in stacks}
    in_run = set(by_name)
    results: dict[str, StackResult] = {}
    fast_path = {} if destroy else last_applied(run.ledger.records(), run.target.id)
    approval = needs_approval(run.env, run.options.auto_approve)
    pending = [s.name for s in stacks]
    running: dict[Future[StackResult], str] = {}
    refused: RunRefused | None = None
    made: set[str] = set()
    """Stacks this run planned itself."""

    def current(name: str) -> Stack:
        return run.model.stacks.get(name, by_name[name]) if not destroy else by_name[name]

    def settle(name: str, res: StackResult) -> None:
        results[name] = res
        run.record([_record(run, command, res)])

    def prepare(stack: Stack) -> tuple[Path | None, StackResult]:
        """The plan to apply: the saved one if still valid, else a fresh one. (None, result) if nothing to do."""
        if not destroy:
            reason = run.blocked_by(stack, in_run)
            if reason is not None:
                return None, run.result(stack, "refused", message=reason)
            if not run.options.use_saved_plans:
                run.drop_plan(stack.name)
            saved = _check_saved_plan(run, stack) if run.options.use_saved_plans else None
            if saved is not None:
                res = run.result(stack, "planned" if saved.has_changes else "no changes", message="saved plan")
                res.add, res.change, res.remove = saved.add, saved.change, saved.remove
                return (saved.planfile if saved.has_changes else None), res
            if run.options.use_saved_plans:
                run.listen(stack.name, "planning", "no saved plan; planning now")
        elif not run.state_exists(stack.name):
            return None, run.result(stack, "no changes", message="nothing to destroy")
        res = _plan_one(run, stack, fast_path=fast_path, destroy=destroy)
        if res.status != "planned":
            return None, res
        made.add(stack.name)
        if not destroy:
            res.message = res.message or "no saved plan; planned now"
        return run.plan_paths(stack.name)[0], res

    def safe_prepare(stack: Stack) -> tuple[Path | None, StackResult]:
        found: list[Path | None] = [None]

        def work() -> StackResult:
            found[0], res = prepare(stack)
            return res

        res = _guarded(run, stack, work)
        return (found[0] if res.status == "planned" else None), res

    def finish(stack: Stack, planfile: Path | None, planned: StackResult, attempt: int = 1) -> StackResult:
        if planfile is None:
            if planned.status == "no changes":
                run.drop_plan(stack.name)
                planned.status = "unchanged" if not destroy else "no changes"
                if destroy:
                    return run.forget_kept(stack, planned)
            return planned
        run.listen(stack.name, "destroying" if destroy else "applying")
        # a plan is applied once: whatever happens to this apply, the state it was made from is gone
        with contextlib.suppress(FileNotFoundError):
            run.plan_paths(stack.name)[1].unlink()
        outcome = run.runner(stack.name).apply(planfile)
        run.drop_plan(stack.name)  # applied, or failed part-way: either way the state has moved on from it
        if not outcome.ok and attempt < TRANSIENT_ATTEMPTS and _transient(stack, outcome):
            # Identity Center refuses concurrent changes to one permission set with ConflictException, which
            # the provider does not retry: plan what is left and apply it again, a bounded number of times.
            run.listen(stack.name, "retrying", f"{outcome.errors[0][:120]}; attempt {attempt + 1}")
            time.sleep(TRANSIENT_BACKOFF_SECONDS * attempt)
            again = _plan_one(run, stack, fast_path={}, destroy=destroy)
            if again.status != "planned":
                return again
            retried = finish(stack, run.plan_paths(stack.name)[0], again, attempt + 1)
            retried.message = "; ".join(m for m in (retried.message, f"applied after {attempt} retry") if m)
            return retried
        res = run.result(stack, ("destroyed" if destroy else "applied") if outcome.ok else "failed", outcome)
        res.add, res.change, res.remove = planned.add, planned.change, planned.remove
        res.duration += planned.duration
        if outcome.ok and destroy:
            res = run.forget_kept(stack, res)
        if not outcome.ok:
            res.message = _apply_failure(run, command, outcome, res.message)
        run.listen(stack.name, res.status, res.message)
        return res

    def finished(stack: Stack, planfile: Path | None, planned: StackResult) -> StackResult:
        return _guarded(run, stack, lambda: finish(stack, planfile, planned))

    def whole(stack: Stack) -> StackResult:
        planfile, planned = safe_prepare(stack)
        return finished(stack, planfile, planned)

    def blockers_of(name: str) -> list[str]:
        if not destroy:
            return [d for d in current(name).depends_on if d in in_run]
        return [other for other in in_run if name in by_name[other].depends_on]

    def declined(batch: list[Stack], prepared: list[tuple[Path | None, StackResult]]) -> RunRefused:
        for stack, (_, res) in zip(batch, prepared, strict=True):
            if res.status == "planned":
                if stack.name in made:  # planned by this run for this approval only
                    run.drop_plan(stack.name)
                    res.status, res.message = "refused", "not approved; nothing was changed"
                else:
                    res.status, res.message = "refused", "not approved; the plan `plan` saved is kept"
            settle(stack.name, res)
        return RunRefused(f"{command} of {run.env.name} was not approved; nothing was changed")

    try:
        with ThreadPoolExecutor(max_workers=max(1, run.options.parallelism)) as pool:
            while (pending or running) and refused is None:
                ready = []
                for name in list(pending):
                    blockers = blockers_of(name)
                    bad = [
                        b
                        for b in blockers
                        if b in results and (results[b].failed or results[b].status in ("skipped", "refused"))
                    ]
                    if bad or (run.interrupted and name not in results):
                        why = "the run was interrupted" if not bad else f"{', '.join(bad)} did not {command}"
                        settle(name, run.result(current(name), "skipped", message=f"skipped: {why}"))
                        run.listen(name, "skipped", results[name].message)
                        pending.remove(name)
                    elif all(b in results for b in blockers):
                        ready.append(name)
                if ready and not (approval and running):
                    for name in ready:
                        pending.remove(name)
                    if not approval:
                        for name in ready:
                            running[pool.submit(whole, current(name))] = name
                    else:
                        batch = [current(n) for n in ready]
                        try:
                            prepared = list(pool.map(safe_prepare, batch))
                        except RunRefused as exc:
                            refused = exc
                            for stack in batch:
                                settle(stack.name, run.result(stack, "refused", message=exc.message))
                            break
                        wanted = [r for p, r in prepared if p is not None]
                        confirm = run.options.confirm
                        if wanted and (confirm is None or not confirm(command, run.env, wanted)):
                            refused = declined(batch, prepared)
                            break
                        for stack, (planfile, res) in zip(batch, prepared, strict=True):
                            running[pool.submit(finished, stack, planfile, res)] = stack.name
                    continue
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:  # each finished stack is recorded now, before another one starts
                    name = running.pop(future)
                    try:
                        res = future.result()
                    except RunRefused as exc:
                        refused = refused or exc
                        res = run.result(current(name), "refused", message=exc.message)
                    try:
                        if name == ORGANIZATION and not destroy and res.status == "applied":
                            run.refresh_model()  # new accounts now have IDs: re-render the stacks that use them
                    finally:
                        settle(name, res)  # with the stack's inputs as rendered from now on
            for future in list(running):
                name = running.pop(future)
                try:
                    settle(name, future.result())
                except RunRefused as exc:
                    settle(name, run.result(current(name), "refused", message=exc.message))
    finally:
        for name in made:  # applied plans are gone already; any other this run made must not outlive it
            run.drop_plan(name)
    for name in pending:
        if name not in results:
            settle(name, run.result(by_name[name], "skipped", message="not started"))
    ordered = [results[s.name] for s in stacks]
    report = RunReport(
        command,
        run.env.name,
        run.revision,
        run.target.id,
        ordered,
        run.notices,
        duration=time.monotonic() - start,
        interrupted=run.interrupted,
    )
    run.record(
        [
            Record(
                # the run summary: what `status` reads to tell which revision an environment runs
                action=run.command if run.command in ("promote", "rollback") else command,
                environment=run.env.name,
                stack="*",
                revision=run.revision,
                result="failed" if report.failed else "ok",
                target=run.target.id,
                duration=round(report.duration, 2),
            )
        ]
    )
    if refused is not None and not any(r.status in ("applied", "destroyed") for r in ordered):
        raise refused
    return report


def environment_revision(run: Run) -> str | None:
    return environment_status(run.ledger.records(), run.env.name, run.target.id).current


def write_summary(report: RunReport, ws: Workspace) -> Path:
    from securecart_tf.run.summary import markdown

    ws.summaries.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = ws.summaries / f"{report.environment}-{report.command}-{stamp}.md"
    text = markdown(report)
    path.write_text(text)
    (ws.summaries / f"{report.environment}-{report.command}-latest.md").write_text(text)
    report.summary_file = str(path)
    return path
