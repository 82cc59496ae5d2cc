"""Before a stack first manages what AWS allows only once per account or region, find whether the account has one.

A GuardDuty detector and a Config recorder and delivery channel per region, Config's service-linked role (which
an access stack that records Config creates too), and an IAM OIDC provider per URL: AWS refuses a second one. It
refuses to turn Security Hub on twice in a region too, and turns it on itself in the account the organization makes
Security Hub's administrator; the standards the hub already has of the baseline's are adopted with it. An
account adopted into the matrix, or imported with its organization, may hold them already. The run looks for them
in each region a stack of the environment manages them in and its state does not hold them yet, and the model
turns what it finds into import blocks (`Stack.adopts`) addressed to that region's module, so the first plan
adopts them. A region whose state holds them is not looked at again; the names adopted there (a recorder's, a
channel's) are read back from the state, since a new name would replace them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from securecart_tf.model import ORGANIZATION, SECURITY, Singletons, Stack
from securecart_tf.model.account_settings import provider_alias
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
SECURITY_HUB = "aws_securityhub_account"
CONFIG_ROLE = "aws_iam_service_linked_role"
"""Config's service-linked role alone: what an access stack that records Config creates in its account."""

Want = tuple[str, str]
"""A singleton kind (resource type) and the region a stack manages it in; IAM's, which are global, the home region."""
Client = Callable[[str, str], Any]
"""A client factory in one account: service name, region → boto3 client."""


def wanted(stack: Stack, managed: set[Want], home: str) -> set[Want]:
    """The singletons (kind, region) `stack` asks for that its state (`managed`, see `managed_in`) does not hold."""
    own = stack.region or home
    everywhere = [own, *stack.regions]
    wants: set[Want] = set()
    if stack.layer == SECURITY:
        baseline = stack.inputs["baseline"]
        wants |= {(GUARDDUTY, r) for r in everywhere} if baseline["guardduty"] else set()
        wants |= {(CONFIG, r) for r in everywhere} | {(CONFIG_ROLE, own)} if baseline["config"] else set()
        wants |= {(SECURITY_HUB, r) for r in everywhere} if baseline["security_hub"] else set()
    elif stack.layer == ACCESS:
        settings = stack.inputs.get("account_settings", {})
        wants |= {(OIDC, own)} if stack.inputs["oidc_providers"] else set()
        wants |= {(CONFIG_ROLE, own)} if settings.get("config_service_linked_role") else set()
        wants |= {(CONFIG, r) for r, s in settings.get("regions", {}).items() if s["config_recorder"]}
    elif stack.layer == ORGANIZATION and stack.inputs.get("guardduty_admin_account"):
        # the management account's own detectors, beside GuardDuty's administrator in each region
        wants |= {(GUARDDUTY, r) for r in everywhere}
    return wants - managed


def managed_in(stack: Stack, resources: list[dict[str, Any]], home: str) -> set[Want]:
    """(type, region) of each resource `stack`'s state holds."""
    return {(r.get("type", ""), region_of(stack, r.get("module", ""), home)) for r in resources}


def region_of(stack: Stack, module: str, home: str) -> str:
    """The region a resource of `stack` is in, from its module's address: the root's module for another region is
    named after that region's provider alias (`module.security_baseline_eu_west_1`); any other is the stack's own."""
    root_module = module.split(".")[1] if module.startswith("module.") else ""
    for region in stack.regions:
        if root_module.endswith(f"_{provider_alias(region)}"):
            return region
    return stack.region or home


