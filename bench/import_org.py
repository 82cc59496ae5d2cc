"""Import of a live organization: `securecart-tf import` of synthetic organizations built in the sandbox.

    python bench/import_org.py                          # 100, 300 and 1,000 accounts (about 15 minutes on 2 cores)
    python bench/import_org.py --sizes 1000 --json out.json
    python bench/import_org.py --sizes 6                # the smallest organization, as the test runs it
    python bench/import_org.py --sizes 1000 --baseline ../other-checkout   # both trees' imports, one build
    python bench/import_org.py --sizes 100 --inprocess all --profile out   # CPU profile: out.100.prof

For each size, in a fresh sandbox:

- build, with boto3 alone, the organization bench/synth.py describes at that size (`synth_matrix`): its OUs,
  nested; the accounts in them; its guardrails as SCPs (a small deny document for each built-in) attached to
  their targets; Identity Center groups, permission sets with their policies, and every (group, permission
  set, account) assignment; and in each account the roles placed there, each with its trust policy and one
  permissions policy (a customer policy created in the account, or an inline one). The build time is printed
  apart: it is not the import's.
- time `securecart-tf import` as a user runs it, a fresh process: wall time, the tool's CPU time, the CPU time
  the sandbox spent answering it (it answers one request at a time), and the tool's peak resident memory;
  then check what it wrote: exit 0 (the written matrix loads and passes every check), and as many accounts,
  OUs, guardrails, groups and permission sets as were built. A run that fails the check keeps its figure,
  marked broken, and the script exits 1 at the end.
- import again in this process (into another folder) to count the AWS calls by operation, the boto3 clients
  made, and split the time into reading, writing the files, and checking them.

The sandbox starts with MOTO_IAM_LOAD_MANAGED_POLICIES=false: with moto's default for the sandbox (true) every
account's IAM loads AWS's ~1,300 managed policies when first touched, which costs the build about a second per
account and has nothing to do with the import. So the roles built here attach customer policies only.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # beside this script: bench/ is not a package

REGION = "us-east-1"
ACCESS_ROLE = "OrganizationAccountAccessRole"
GITHUB = "token.actions.githubusercontent.com"
BUILD_WORKERS = 8
TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


def say(text: str = "") -> None:
    print(text, flush=True)


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _not_deployment_role() -> dict[str, Any]:
    """The condition every guardrail carries: the deployment role (and the break-glass role) stay free."""
    return {
        "ArnNotLike": {"aws:PrincipalArn": [f"arn:aws:iam::*:role/{ACCESS_ROLE}", "arn:aws:iam::*:role/BreakGlassRole"]}
    }


BUILTIN_SCPS: dict[str, dict[str, Any]] = {
    "deny-root-user": doc(
        {
            "Sid": "DenyRootUser",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringLike": {"aws:PrincipalArn": ["arn:aws:iam::*:root"]}},
        }
    ),
    "deny-leave-organization": doc(
        {"Sid": "DenyLeave", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}
    ),
    "protect-security-services": doc(
        {
            "Sid": "ProtectSecurityServices",
            "Effect": "Deny",
            "Action": ["guardduty:DeleteDetector", "cloudtrail:StopLogging", "config:StopConfigurationRecorder"],
            "Resource": "*",
            "Condition": _not_deployment_role(),
        }
    ),
    "region-allow-list": doc(
        {
            "Sid": "OnlyTwoRegions",
            "Effect": "Deny",
            "Action": ["ec2:RunInstances", "rds:CreateDBInstance"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
        }
    ),
    "require-encryption": doc(
        {
            "Sid": "EncryptedVolumes",
            "Effect": "Deny",
            "Action": "ec2:CreateVolume",
            "Resource": "*",
            "Condition": {"Bool": {"ec2:Encrypted": "false"}},
        }
    ),
    "deny-internet-gateway": doc(
        {"Sid": "NoInternetGateways", "Effect": "Deny", "Action": "ec2:CreateInternetGateway", "Resource": "*"}
    ),
}
"""A small deny document standing for each built-in guardrail synth names: a hand-written SCP, not the
library's own text."""

INLINE_POLICIES: dict[str, dict[str, Any]] = {
    "SecurityAuditRole": doc(
        {"Effect": "Allow", "Action": ["guardduty:Get*", "guardduty:List*", "config:Describe*"], "Resource": "*"}
    ),
    "BreakGlassRole": doc(
        {"Effect": "Allow", "Action": ["organizations:Describe*", "organizations:List*"], "Resource": "*"}
    ),
    "OnCallRole": doc(
        {"Effect": "Allow", "Action": ["cloudwatch:GetMetricData", "logs:GetLogEvents"], "Resource": "*"}
    ),
    "orders-service": doc(
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": "*"},
    ),
}
"""The permissions policy of a role whose synth definition names no customer policy."""

