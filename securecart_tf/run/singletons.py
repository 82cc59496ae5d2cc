"""Before a stack first manages what AWS allows only once per account or region, find whether the account has one.

A GuardDuty detector and a Config recorder and delivery channel per region, Config's service-linked role (which
an access stack that records Config creates too), and an IAM OIDC provider per URL: AWS refuses a second one. An
account adopted into the matrix, or imported with its organization, may hold them already. The run looks for them
in each stack of the environment whose state does not manage them yet, and the model turns what it finds into
import blocks (`Stack.adopts`), so the first plan adopts them. A stack whose state holds them is not looked at
again; the names it adopted (a recorder's, a channel's) are read back from its state, since a new name would
replace them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from securecart_tf.model import ORGANIZATION, SECURITY, Singletons, Stack
from securecart_tf.model.addresses import CONFIG_SERVICE
from securecart_tf.model.stack import ACCESS
from securecart_tf.run.clients import Clients

if TYPE_CHECKING:
    from securecart_tf.run.orchestrate import Run

LOOKED_UP_BY = ("plan", "apply", "promote", "rollback")
"""The commands that plan, and so may create a second one; drift and destroy leave the rendering as applied."""
GUARDDUTY = "aws_guardduty_detector"
CONFIG = "aws_config_configuration_recorder"
OIDC = "aws_iam_openid_connect_provider"
CHANNEL = "aws_config_delivery_channel"
CONFIG_ROLE = "aws_iam_service_linked_role"
"""Config's service-linked role alone: what an access stack that records Config creates in its account."""

Client = Callable[[str], Any]
"""A client factory in one account: service name → boto3 client."""


def wanted(stack: Stack, managed: set[str]) -> set[str]:
    """The singleton kinds (resource types) `stack` asks for that its state (`managed`, types) does not hold."""
    kinds: set[str] = set()
    if stack.layer == SECURITY:
        baseline = stack.inputs["baseline"]
        kinds |= {GUARDDUTY} if baseline["guardduty"] else set()
        kinds |= {CONFIG} if baseline["config"] else set()
    elif stack.layer == ACCESS:
        kinds |= {OIDC} if stack.inputs["oidc_providers"] else set()
        kinds |= {CONFIG_ROLE} if stack.inputs.get("account_settings", {}).get("config_service_linked_role") else set()
    elif stack.layer == ORGANIZATION and stack.inputs.get("guardduty_admin_account"):
        kinds.add(GUARDDUTY)  # the management account's own detector, beside GuardDuty's administrator
    return kinds - managed


def find_singletons(run: Run) -> tuple[dict[str, Singletons], list[str]]:
    """account name → what it holds, for the stacks of this run that need a look; and notices for accounts that
    could not be read (their stacks plan as before: a duplicate then fails at apply, with AWS's own message)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if run.command not in LOOKED_UP_BY:
        return {}, []
    clients = Clients(run, "securecart-tf-lookup")
    region = run.project.matrix.organization.home_region
    found: dict[str, Singletons] = {}
    notices: list[str] = []
    for stack in run.stacks():
        if stack.account not in run.model.directory.ids or not wanted(stack, set()):
            continue  # a new account holds nothing yet; a stack that manages no singleton needs no state read
        resources = (run.read_state(stack.name) or {}).get("resources", [])
        # an account may have two such stacks (management: organization and its access stack)
        found[stack.account] = merged(found.get(stack.account, Singletons()), kept_names(stack, resources, region))
        kinds = wanted(stack, {r.get("type", "") for r in resources})
        if not kinds:
            continue
        try:
            found[stack.account] = merged(found[stack.account], look(_member(clients, stack.account), kinds, region))
        except (BotoCoreError, ClientError, OSError) as exc:
            notices.append(
                f"cannot look for an existing GuardDuty detector, Config recorder or OIDC provider in "
                f"{stack.account} ({exc}); AWS refuses a second one at apply"
            )
    return {account: s for account, s in found.items() if s}, notices


def kept_names(stack: Stack, resources: list[dict[str, Any]], region: str) -> Singletons:
    """The recorder's and channel's names the security stack's state holds, where they are not the ones the
    baseline would give: adopted once, they must stay."""
    kept = Singletons()
    if stack.layer != SECURITY:
        return kept
    prefix = stack.inputs["baseline"]["name_prefix"]
    defaults = {CONFIG: f"{prefix}-recorder", CHANNEL: f"{prefix}-delivery"}
    into = {CONFIG: kept.config_recorders, CHANNEL: kept.config_delivery_channels}
    for resource in resources:
        kind = resource.get("type", "")
        for instance in resource.get("instances", []) if kind in into else []:
            name = (instance.get("attributes") or {}).get("name")
            if name and name != defaults[kind]:
                into[kind][region] = name
    return kept


def merged(first: Singletons, second: Singletons) -> Singletons:
    return Singletons(**{key: {**value, **getattr(second, key)} for key, value in vars(first).items()})


def _member(clients: Clients, account: str) -> Client:
    return lambda service: clients(service, account)


def look(client: Client, kinds: set[str], region: str) -> Singletons:
    """What one account holds of `kinds` in `region` (and globally, for IAM)."""
    found = Singletons()
    if GUARDDUTY in kinds:
        detectors = client("guardduty").list_detectors().get("DetectorIds", [])
        if detectors:
            found.guardduty_detectors[region] = detectors[0]  # AWS allows one per region
    if CONFIG in kinds:
        config = client("config")
        recorders = config.describe_configuration_recorders().get("ConfigurationRecorders", [])
        recorders = [r for r in recorders if not r.get("servicePrincipal")]  # service-linked recorders are AWS's
        if recorders:
            found.config_recorders[region] = recorders[0]["name"]
        channels = config.describe_delivery_channels().get("DeliveryChannels", [])
        if channels:
            found.config_delivery_channels[region] = channels[0]["name"]
        roles = client("iam").list_roles(PathPrefix=f"/aws-service-role/{CONFIG_SERVICE}/").get("Roles", [])
        if roles:
            found.service_linked_roles[CONFIG_SERVICE] = roles[0]["Arn"]
    if CONFIG_ROLE in kinds and CONFIG not in kinds:
        roles = client("iam").list_roles(PathPrefix=f"/aws-service-role/{CONFIG_SERVICE}/").get("Roles", [])
        if roles:
            found.service_linked_roles[CONFIG_SERVICE] = roles[0]["Arn"]
    if OIDC in kinds:
        for provider in client("iam").list_open_id_connect_providers().get("OpenIDConnectProviderList", []):
            arn = provider["Arn"]
            found.oidc_providers[arn.split(":oidc-provider/", 1)[-1]] = arn
    return found