def find_singletons(run: Run) -> tuple[dict[str, Singletons], list[str]]:
    """account name → what it holds, for the stacks of this run that need a look; and notices for accounts that
    could not be read (their stacks plan as before: a duplicate then fails at apply, with AWS's own message)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if run.command not in LOOKED_UP_BY:
        return {}, []
    clients = Clients(run, "securecart-tf-lookup")
    organization = run.project.matrix.organization
    home = organization.home_region
    found: dict[str, Singletons] = {}
    notices: list[str] = []
    for stack in run.stacks():
        if stack.account not in run.model.directory.ids or not wanted(stack, set(), home):
            continue  # a new account holds nothing yet; a stack that manages no singleton needs no state read
        resources = (run.read_state(stack.name) or {}).get("resources", [])
        # an account may have two such stacks (management: organization and its access stack)
        kept = kept_names(stack, resources, home, organization.name)
        found[stack.account] = merged(found.get(stack.account, Singletons()), kept)
        wants = wanted(stack, managed_in(stack, resources, home), home)
        if not wants:
            continue
        try:
            found[stack.account] = merged(found[stack.account], look(_member(clients, stack.account), wants))
        except (BotoCoreError, ClientError, OSError) as exc:
            notices.append(
                f"cannot look for an existing GuardDuty detector, Config recorder, Security Hub or OIDC provider in "
                f"{stack.account} ({exc}); AWS refuses a second one at apply"
            )
    return {account: s for account, s in found.items() if s}, notices


def kept_names(stack: Stack, resources: list[dict[str, Any]], home: str, prefix: str) -> Singletons:
    """The recorders' and channels' names, per region, that the state of a stack recording Config holds where they
    are not the ones it would give (`prefix`-recorder, `prefix`-delivery): adopted once, they must stay."""
    kept = Singletons()
    if stack.layer not in (SECURITY, ACCESS):
        return kept
    defaults = {CONFIG: f"{prefix}-recorder", CHANNEL: f"{prefix}-delivery"}
    into = {CONFIG: kept.config_recorders, CHANNEL: kept.config_delivery_channels}
    for resource in resources:
        kind = resource.get("type", "")
        region = region_of(stack, resource.get("module", ""), home)
        for instance in resource.get("instances", []) if kind in into else []:
            name = (instance.get("attributes") or {}).get("name")
            if name and name != defaults[kind]:
                into[kind][region] = name
    return kept


def merged(first: Singletons, second: Singletons) -> Singletons:
    return Singletons(**{key: {**value, **getattr(second, key)} for key, value in vars(first).items()})


def _member(clients: Clients, account: str) -> Client:
    return lambda service, region: clients(service, account, region)


def look(client: Client, wants: set[Want]) -> Singletons:
    """What one account holds of each kind wanted, in the region it is wanted in (IAM's: globally)."""
    found = Singletons()
    for kind, region in sorted(wants):
        _LOOKS[kind](client, region, found)
    return found


def _detector(client: Client, region: str, found: Singletons) -> None:
    detectors = client("guardduty", region).list_detectors().get("DetectorIds", [])
    if detectors:
        found.guardduty_detectors[region] = detectors[0]  # AWS allows one per region


def _recorder(client: Client, region: str, found: Singletons) -> None:
    config = client("config", region)
    recorders = config.describe_configuration_recorders().get("ConfigurationRecorders", [])
    recorders = [r for r in recorders if not r.get("servicePrincipal")]  # service-linked recorders are AWS's
    if recorders:
        found.config_recorders[region] = recorders[0]["name"]
    channels = config.describe_delivery_channels().get("DeliveryChannels", [])
    if channels:
        found.config_delivery_channels[region] = channels[0]["name"]


def _config_role(client: Client, region: str, found: Singletons) -> None:
    roles = client("iam", region).list_roles(PathPrefix=f"/aws-service-role/{CONFIG_SERVICE}/").get("Roles", [])
    if roles:
        found.service_linked_roles[CONFIG_SERVICE] = roles[0]["Arn"]


def _oidc(client: Client, region: str, found: Singletons) -> None:
    for provider in client("iam", region).list_open_id_connect_providers().get("OpenIDConnectProviderList", []):
        arn = provider["Arn"]
        found.oidc_providers[arn.split(":oidc-provider/", 1)[-1]] = arn


def _security_hub(client: Client, region: str, found: Singletons) -> None:
    from botocore.exceptions import ClientError

    hub = client("securityhub", region)
    try:
        arn = hub.describe_hub()["HubArn"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidAccessException":
            return  # not subscribed in this region
        raise
    found.security_hubs[region] = arn.split(":")[4]
    for page in hub.get_paginator("get_enabled_standards").paginate():
        for subscription in page.get("StandardsSubscriptions", []):
            path = subscription["StandardsArn"].split("::standards/", 1)[-1]
            found.security_hub_standards[f"{region} {path}"] = subscription["StandardsSubscriptionArn"]


_LOOKS: dict[str, Callable[[Client, str, Singletons], None]] = {
    GUARDDUTY: _detector,
    CONFIG: _recorder,
    CONFIG_ROLE: _config_role,
    OIDC: _oidc,
    SECURITY_HUB: _security_hub,
}