ADMIN_STAND_IN = {"arn:aws:iam::aws:policy/AdministratorAccess": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
"""synth marks its administrator permission set `admin: true`; AWS has no such mark, so an import rightly
writes it unmarked and `validate` refuses it until a person marks it. The build gives that permission set
ReadOnlyAccess instead, so that the import ends valid and the check below can require it."""


# ---- boto3 into the sandbox -------------------------------------------------------------------------------


class Clients:
    """boto3 clients in the sandbox: the management account's, and each member account's through the
    deployment role, one session shared under a lock (a session may not make clients in two threads)."""

    def __init__(self, info: Any) -> None:
        import boto3
        from botocore.config import Config

        self.info = info
        self.config = Config(retries={"mode": "standard", "total_max_attempts": 5}, max_pool_connections=32)
        self.session = boto3.session.Session(
            aws_access_key_id=info.access_key, aws_secret_access_key=info.secret_key, region_name=REGION
        )
        self.lock = threading.Lock()
        self.cache: dict[str, Any] = {}

    def make(self, service: str, **keys: str) -> Any:
        with self.lock:
            return self.session.client(service, endpoint_url=self.info.endpoint, config=self.config, **keys)

    def mgmt(self, service: str) -> Any:
        if service not in self.cache:
            self.cache[service] = self.make(service)
        return self.cache[service]

    def member(self, account_id: str, service: str) -> Any:
        creds = self.mgmt("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{ACCESS_ROLE}", RoleSessionName="bench-build"
        )["Credentials"]
        return self.make(
            service,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )


def each(items: list[Any], work: Callable[[Any], Any], workers: int = BUILD_WORKERS) -> list[Any]:
    """`work` over `items` in a thread pool, results in order; the first failure is raised."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(work, items))


# ---- the build --------------------------------------------------------------------------------------------


@dataclass
class Built:
    """What the build made, by name, and how long it took."""

    management: str = ""
    root: str = ""
    ous: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    """Account name → its environment tag in the synthetic matrix."""
    ou_of: dict[str, str] = field(default_factory=dict)
    scps: int = 0
    groups: dict[str, str] = field(default_factory=dict)
    permission_sets: dict[str, str] = field(default_factory=dict)
    assignments: int = 0
    roles: int = 0
    customer_policies: int = 0
    oidc_providers: int = 0
    instance: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    def expand(self, targets: dict[str, Any]) -> list[str]:
        """The account names a synth target ({accounts, ous, environments}) covers, OUs with their subtrees."""
        chosen = set(targets.get("accounts", []))
        for ou in targets.get("ous", []):
            chosen.update(a for a, at in self.ou_of.items() if ou == "/" or at == ou or at.startswith(ou + "/"))
        for env in targets.get("environments", []):
            chosen.update(a for a, e in self.environment.items() if e == env)
        return sorted(chosen)


def build(info: Any, matrix: dict[str, Any]) -> Built:
    c, b = Clients(info), Built()
    for step, work in (
        ("organization", _organization),
        ("accounts", _accounts),
        ("guardrails", _guardrails),
        ("identity center", _identity_center),
        ("assignments", _assignments),
        ("roles", _roles),
    ):
        started = time.perf_counter()
        work(c, matrix, b)
        b.seconds[step] = time.perf_counter() - started
    return b


def _organization(c: Clients, matrix: dict[str, Any], b: Built) -> None:
    """The organization with all features, SCPs on, Identity Center trusted, and its OUs, level by level."""
    org = c.mgmt("organizations")
    b.management = org.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
    b.root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=b.root, PolicyType="SERVICE_CONTROL_POLICY")
    org.enable_aws_service_access(ServicePrincipal="sso.amazonaws.com")
    level = [("", unit) for unit in matrix["organization"].get("units", [])]
    while level:

        def make(item: tuple[str, dict[str, Any]]) -> tuple[str, str]:
            parent, unit = item
            path = f"{parent}/{unit['name']}" if parent else unit["name"]
            made = org.create_organizational_unit(ParentId=b.ous.get(parent, b.root), Name=unit["name"])
            return path, made["OrganizationalUnit"]["Id"]

        b.ous.update(each(level, make))
        level = [
            (f"{parent}/{unit['name']}" if parent else unit["name"], child)
            for parent, unit in level
            for child in unit.get("units", [])
        ]


def _accounts(c: Clients, matrix: dict[str, Any], b: Built) -> None:
    """Every account but the management one (the organization's own), each moved into its OU."""
    org = c.mgmt("organizations")
    management = matrix["organization"]["management_account"]

    def make(entry: dict[str, Any]) -> tuple[str, str]:
        made = org.create_account(AccountName=entry["name"], Email=entry["email"])["CreateAccountStatus"]
        if entry["ou"] != "/":
            org.move_account(AccountId=made["AccountId"], SourceParentId=b.root, DestinationParentId=b.ous[entry["ou"]])
        return entry["name"], made["AccountId"]

    members = [a for a in matrix["accounts"] if a["name"] != management]
    b.accounts = {management: b.management, **dict(each(members, make))}
    b.ou_of = {a["name"]: a["ou"] for a in matrix["accounts"]}
    b.environment = {a["name"]: a["environment"] for a in matrix["accounts"] if "environment" in a}


def _target_ids(b: Built, targets: dict[str, Any]) -> list[str]:
    ids = [b.root if ou == "/" else b.ous[ou] for ou in targets.get("ous", [])]
    return ids + [b.accounts[a] for a in targets.get("accounts", [])]


def _guardrails(c: Clients, matrix: dict[str, Any], b: Built) -> None:
    org = c.mgmt("organizations")
    for guardrail in matrix.get("guardrails", []):
        content = BUILTIN_SCPS[guardrail["builtin"]] if "builtin" in guardrail else synth.SCP_DENY_PUBLIC_S3
        made = org.create_policy(
            Name=guardrail["name"],
            Description=guardrail.get("description", f"{guardrail['name']}, made by hand"),
            Type="SERVICE_CONTROL_POLICY",
            Content=json.dumps(content),
        )["Policy"]["PolicySummary"]
        for target in _target_ids(b, guardrail["targets"]):
            org.attach_policy(PolicyId=made["Id"], TargetId=target)
        b.scps += 1


def _identity_center(c: Clients, matrix: dict[str, Any], b: Built) -> None:
    """Groups (SCIM-provisioned or created) and permission sets with their managed, customer and inline policies."""
    from securecart_tf import sandbox

    section = matrix["identity_center"]
    sso, identitystore = c.mgmt("sso-admin"), c.mgmt("identitystore")
    instance = sso.list_instances()["Instances"][0]
    arn, store = instance["InstanceArn"], instance["IdentityStoreId"]

    def group(entry: dict[str, Any]) -> tuple[str, str]:
        if entry["source"] == "scim":
            return entry["name"], sandbox.provision_scim_group(identitystore, store, entry["name"])
        made = identitystore.create_group(
            IdentityStoreId=store, DisplayName=entry["name"], Description=entry.get("description", "")
        )
        return entry["name"], made["GroupId"]

    def permission_set(entry: dict[str, Any]) -> tuple[str, str]:
        extra = {"Description": entry["description"]} if "description" in entry else {}
        made = sso.create_permission_set(
            InstanceArn=arn, Name=entry["name"], SessionDuration=entry["session_duration"], **extra
        )
        ids = {"InstanceArn": arn, "PermissionSetArn": made["PermissionSet"]["PermissionSetArn"]}
        for policy in entry.get("managed_policies", []):
            policy = ADMIN_STAND_IN.get(policy, policy)
            sso.attach_managed_policy_to_permission_set(ManagedPolicyArn=policy, **ids)
        for name in entry.get("customer_managed_policies", []):
            sso.attach_customer_managed_policy_reference_to_permission_set(
                CustomerManagedPolicyReference={"Name": name, "Path": "/"}, **ids
            )
        if "inline_policy" in entry:
            sso.put_inline_policy_to_permission_set(
                InlinePolicy=json.dumps({"Version": "2012-10-17", **entry["inline_policy"]}), **ids
            )
        return entry["name"], ids["PermissionSetArn"]

    b.groups = dict(each(section["groups"], group))
    b.permission_sets = dict(each(section["permission_sets"], permission_set))
    b.instance = arn


def _assignments(c: Clients, matrix: dict[str, Any], b: Built) -> None:
    """Every (group, permission set, account) the matrix's assignments expand to."""
    sso = c.mgmt("sso-admin")
    triples = sorted(
        {
            (entry["group"], entry["permission_set"], account)
            for entry in matrix["identity_center"]["assignments"]
            for account in b.expand(entry)
        }
    )

    def assign(triple: tuple[str, str, str]) -> None:
        group, permission_set, account = triple
        sso.create_account_assignment(
            InstanceArn=b.instance,
            TargetId=b.accounts[account],
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=b.permission_sets[permission_set],
            PrincipalType="GROUP",
            PrincipalId=b.groups[group],
        )

    each(triples, assign)
    b.assignments = len(triples)


def _trust(role: dict[str, Any], b: Built, account: str) -> dict[str, Any]:
    """The role's trust policy in `account`, as a person would write each principal synth names."""
    if "service" in role:
        return doc(
            {
                "Effect": "Allow",
                "Principal": {"Service": f"{role['service']}.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        )
    statements = []
    for principal in role["trust"]["principals"]:
        if "identity_center" in principal:
            ic = principal["identity_center"]
            source = b.accounts[ic["account"]]
            pattern = (
                f"arn:aws:iam::{source}:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_{ic['permission_set']}_*"
            )
            statements.append(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{source}:root"},
                    "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                    "Condition": {"ArnLike": {"aws:PrincipalArn": pattern}},
                }
            )
        elif "oidc" in principal:
            subject = principal["oidc"]["subject"].replace("{environment}", b.environment.get(account, "none"))
            statements.append(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{b.accounts[account]}:oidc-provider/{GITHUB}"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com", f"{GITHUB}:sub": subject}},
                }
            )
        else:
            ext = principal["external"]
            condition: dict[str, Any] = {"StringEquals": {"sts:ExternalId": ext["external_id"]}}
            if "expires" in role["trust"]:
                condition["DateLessThan"] = {"aws:CurrentTime": f"{role['trust']['expires']}T00:00:00Z"}
            statements.append(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ext['account_id']}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": condition,
                }
            )
    return doc(*statements)


