"""The access stacks, one per account: customer-managed policies, roles, service roles and OIDC providers."""

from __future__ import annotations

from typing import Any

from securecart_tf.config.load import Project
from securecart_tf.config.schema import InlinePolicy, PolicyRef, Role, ServiceRole
from securecart_tf.iam import documents
from securecart_tf.model.account_settings import effective_settings, provider_alias, settings_inputs
from securecart_tf.model.addresses import ACCOUNT_IAM_MODULE, CONFIG_SERVICE, ImportBlock, tf_index
from securecart_tf.model.customizations import customization_inputs, module_block, place_customizations
from securecart_tf.model.directory import AccountDirectory
from securecart_tf.model.index import MatrixIndex
from securecart_tf.model.placements import Placements
from securecart_tf.model.stack import ACCESS, ORGANIZATION, SECURITY, Singletons, Stack, access_stack, stack_sort_key


def access_stacks(
    project: Project,
    index: MatrixIndex,
    placed: Placements,
    directory: AccountDirectory,
    singletons: dict[str, Singletons] | None = None,
) -> list[Stack]:
    """One stack for each account that holds a role, a service role, a customer-managed policy, a customization or
    a setting of the security baseline."""
    builder = _AccessStacks(project, index, placed, directory)
    stacks = [s for s in (builder.stack(a.name) for a in index.matrix.accounts) if s is not None]
    home = index.matrix.organization.home_region
    for stack in stacks:
        found = (singletons or {}).get(stack.account, Singletons())
        recorders = _config_recorder_imports(stack, found, home)
        stack.adopts = (*_oidc_imports(stack, found), *_config_role_import(stack, found), *recorders)
    return stacks


def _oidc_imports(stack: Stack, found: Singletons) -> list[ImportBlock]:
    """An account holds one OIDC provider per URL: one that exists already is adopted, not created again."""
    blocks = []
    for key, provider in sorted(stack.inputs["oidc_providers"].items()):
        arn = found.oidc_providers.get(str(provider["url"]).removeprefix("https://"))
        if arn:
            to = f"{ACCOUNT_IAM_MODULE}.aws_iam_openid_connect_provider.this{tf_index(key)}"
            blocks.append(ImportBlock(stack.name, to, arn))
    return blocks


def _config_role_import(stack: Stack, found: Singletons) -> list[ImportBlock]:
    """Config's service-linked role, once per account: one that exists already is adopted, not created again."""
    arn = found.service_linked_roles.get(CONFIG_SERVICE)
    if not (arn and stack.inputs.get("account_settings", {}).get("config_service_linked_role")):
        return []
    return [ImportBlock(stack.name, f"{ACCOUNT_IAM_MODULE}.aws_iam_service_linked_role.config[0]", arn)]


def _config_recorder_imports(stack: Stack, found: Singletons, home: str) -> list[ImportBlock]:
    """A Config recorder and delivery channel per region: the account's own, where it has them in a region the stack
    records in, are adopted, and keep their names (a new name would replace them)."""
    blocks = []
    for region, settings in stack.inputs.get("account_settings", {}).get("regions", {}).items():
        recorder = settings["config_recorder"]
        if recorder is None:
            continue
        module = ACCOUNT_IAM_MODULE if region == home else f"{ACCOUNT_IAM_MODULE}_{provider_alias(region)}"
        name = found.config_recorders.get(region)
        if name:
            recorder["name"] = name
            blocks.append(ImportBlock(stack.name, f"{module}.aws_config_configuration_recorder.this[0]", name))
            blocks.append(ImportBlock(stack.name, f"{module}.aws_config_configuration_recorder_status.this[0]", name))
        channel = found.config_delivery_channels.get(region)
        if channel:
            recorder["delivery_channel_name"] = channel
            blocks.append(ImportBlock(stack.name, f"{module}.aws_config_delivery_channel.this[0]", channel))
    return blocks


def _policy_ref(ref: PolicyRef) -> dict[str, str | None]:
    return {"arn": ref.arn, "policy": ref.policy}


