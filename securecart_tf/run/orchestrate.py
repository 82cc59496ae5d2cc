"""A run: everything one command needs for one environment, prepared once.

The target and its credentials, the organization's facts, the model and the rendered stacks, the ledger,
and each stack's Terraform (its runner, backend, state and plan files). plan.py and apply.py drive the
stacks through it; steps.py is what each stack goes through.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from securecart_tf.config.environments import AwsTarget, Environment, S3Backend
from securecart_tf.config.load import Project
from securecart_tf.errors import SecureCartError, TerraformError
from securecart_tf.iam.limits import Limits
from securecart_tf.iam.lint import shorten
from securecart_tf.model import ORGANIZATION, OrgFacts, Stack, build_model
from securecart_tf.render import RenderedStack, render, stacks_of
from securecart_tf.run.guards import (
    KEPT_BY_DESTROY,
    NEVER_DESTROYED,
    customizations_reaching,
    managed_policy_ids,
    matrix_attachments,
    reached_environments,
    slots_refusal,
    split_for_destroy,
)
from securecart_tf.run.ledger import Record
from securecart_tf.run.results import Listener, RunReport, StackResult
from securecart_tf.run.revision import revision_of, snapshot
from securecart_tf.run.saved import (
    SavedPlan,
    StateFingerprint,
    fingerprint,
    read_saved_plan,
    why_unsaved,
    write_plan_meta,
)
from securecart_tf.run.selection import Selection
from securecart_tf.run.status import StackStatus
from securecart_tf.run.terraform import (
    ERRORED_STATE,
    Outcome,
    Runner,
    cli_config,
    find_terraform,
    go_runtime_env,
    secrets_of,
    terraform_version,
    wait_for_earlier,
)
from securecart_tf.run.workspace import Workspace, check_aws_credentials
from securecart_tf.versions import S3_BACKEND_MIN_VERSION, dotted

PROVIDER_MEMORY_MIB = 900
"""Peak resident memory of one Terraform plan, Terraform and its AWS provider together: up to 690 MiB
measured against the sandbox at Go's default collector, and up to 850 MiB with the collector held off to
GO_MEMORY_LIMIT_MIB as securecart-tf runs them (see bench/RESULTS.md, sections 5 and 8)."""


def require_backend_support(project: Project, env: Environment, version: tuple[int, int, int]) -> None:
    """Refuse, before `terraform init` fails on it, a backend this Terraform cannot use."""
    if not isinstance(env.backend, S3Backend) or version >= S3_BACKEND_MIN_VERSION:
        return
    needed = dotted(S3_BACKEND_MIN_VERSION)
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
    selection: Selection = field(default_factory=Selection)
    """The stacks of the environment this run takes (`--stacks`, `--shard`)."""
    plans: Path | None = None
    """Where saved plans are kept (`--plans`); by default .securecart/plans/<environment>/."""


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
        self.find_singletons()
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
                on_wait=lambda e: self.listen(
                    e.label, StackStatus.WAITING, f"for {e.describe()}, left by an earlier run"
                ),
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

    def find_singletons(self) -> None:
        """Complete the facts with what the accounts hold of what AWS allows once, and rebuild the model."""
        from securecart_tf.run.singletons import find_singletons

        found, notices = find_singletons(self)
        self.notices += notices
        if found != self.facts.singletons:
            self.facts.singletons = found
            self.model = build_model(self.project, self.facts)

    def refresh_model(self) -> None:
        facts = self.read_facts()
        facts.singletons = self.facts.singletons
        if facts != self.facts:
            self.facts = facts
            self.model = build_model(self.project, facts)
            self.find_singletons()
            self.render()

    def environment_stacks(self) -> list[Stack]:
        """Every stack of the environment, in dependency order."""
        return stacks_of(self.model, self.env)

    def stacks(self) -> list[Stack]:
        """The stacks this run takes, in dependency order: the environment's, or the part selected of them."""
        return self.options.selection.of(self.environment_stacks())

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
        env.update(go_runtime_env(env))
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
        d = self.options.plans or self.ws.plans(self.env.name)
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return d / f"{stack}.tfplan", d / f"{stack}.json"

    def saved_plan(self, stack: str) -> SavedPlan | None:
        """The plan `plan` saved for the stack, or None; UnusablePlan when one is there apply must not take."""
        return read_saved_plan(*self.plan_paths(stack))

    def save_plan_meta(self, stack: str, meta: dict[str, Any]) -> None:
        """Write a plan's metadata whole or not at all (a torn file must never describe a plan)."""
        write_plan_meta(*self.plan_paths(stack), meta)

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
                unsaved = [why for why in map(self.unsaved_state, self.rendered) if why is not None]
                raise SecureCartError(
                    f"cannot write the ledger under {self.ws.home}: {exc.strerror or exc}",
                    hint="free some disk space or make the folder writable; then "
                    + "".join(f"{why}; then " for why in unsaved)
                    + "run `plan` again to see where things stand",
                ) from None

    def unsaved_state(self, stack: str) -> str | None:
        """Where the state Terraform could not save on an earlier apply of the stack is, and the command that
        pushes it, while the backend does not hold it yet; else None."""
        errored = self.rendered[stack].directory / ERRORED_STATE
        try:
            written = errored.stat().st_mtime
        except OSError:  # the common case: none, found without reading the backend's state
            return None
        if self.target.info is not None and written < self.target.info.started:
            return None  # left against an earlier sandbox session, whose AWS and state are gone
        state = self.read_state(stack)
        why = why_unsaved(errored, state)
        if why is None:
            return None
        push = self.runner(stack).command_line("state", "push", ERRORED_STATE)
        local = None if isinstance(self.env.backend, S3Backend) else self.ws.state_file(stack)
        if state is None and local is not None and local.is_file() and local.stat().st_size:
            # the write the full disk cut short left a state Terraform cannot read, nor push over
            aside = shlex.quote(str(local))
            push = f"`mv {aside} {aside}.damaged`, then {push}"
        return f"{why}: push it before anything else runs, with {push} (remove it only if that state is obsolete)"

    def new_record(self, action: str, stack: str, result: str, **fields: Any) -> Record:
        """A ledger record of this run, for one stack or (stack "*") for the run as a whole."""
        return Record(
            action=action,
            environment=self.env.name,
            stack=stack,
            revision=self.revision,
            result=result,
            target=self.target.id,
            **fields,
        )

    def stack_record(self, action: str, r: StackResult) -> Record:
        """A stack's record, with the fingerprint of the state an apply left (the no-change fast path checks it)."""
        state: dict[str, Any] = {}
        kept = r.status in (StackStatus.APPLIED, StackStatus.DESTROYED, StackStatus.UNCHANGED)
        found = self.state_fingerprint(r.stack) if action == "apply" and kept else None
        if found is not None:
            state = {"state_serial": found.serial, "state_lineage": found.lineage, "state_digest": found.digest}
        return self.new_record(
            action,
            r.stack,
            r.status.ledger,
            stack_hash=self.rendered[r.stack].hash if r.stack in self.rendered else "",
            add=r.add,
            change=r.change,
            remove=r.remove,
            duration=round(r.duration, 2),
            detail=r.message[:500],
            **state,
        )

    def run_record(self, action: str, report: RunReport) -> Record:
        """The run's summary record: what `status` reads to tell which revision an environment runs."""
        result = "failed" if report.failed else "ok"
        whole = self.options.selection.whole
        everything = [s.name for s in (self.stacks() if whole else self.environment_stacks())]
        selected = "" if whole else ",".join(s.name for s in self.stacks())
        return self.new_record(
            action,
            "*",
            result,
            duration=round(report.duration, 2),
            stacks=selected,
            environment_stacks=",".join(everything),
        )

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

    def result(
        self, stack: Stack, status: StackStatus, outcome: Outcome | None = None, message: str = ""
    ) -> StackResult:
        res = StackResult(
            stack=stack.name, account=stack.account, environment=self.env.name, status=status, message=message
        )
        if outcome is not None:
            res.add, res.change, res.remove, res.imports = outcome.add, outcome.change, outcome.remove, outcome.imports
            res.duration = outcome.duration
            res.log = str(outcome.log)
            res.changes = [{"address": c.address, "action": c.action} for c in outcome.changes]
            res.reaches = reached_environments(stack, outcome.changes, self.env.name)
            for note in customizations_reaching(stack, outcome.changes, self.env.name):
                with self._lock:
                    if note not in self.notices:  # one note per customization, however many accounts it is in
                        self.notices.append(note)
            if outcome.timed_out:
                res.status = StackStatus.TIMED_OUT
                res.message = f"no answer within {self.options.timeout:.0f}s; see {outcome.log}"
            elif outcome.interrupted:
                res.status = StackStatus.INTERRUPTED
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
            res.status = StackStatus.FAILED
            res.message = f"cannot remove what destroy keeps from the state; see {outcome.log}"
            return res
        names = sorted({a.rsplit(".", 1)[0].rsplit(".", 1)[-1] for a in kept})
        res.message = "; ".join(m for m in (res.message, f"kept in AWS, removed from state: {', '.join(names)}") if m)
        return res

    def scp_slots_refusal(self, stack: Stack) -> str | None:
        """SCPs and RCPs attached outside the matrix take slots too: count them where the matrix attaches its own."""
        from botocore.exceptions import BotoCoreError, ClientError

        outputs = self.read_outputs(ORGANIZATION)
        ids = {"root": outputs.get("root_id")}
        ids |= {f"ou:{path}": i for path, i in (outputs.get("ou_ids") or {}).items() if path != "/"}
        ids |= {f"account:{name}": i for name, i in (outputs.get("account_ids") or {}).items()}
        ours_by_name = set(stack.inputs["guardrails"])
        ours_by_id = managed_policy_ids(self.read_state(ORGANIZATION))  # a renamed guardrail's old policy too
        wanted = matrix_attachments(stack.inputs)
        outside: dict[tuple[str, str], list[str]] = {}
        try:
            org = self.target.client("organizations")
            for policy_type, target in wanted:
                if not ids.get(target):
                    continue  # not created yet: nothing attached outside the matrix
                pages = org.get_paginator("list_policies_for_target").paginate(TargetId=ids[target], Filter=policy_type)
                outside[(policy_type, target)] = sorted(
                    p["Name"]
                    for page in pages
                    for p in page["Policies"]
                    if p["Name"] not in ours_by_name and p["Id"] not in ours_by_id
                )
        except (BotoCoreError, ClientError) as exc:
            self.notices.append(f"cannot count the SCPs and RCPs attached outside the matrix ({exc})")
            return None
        return slots_refusal(wanted, outside, Limits.from_matrix(self.project.matrix))

    def state_exists(self, stack: str) -> bool:
        """True once the stack has been applied and still manages something."""
        return bool((self.read_state(stack) or {}).get("resources"))