def _customer_policy(role: dict[str, Any]) -> str | None:
    """The customer policy synth attaches to the role, if any: the role's one permissions policy then."""
    return next((p["policy"] for p in role.get("managed_policies", []) if isinstance(p, dict)), None)


def _roles(c: Clients, matrix: dict[str, Any], b: Built) -> None:
    """In each account, through the deployment role: the customer policies its roles use, GitHub's OIDC
    provider where a role trusts it, and the roles."""
    documents = {p["name"]: p["document"] for p in matrix.get("policies", [])}
    placed: dict[str, list[dict[str, Any]]] = {}
    for role in [*matrix.get("roles", []), *matrix.get("service_roles", [])]:
        for account in b.expand(role):
            placed.setdefault(account, []).append(role)
    counts: Counter[str] = Counter()
    counts_lock = threading.Lock()

    def in_account(item: tuple[str, list[dict[str, Any]]]) -> None:
        account, roles = item
        account_id = b.accounts[account]
        iam = c.make("iam") if account_id == b.management else c.member(account_id, "iam")
        arns = {}
        for name in sorted({n for r in roles if (n := _customer_policy(r))}):
            arns[name] = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(documents[name]))["Policy"]["Arn"]
        oidc = any("oidc" in p for r in roles for p in r.get("trust", {}).get("principals", []))
        if oidc:
            iam.create_open_id_connect_provider(
                Url=f"https://{GITHUB}",
                ClientIDList=["sts.amazonaws.com"],
                ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"],
            )
        for role in roles:
            iam.create_role(
                RoleName=role["name"],
                AssumeRolePolicyDocument=json.dumps(_trust(role, b, account)),
                Description=role["description"],
            )
            policy = _customer_policy(role)
            if policy is not None:
                iam.attach_role_policy(RoleName=role["name"], PolicyArn=arns[policy])
            else:
                iam.put_role_policy(
                    RoleName=role["name"], PolicyName="access", PolicyDocument=json.dumps(INLINE_POLICIES[role["name"]])
                )
        with counts_lock:
            counts.update(roles=len(roles), policies=len(arns), oidc=int(oidc))

    each(sorted(placed.items()), in_account)
    b.roles, b.customer_policies, b.oidc_providers = counts["roles"], counts["policies"], counts["oidc"]