class _AccessStacks:
    def __init__(self, project: Project, index: MatrixIndex, placed: Placements, directory: AccountDirectory):
        self.project = project
        self.index = index
        self.placed = placed
        self.directory = directory
        self.partition = documents.partition_of(index.matrix.organization.home_region)
        self.homes = {name: set(accounts) for name, accounts in placed.placements.items()}
        self.home_region = index.matrix.organization.home_region
        """role name → the accounts it is placed in."""
        self.policy_documents: dict[str, str] = {}
        """policy name → its minified document, the same in every account that needs it."""
        self.customizations = place_customizations(index)

    def stack(self, acc: str) -> Stack | None:
        roles = self.placed.roles_in.get(acc, [])
        sroles = self.placed.service_roles_in.get(acc, [])
        customs = self.customizations.accounts.get(acc, [])
        baseline = self.index.matrix.security_baseline
        settings = effective_settings(baseline, self.index, acc)
        has_settings = settings.s3_public_access_block or settings.ebs_encryption or settings.config_recorder
        if not (roles or sroles or self.placed.needed_policies.get(acc) or customs or has_settings):
            return None
        env = self.index.accounts[acc].environment
        deps: set[str] = {ORGANIZATION}
        oidc: dict[str, Any] = {}
        role_inputs: dict[str, Any] = {}
        for r in roles:
            for p in r.trust.principals:
                if p.oidc is not None:
                    oidc[p.oidc.provider] = documents.OIDC_PROVIDERS[p.oidc.provider]
                if p.role is not None and p.role.account != acc and p.role.account in self.homes.get(p.role.role, ()):
                    deps.add(access_stack(p.role.account))  # IAM requires a trusted role to exist
            role_inputs[r.name] = self.role(r, acc, env)
        for s in sroles:
            role_inputs[s.name] = self.service_role(s, acc, env)
        if any(r.path != "/" for r in roles):  # only then: a stack of roles at "/" renders as it always has
            paths = {r.name: r.path for r in roles}
            for name, spec in role_inputs.items():
                spec["path"] = paths.get(name, "/")
        policies = {name: self.policy(name) for name in self.placed.needed_policies.get(acc, {})}
        inputs: dict[str, Any] = {
            "account": {"name": acc, "environment": env},
            "policies": policies,
            "oidc_providers": oidc,
            "roles": role_inputs,
        }
        if baseline is not None and has_settings:  # only then: a stack without them renders as it always has
            inputs["account_settings"] = settings_inputs(baseline, settings, self.index, acc, self.directory)
            if any(r["config_recorder"] for r in inputs["account_settings"]["regions"].values()):
                deps.add(SECURITY)  # recorders deliver to the security account's log bucket, which must exist
        if customs:  # only then: a stack without customizations renders as it always has
            stage = env or self.index.stage_of_account.get(acc)
            inputs["customizations"] = customization_inputs(self.project, customs, acc, self.directory(acc), stage)
        self.directory(acc)
        return Stack(
            name=access_stack(acc),
            layer=ACCESS,
            account=acc,
            depends_on=tuple(sorted(deps, key=stack_sort_key)),
            modules=("account-iam", "iam-role"),
            inputs=inputs,
            environment=self.index.stage_of_stack.get(access_stack(acc)),
            pending_accounts=self.directory.take_pending(),
            reach={"customization": {c.name: self.customizations.stages[c.name] for c in customs}} if customs else {},
            customizations=tuple(module_block(c) for c in customs),
            # each region other than the home region where the account's settings apply, through its own provider
            regions=tuple(r for r in inputs.get("account_settings", {}).get("regions", {}) if r != self.home_region),
        )

    def role(self, r: Role, acc: str, env: str | None) -> dict[str, Any]:
        if r.trust.policy_file is not None:  # the user's own trust policy, sent as written
            trust_policy = documents.minify(self.project.policy_files[r.trust.policy_file].document)
        else:
            trust = documents.role_trust_policy(r, account_id=self.directory, self_account=acc, environment=env)
            trust_policy = documents.minify(documents.in_partition(trust, self.partition))
        return {
            "description": r.description,
            "trust_policy": trust_policy,
            "permissions_boundary": _policy_ref(r.permissions_boundary) if r.permissions_boundary else None,
            "managed_policies": [_policy_ref(ref) for ref in r.managed_policies],
            "inline_policies": {p.name: self.inline_document(p) for p in r.inline_policies},
            "max_session_duration": r.max_session_duration,
            "tags": {"securecart:audience": r.audience.value},
        }

    def service_role(self, s: ServiceRole, acc: str, env: str | None) -> dict[str, Any]:
        account_id = self.directory(acc)
        region = self.index.matrix.organization.home_region
        access = documents.service_access_policy(s, account_id=account_id, region=region, environment=env, account=acc)
        inline = documents.in_partition(access, self.partition)
        trust = documents.service_trust_policy(s, self_account_id=self.directory(acc))
        return {
            "description": s.description,
            "trust_policy": documents.minify(documents.in_partition(trust, self.partition)),
            "permissions_boundary": _policy_ref(s.permissions_boundary) if s.permissions_boundary else None,
            "managed_policies": [_policy_ref(ref) for ref in s.managed_policies],
            "inline_policies": {"resource-access": documents.minify(inline)} if inline else {},
            "max_session_duration": 3600,
            "tags": {"securecart:audience": "service", "securecart:service": s.service.value},
        }

    def inline_document(self, policy: InlinePolicy) -> str:
        if policy.document is not None:
            return documents.minify(policy.document.model_dump(mode="json", exclude_none=True))
        return documents.minify(self.project.policy_files[str(policy.file)].document)

    def policy(self, name: str) -> dict[str, Any]:
        pol = self.index.policies[name]
        document = self.policy_documents.get(name)
        if document is None:
            doc = (
                pol.document.model_dump(mode="json", exclude_none=True)
                if pol.document is not None
                else self.project.policy_files[str(pol.file)].document
            )
            document = self.policy_documents[name] = documents.minify(doc)
        return {"path": pol.path, "description": pol.description, "document": document}