# ---- measuring the import ---------------------------------------------------------------------------------


def cli() -> list[str]:
    script = Path(sys.executable).with_name("securecart-tf")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "securecart_tf"]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class CliRun:
    """`securecart-tf import` in a fresh process."""

    wall: float
    cpu: float
    """The tool's CPU time, user + system (wait4)."""
    rss_mib: float
    sandbox_cpu: float
    """CPU time the sandbox server spent meanwhile: answering the import's requests, one at a time."""
    code: int
    first_progress: float
    """Seconds from the start to the first progress line: start-up, and finding the sandbox."""
    timeline: list[tuple[float, str]] = field(default_factory=list)
    stdout: str = ""


def import_cli(project: Path, env: dict[str, str], sandbox_pid: int) -> CliRun:
    """Run `securecart-tf import` in `project` as a user would; stamp each line it writes to stderr."""
    with tempfile.TemporaryFile() as out:
        before = process_cpu(sandbox_pid)
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*cli(), "import"], cwd=project, env=env, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        assert proc.stderr is not None
        timeline = [(time.perf_counter() - start, line.decode(errors="replace").rstrip()) for line in proc.stderr]
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        sandbox_cpu = process_cpu(sandbox_pid) - before
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    progress = [t for t, line in timeline if line.startswith(("reading", "read "))]
    return CliRun(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mib=usage.ru_maxrss / 1024,
        sandbox_cpu=sandbox_cpu,
        code=proc.returncode,
        first_progress=progress[0] if progress else float("nan"),
        timeline=[(round(t, 2), line) for t, line in timeline],
        stdout=stdout,
    )


@dataclass
class InProcess:
    """`import` run in this process, counted: AWS calls by operation, clients made, and the time of each phase."""

    wall: float
    read: float
    write: float
    check: float
    calls: dict[str, int]
    call_seconds: float
    """Summed over threads: the reader waits on several calls at once."""
    clients: int
    client_seconds: float
    sandbox_cpu: float
    roles: int
    assignments: int
    accounts_read: int
    skipped: list[str]


@contextlib.contextmanager
def counting() -> Iterator[tuple[Counter[str], dict[str, float]]]:
    """Count every AWS call (by service:operation) and every client made, and the time spent in each."""
    import botocore.client
    import botocore.session

    calls: Counter[str] = Counter()
    seconds = {"calls": 0.0, "clients": 0.0, "clients_made": 0}
    lock = threading.Lock()
    make_call, create_client = botocore.client.BaseClient._make_api_call, botocore.session.Session.create_client

    def counted_call(self: Any, operation: str, params: Any) -> Any:
        started = time.perf_counter()
        try:
            return make_call(self, operation, params)
        finally:
            with lock:
                calls[f"{self.meta.service_model.service_name}:{operation}"] += 1
                seconds["calls"] += time.perf_counter() - started

    def counted_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return create_client(self, *args, **kwargs)
        finally:
            with lock:
                seconds["clients_made"] += 1
                seconds["clients"] += time.perf_counter() - started

    botocore.client.BaseClient._make_api_call = counted_call  # type: ignore[method-assign]
    botocore.session.Session.create_client = counted_client  # type: ignore[method-assign]
    try:
        yield calls, seconds
    finally:
        botocore.client.BaseClient._make_api_call = make_call  # type: ignore[method-assign]
        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]


@contextlib.contextmanager
def timed(module: Any, name: str, into: dict[str, float]) -> Iterator[None]:
    """Time every call of `module.name` into `into[name]` while the block runs."""
    original = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into[name] = into.get(name, 0.0) + time.perf_counter() - started

    setattr(module, name, wrapper)
    try:
        yield
    finally:
        setattr(module, name, original)


@contextlib.contextmanager
def profiled(module: Any, into: Path | None) -> Iterator[None]:
    """cProfile, in CPU time, of this thread and of every task `module`'s ThreadPoolExecutor runs; the merged
    statistics are written to `into` and their top printed. Nothing is done when `into` is None."""
    if into is None:
        yield
        return
    import cProfile
    import pstats

    profiles: list[cProfile.Profile] = []
    mine = threading.local()
    base = module.ThreadPoolExecutor

    class Profiled(base):  # type: ignore[misc, valid-type]
        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            def run(*args: Any, **kwargs: Any) -> Any:
                if not hasattr(mine, "profile"):
                    mine.profile = cProfile.Profile(time.thread_time)
                    profiles.append(mine.profile)
                mine.profile.enable()
                try:
                    return fn(*args, **kwargs)
                finally:
                    mine.profile.disable()

            return super().submit(run, *args, **kwargs)

    main = cProfile.Profile(time.thread_time)
    module.ThreadPoolExecutor = Profiled
    main.enable()
    try:
        yield
    finally:
        main.disable()
        module.ThreadPoolExecutor = base
        stats = pstats.Stats(main)
        for profile in profiles:
            stats.add(profile)
        stats.dump_stats(str(into))
        say(f"   profile (CPU time, all threads) written to {into}; the top by own time:")
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)


def import_inprocess(root: Path, info: Any, profile: Path | None = None) -> InProcess:
    from securecart_tf.adopt import importer, live, write
    from securecart_tf.run.workspace import Target

    root.mkdir(parents=True, exist_ok=True)
    target = Target("sandbox", f"sandbox:{info.session}", REGION, info=info)
    phases: dict[str, float] = {}
    before = process_cpu(info.pid)
    with (
        counting() as (calls, seconds),
        timed(live, "read_inventory", phases),
        timed(write, "write_project", phases),
        timed(importer, "_checked", phases),
        profiled(live, profile),
    ):
        started = time.perf_counter()
        imported = importer.read_and_write(
            root,
            target,
            deployment_role=ACCESS_ROLE,
            identity_center_region=None,
            stages=None,
            org_name=None,
            force=False,
            progress=lambda _message: None,
        )
        wall = time.perf_counter() - started
    inv = imported.inventory
    blocking = [f"{f.rule}: {f.message}" for f in imported.findings if f.blocks]
    if imported.load_error is not None or blocking:
        raise SystemExit(
            f"the in-process import wrote a project that does not pass: {imported.load_error} {blocking[:5]}"
        )
    return InProcess(
        wall=wall,
        read=phases["read_inventory"],
        write=phases["write_project"],
        check=phases["_checked"],
        calls=dict(calls.most_common()),
        call_seconds=seconds["calls"],
        clients=int(seconds["clients_made"]),
        client_seconds=seconds["clients"],
        sandbox_cpu=process_cpu(info.pid) - before,
        roles=sum(len(a.roles) for a in inv.iam),
        assignments=len(inv.identity_center.assignments) if inv.identity_center else 0,
        accounts_read=len(inv.iam),
        skipped=[f"{s.what}: {s.reason}" for s in inv.skipped],
    )


# ---- checking what was written ----------------------------------------------------------------------------


def _count_units(units: list[dict[str, Any]]) -> int:
    return sum(1 + _count_units(u.get("units", [])) for u in units)


def written_counts(project: Path) -> dict[str, int]:
    import yaml

    matrix = yaml.safe_load((project / "access-matrix.yaml").read_text())
    ic = matrix.get("identity_center") or {}
    return {
        "accounts": len(matrix["accounts"]),
        "ous": _count_units(matrix["organization"].get("units", [])),
        "guardrails": len(matrix.get("guardrails", [])),
        "groups": len(ic.get("groups", [])),
        "permission_sets": len(ic.get("permission_sets", [])),
    }


def check(project: Path, env: dict[str, str], run: CliRun, built: Built, stats: synth.Stats) -> dict[str, Any]:
    """The import exited 0 (its written matrix loads and passes every check), `validate` agrees, and it wrote
    as many of each thing as the build made. A figure of a broken run is not a figure."""
    if run.code != 0:
        problem = f"import exited {run.code}: " + "\n".join(line for _, line in run.timeline[-3:])
        return {"ok": False, "problem": problem, "validate": None}
    validate = subprocess.run([*cli(), "validate"], cwd=project, env=env, capture_output=True, text=True, check=False)
    found = written_counts(project)
    expected = {
        "accounts": stats.accounts,
        "ous": stats.ous,
        "guardrails": built.scps,
        "groups": len(built.groups),
        "permission_sets": len(built.permission_sets),
    }
    if validate.returncode != 0 or found != expected:
        problem = (
            f"the import of {stats.accounts} accounts is not right: validate exited {validate.returncode}, "
            f"wrote {found}, expected {expected}\n{validate.stdout[-3000:]}"
        )
        return {"ok": False, "problem": problem, "validate": validate.returncode, **found}
    return {"ok": True, "validate": validate.returncode, **found}


# ---- one size, and the whole run --------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_size(
    work: Path, n: int, inprocess: bool, baseline: Path | None = None, profile: Path | None = None
) -> dict[str, Any]:
    from securecart_tf import sandbox

    project = work / f"org-{n}"
    project.mkdir(parents=True)
    home = project / ".securecart"
    matrix, _, stats = synth.synth_matrix(synth.Size.scaled(n))
    env = {k: v for k, v in os.environ.items() if k not in ("SECURECART_HOME", "SECURECART_CACHE_DIR")}
    env.update({"SECURECART_HOME": str(home), "SECURECART_CACHE_DIR": str(work / f"lint-cache-{n}")})
    say(
        f"== {n:,} accounts ({stats.ous} OUs, {stats.guardrails} guardrails, {stats.groups} groups, "
        f"{stats.permission_sets} permission sets, {stats.assignments:,} assignments, "
        f"{stats.placements:,} roles in accounts)"
    )
    info, _ = sandbox.up(home)
    try:
        started, cpu = time.perf_counter(), process_cpu(info.pid)
        with counting() as (calls, _):
            built = build(info, matrix)
        build_seconds, build_calls = time.perf_counter() - started, sum(calls.values())
        steps = ", ".join(f"{step} {s:.0f} s" for step, s in built.seconds.items())
        say(
            f"   build (boto3, {BUILD_WORKERS} threads): {build_seconds:6.1f} s, {build_calls:,} calls, the sandbox "
            f"{1000 * (process_cpu(info.pid) - cpu) / build_calls:.1f} ms CPU a call   ({steps})"
        )
        say(
            f"      made {len(built.accounts):,} accounts, {len(built.ous)} OUs, {built.scps} SCPs, "
            f"{built.assignments:,} assignments, {built.roles:,} roles, {built.customer_policies:,} customer "
            f"policies and {built.oidc_providers} OIDC providers; the sandbox holds {rss_mib(info.pid):.0f} MiB"
        )
        compared = _baseline(project, env, info.pid, baseline) if baseline is not None else None
        run = import_cli(project, env, info.pid)
        say(
            f"   import (CLI):  {run.wall:6.2f} s wall  {run.cpu:6.2f} s CPU  {run.rss_mib:4.0f} MiB peak   "
            f"{1000 * run.wall / n:5.1f} ms per account;  the sandbox answering: {run.sandbox_cpu:6.2f} s CPU"
        )
        say(f"      first progress line after {run.first_progress:.2f} s (start-up, finding the sandbox)")
        checked = check(project, env, run, built, stats)
        row: dict[str, Any] = {
            "accounts": n,
            "stats": asdict(stats),
            "build": {
                "seconds": build_seconds,
                "calls": build_calls,
                "steps": built.seconds,
                "assignments": built.assignments,
                "roles": built.roles,
                "customer_policies": built.customer_policies,
            },
            "cli": asdict(run) | {"stdout": run.stdout[-2000:]},
            **({"baseline": compared} if compared is not None else {}),
            "written": checked,
        }
        if not checked["ok"]:  # the figure stays recorded, marked as the figure of a broken run
            say(f"      BROKEN RUN: {checked['problem']}")
            return row
        say(
            f"      wrote {checked['accounts']:,} accounts, {checked['ous']} OUs, {checked['guardrails']} guardrails, "
            f"{checked['groups']} groups, {checked['permission_sets']} permission sets; import exit 0, validate exit 0"
        )
        if inprocess:
            row["inprocess"] = asdict(_inprocess(project, info, n, built, profile))
    finally:
        sandbox.down(home)
    return row


def _baseline(project: Path, env: dict[str, str], sandbox_pid: int, tree: Path) -> dict[str, Any]:
    """`import` of the code in `tree` (another checkout), timed against the same organization first."""
    folder = project.parent / f"{project.name}-baseline"
    folder.mkdir()
    # a lint cache of its own: the import after it starts as cold as this one
    cache = str(project.parent / f"lint-cache-{project.name}-baseline")
    run = import_cli(folder, env | {"PYTHONPATH": str(tree), "SECURECART_CACHE_DIR": cache}, sandbox_pid)
    say(
        f"   import (CLI, {tree}):  {run.wall:6.2f} s wall  {run.cpu:6.2f} s CPU  {run.rss_mib:4.0f} MiB peak;  "
        f"the sandbox answering: {run.sandbox_cpu:6.2f} s CPU;  exit {run.code}"
    )
    return {"tree": str(tree), **asdict(run), "stdout": run.stdout[-2000:]}


def _inprocess(project: Path, info: Any, n: int, built: Built, profile: Path | None) -> InProcess:
    os.environ["SECURECART_CACHE_DIR"] = str(project.parent / f"lint-cache-{n}-inprocess")
    got = import_inprocess(project / "inprocess", info, profile.with_suffix(f".{n}.prof") if profile else None)
    if (got.roles, got.assignments, got.accounts_read) != (built.roles, built.assignments, n) or got.skipped:
        raise SystemExit(
            f"the in-process import read {got.roles} roles, {got.assignments} assignments and IAM in "
            f"{got.accounts_read} accounts; the build made {built.roles}, {built.assignments} and {n}; "
            f"skipped: {got.skipped[:5]}"
        )
    total = sum(got.calls.values())
    say(
        f"   import (in-process, counted): {got.wall:6.2f} s: read {got.read:.2f} s, write {got.write:.2f} s, "
        f"check {got.check:.2f} s; the sandbox answering: {got.sandbox_cpu:.2f} s CPU"
    )
    say(
        f"      {total:,} AWS calls ({total / n:.1f} per account), {got.clients:,} boto3 clients made "
        f"({got.client_seconds:.2f} s making them); read {got.roles:,} roles, {got.assignments:,} assignments"
    )
    top = ", ".join(f"{op} {count:,}" for op, count in list(got.calls.items())[:8])
    say(f"      most made: {top}")
    return got


def summary(rows: dict[int, dict[str, Any]]) -> dict[str, Any]:
    sizes = sorted(rows)
    say("== summary: import (CLI, fresh process) by size")
    say("   accounts    wall   ms/account   tool CPU   sandbox CPU   peak RSS")
    for n in sizes:
        r = rows[n]["cli"]
        say(
            f"   {n:8,}  {r['wall']:6.2f} s  {1000 * r['wall'] / n:8.1f}    {r['cpu']:6.2f} s    "
            f"{r['sandbox_cpu']:6.2f} s     {r['rss_mib']:4.0f} MiB"
        )
    growth: dict[str, Any] = {}
    for a, b in itertools.pairwise(sizes):
        ratio = rows[b]["cli"]["wall"] / rows[a]["cli"]["wall"]
        growth[f"{a}->{b}"] = {"wall": ratio, "linear": b / a}
        say(f"   growth {a:,}→{b:,}: {ratio:.2f}x the wall time for {b / a:.0f}x the accounts")
    if len(sizes) > 1:
        a, b = sizes[0], sizes[-1]
        ratio = rows[b]["cli"]["wall"] / rows[a]["cli"]["wall"]
        growth["first->last"] = {"wall": ratio, "linear": b / a}
        say(f"   growth {a:,}→{b:,}: {ratio:.2f}x (linear: {b / a:.0f}x)")
    if 1000 in rows:
        wall = rows[1000]["cli"]["wall"]
        say(f"   1,000 accounts: {wall:.1f} s, target < 60 s: {'met' if wall < 60 else 'NOT met'}")
    return growth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,300,1000", help="account counts (at least 6 each)")
    parser.add_argument(
        "--inprocess",
        default="first,last",
        help="sizes to import again in-process, counted: first,last (default), all or none",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="another checkout whose import is timed too, first, against the same organization (PYTHONPATH)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="profile the in-process imports (CPU time, every thread) into PROFILE.<accounts>.prof",
    )
    parser.add_argument("--json", type=Path, default=None, help="write every figure to this file")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    # the sandbox this starts inherits it (see the module's docstring); the product's default stays true
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "false"
    started = time.perf_counter()
    load = [round(x, 2) for x in os.getloadavg()]
    say(f"securecart-tf import bench: {os.cpu_count()} cores, load average {load}")
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_average": load, "sizes": {}}
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            work = args.keep
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="securecart-import-bench-")))
        counted = {"all": sizes, "none": [], "first,last": [sizes[0], sizes[-1]]}.get(args.inprocess)
        if counted is None:
            parser.error("--inprocess: first,last, all or none")
        for n in sizes:
            results["sizes"][n] = bench_size(
                work, n, inprocess=n in counted, baseline=args.baseline, profile=args.profile
            )
            if args.json is not None:  # after each size: a long run keeps what it measured so far
                args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
            say(f"   (load average now {[round(x, 2) for x in os.getloadavg()]})")
    results["growth"] = summary(results["sizes"])
    broken = [n for n, row in results["sizes"].items() if not row["written"]["ok"]]
    results["duration"] = time.perf_counter() - started
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    say(f"done in {results['duration']:.0f} s; load average now {results['load_average_after']}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    if broken:
        say(f"BROKEN: the import of {', '.join(map(str, broken))} accounts did not write a valid project")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
