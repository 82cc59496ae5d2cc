"""The few AWS APIs moto lacks, served in front of moto so real Terraform can apply everything.

- SSO Admin: ListTagsForResource, TagResource, UntagResource, DescribePermissionSetProvisioningStatus,
  and Put/Get/DeletePermissionsBoundary{To,For,From}PermissionSet. ListAccountsForProvisionedPermissionSet
  answers the accounts a permission set is assigned in, as AWS does (an assignment provisions it there);
  moto answers only the caller's account, and only after an explicit ProvisionPermissionSet.
- Identity Store: groups provisioned by SCIM. AWS gives a group its IdP pushed over SCIM `ExternalIds`; the
  sandbox has no SCIM endpoint, so its stand-in for the IdP (`sandbox.provision_scim_group`) creates the group
  with CreateGroup and a header naming the IdP's ID for it, and the group gets `ExternalIds` as SCIM would
  give it. Groups created without the header have none, like groups created in Identity Center.
- IAM Access Analyzer: analyzers, per account and region, with their configuration (an unused-access
  analyzer's tracking period) and tags (the whole API is missing in moto).
- GuardDuty: Describe/UpdateOrganizationConfiguration, DisableOrganizationAdminAccount, and the tags of a
  detector (Tag/UntagResource, ListTagsForResource), which the provider changes on a detector it imported.
- CloudTrail: Register/DeregisterOrganizationDelegatedAdmin, recorded in Organizations like AWS does.
- Security Hub: its standards (DescribeStandards, BatchEnableStandards, GetEnabledStandards,
  BatchDisableStandards) in an account where Security Hub is on; the hub's settings
  (UpdateSecurityHubConfiguration, read back by DescribeHub); and, per region as AWS keeps them, the
  organization's administrator (Enable/Disable/ListOrganizationAdminAccount(s)) and configuration
  (Update/DescribeOrganizationConfiguration). moto keeps one administrator and configuration per organization,
  and refuses the configuration the provider sends (a configuration type without a status).
- S3: the `x-amz-transition-default-minimum-object-size` header of bucket lifecycle configurations,
  which the provider compares with what it put, after every put (moto answers AWS's default whatever
  was put).

`patch_moto` also mends moto defects: SSO Admin rejects AWS managed policies that live under a path
(such as `job-function/ViewOnlyAccess`), because it reads the policy data's "path" key, which is "Path";
a lifecycle PUT that S3 would reject empties the bucket's configuration instead of leaving it;
CloudTrail's DeleteTrail ignores a trail given by ARN, as the provider gives it, so destroy left the
trail behind; IAM's GetAccountAuthorizationDetails leaves out each managed policy's name and ID; and
Identity Store's DescribeGroup answers no ExternalIds, even for a group that has some; Config's
PutConfigurationRecorder refuses the empty exclusion list the provider sends when it updates an imported recorder;
S3's PutBucketLogging fails with a 500 when the target bucket's policy has a statement for Principal "*"; and
IAM names Config's service-linked role AWSServiceRoleForconfig instead of AWSServiceRoleForConfig.
moto also finds a request's account by looking for its access key in every partition of every account,
which creates an IAM backend, with AWS's managed policies loaded, for each: the sandbox looks only in the
IAM backends that exist (the same answer, at a third of the sandbox's CPU in an apply).

moto is lenient where AWS is not. The sandbox refuses, as AWS does (`Shims.refuse`):

- CreateTrail/UpdateTrail of an organization trail whose bucket policy does not let CloudTrail write for
  the management account's trail ARN (aws:SourceArn), or whose KMS key policy does not let CloudTrail
  encrypt for it: an organization trail is owned by the management account, whoever creates it.
- PutConfigurationAggregator with an organization source from an account that is neither the management
  account nor registered as delegated administrator for both config.amazonaws.com and
  config-multiaccountsetup.amazonaws.com.
- AssumeRole into a role that does not exist (moto hands out credentials for any ARN).
- RemoveAccountFromOrganization of an account the organization created (it has no standalone billing
  until someone completes its sign-up) or of a delegated administrator.
- CreateDetector where the account has a GuardDuty detector in that region already (one per region).

State is in memory, per account, like moto's. Each shim answers in the wire format the AWS SDK expects.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, unquote

from securecart_tf.sandbox import HEALTH_PATH, SCIM_EXTERNAL_ID_HEADER

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/")
SSO_TARGET_PREFIX = "SWBExternalService."
CLOUDTRAIL_TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
CLOUDTRAIL_PRINCIPAL = "cloudtrail.amazonaws.com"
CONFIG_TARGET_PREFIX = "StarlingDoveService."
ORGANIZATIONS_TARGET_PREFIX = "AWSOrganizationsV20161128."
IDENTITYSTORE_TARGET_PREFIX = "AWSIdentityStore."
SCIM_EXTERNAL_ID_ENVIRON = "HTTP_" + SCIM_EXTERNAL_ID_HEADER.upper().replace("-", "_")
CONFIG_PRINCIPALS = ("config.amazonaws.com", "config-multiaccountsetup.amazonaws.com")
# The Security Hub standards the sandbox knows; {region} is the caller's. AWS has more (PCI DSS, NIST, CIS 1.2/3.0).
STANDARDS: tuple[dict[str, Any], ...] = (
    {
        "StandardsArn": "arn:aws:securityhub:{region}::standards/aws-foundational-security-best-practices/v/1.0.0",
        "Name": "AWS Foundational Security Best Practices v1.0.0",
        "Description": "The AWS Foundational Security Best Practices standard.",
        "EnabledByDefault": True,
        "StandardsManagedBy": {"Company": "AWS", "Product": "Security Hub"},
    },
    {
        "StandardsArn": "arn:aws:securityhub:{region}::standards/cis-aws-foundations-benchmark/v/1.4.0",
        "Name": "CIS AWS Foundations Benchmark v1.4.0",
        "Description": "The Center for Internet Security AWS Foundations Benchmark v1.4.0.",
        "EnabledByDefault": False,
        "StandardsManagedBy": {"Company": "CIS", "Product": "CIS AWS Foundations Benchmark"},
    },
)


def _account_of(access_key: str) -> str:
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key)


class ShimState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sso_tags: dict[str, dict[str, str]] = {}
        self.sso_boundaries: dict[str, dict[str, Any]] = {}
        self.analyzers: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.analyzer_tags: dict[str, dict[str, str]] = {}
        self.guardduty_org: dict[tuple[str, str], dict[str, Any]] = {}
        self.lifecycle_min_size: dict[tuple[str, str], str] = {}
        # (account, region) -> subscription ARN -> the StandardsSubscription AWS answers
        self.securityhub_standards: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        # (management account, region) -> the delegated administrator's account ID, and the organization's settings
        self.securityhub_admins: dict[tuple[str, str], str] = {}
        self.securityhub_org_config: dict[tuple[str, str], dict[str, Any]] = {}
        # (account, region) -> AutoEnableControls and ControlFindingGenerator as last updated
        self.securityhub_hub: dict[tuple[str, str], dict[str, Any]] = {}


class Request:
    def __init__(self, environ: dict[str, Any]):
        self.environ = environ
        self.method: str = environ.get("REQUEST_METHOD", "GET")
        self.path: str = unquote(environ.get("PATH_INFO", ""))
        self.query = parse_qs(environ.get("QUERY_STRING", ""))
        auth = environ.get("HTTP_AUTHORIZATION", "")
        match = _CREDENTIAL.search(auth)
        self.access_key, self.region, self.service = match.groups() if match else ("", "us-east-1", "")
        self.target: str = environ.get("HTTP_X_AMZ_TARGET", "")
        self._body: bytes | None = None

    def body(self) -> bytes:
        if self._body is None:
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            self._body = self.environ["wsgi.input"].read(length) if length else b""
            # hand the body back, untouched, in case the request goes on to moto
            import io

            self.environ["wsgi.input"] = io.BytesIO(self._body)
        return self._body

    def json(self) -> dict[str, Any]:
        raw = self.body()
        if not raw:
            return {}
        data = json.loads(raw)
        return data if isinstance(data, dict) else {}

    @property
    def account(self) -> str:
        return _account_of(self.access_key)


Response = tuple[int, dict[str, Any] | None]


class _Refusal(Exception):
    """A call AWS refuses, with the answer it refuses it with."""

    def __init__(self, response: Response):
        super().__init__(response)
        self.response = response


def _error(status: int, code: str, message: str) -> Response:
    return status, {"__type": code, "message": message, "Message": message}


def _page(items: list[Any], key: str, body: dict[str, Any]) -> dict[str, Any]:
    """One page of `items` as a JSON API answers it: MaxResults at a time, NextToken to the next page."""
    start = int(body["NextToken"]) if str(body.get("NextToken", "")).isdigit() else 0
    size = int(body.get("MaxResults") or 100)
    page: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        page["NextToken"] = str(start + size)
    return page


class Shims:
    """WSGI middleware: answers the shimmed operations, passes everything else to moto."""

    def __init__(self, app: WSGIApp, session: str = ""):
        self.app = app
        self.session = session
        self.state = ShimState()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == HEALTH_PATH and not request.service:
            body = json.dumps({"session": self.session, "pid": os.getpid()}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        refused = self.refuse(request)
        if refused is not None:
            return self._answer(request, refused, start_response)
        if _is_s3_lifecycle(request):
            return self._s3_lifecycle(request, environ, start_response)
        if request.target == SSO_TARGET_PREFIX + "CreatePermissionSet":
            return self._sso_create_permission_set(request, environ, start_response)
        if request.target == IDENTITYSTORE_TARGET_PREFIX + "CreateGroup" and environ.get(SCIM_EXTERNAL_ID_ENVIRON):
            return self._scim_create_group(request, environ, start_response)
        handled = self.dispatch(request)
        if handled is None:
            return self.app(environ, start_response)
        return self._answer(request, handled, start_response)

    def _answer(self, request: Request, handled: Response, start_response: Callable[..., Any]) -> Iterable[bytes]:
        status, payload = handled
        if request.service == "sts":
            return _query_error(status, payload or {}, start_response)
        body = json.dumps(payload or {}).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 409: "Conflict"}.get(status, "Error")
        headers = [
            ("Content-Type", "application/x-amz-json-1.1" if request.target else "application/json"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ]
        if status >= 400 and payload:
            headers.append(("x-amzn-ErrorType", str(payload.get("__type", "Error"))))
        start_response(f"{status} {reason}", headers)
        return [body]

    def dispatch(self, request: Request) -> Response | None:
        if request.target.startswith(SSO_TARGET_PREFIX):
            handler = getattr(self, "_sso_" + request.target[len(SSO_TARGET_PREFIX) :], None)
            return handler(request) if handler else None
        if request.service == "access-analyzer":
            return self._access_analyzer(request)
        if request.service == "securityhub":
            return self._securityhub(request)
        if request.service == "guardduty":
            match = re.fullmatch(r"/detector/([^/]+)/admin", request.path)
            if match:
                return self._guardduty_org(request, match.group(1))
            if request.path == "/admin/disable" and request.method == "POST":
                return self._guardduty_disable_admin(request)
            if request.path.startswith("/tags/arn:"):
                return self._guardduty_tags(request, request.path.removeprefix("/tags/"))
        # botocore sends the full prefix; smithy SDKs (Terraform's Go SDK v2) send "CloudTrail_20131101.<op>"
        cloudtrail_op = request.target.removeprefix("com.amazonaws.cloudtrail.v20131101.")
        if cloudtrail_op == "CloudTrail_20131101.RegisterOrganizationDelegatedAdmin":
            return self._cloudtrail_delegate(request, register=True)
        if cloudtrail_op == "CloudTrail_20131101.DeregisterOrganizationDelegatedAdmin":
            return self._cloudtrail_delegate(request, register=False)
        return None

    # ---- What AWS refuses and moto accepts -----------------------------------------------------------

    def refuse(self, r: Request) -> Response | None:
        """The refusal AWS would answer this request with, or None to let it through."""
        if r.service == "sts":
            return _refuse_missing_role(r)
        cloudtrail_op = r.target.removeprefix("com.amazonaws.cloudtrail.v20131101.")
        if cloudtrail_op in ("CloudTrail_20131101.CreateTrail", "CloudTrail_20131101.UpdateTrail"):
            return _refuse_organization_trail(r)
        if r.target == CONFIG_TARGET_PREFIX + "PutConfigurationAggregator":
            return _refuse_organization_aggregator(r)
        if r.target == ORGANIZATIONS_TARGET_PREFIX + "RemoveAccountFromOrganization":
            return _refuse_account_removal(r)
        if r.service == "guardduty" and r.method == "POST" and r.path.rstrip("/") == "/detector":
            return _refuse_second_detector(r)
        return None

    # ---- CloudTrail delegated administrator ----------------------------------------------------------

    def _cloudtrail_delegate(self, r: Request, *, register: bool) -> Response:
        """CloudTrail registers its delegated administrator in Organizations, as AWS does."""
        from moto.core.exceptions import JsonRESTError, ServiceException
        from moto.organizations.models import FakeDelegatedAdministrator, organizations_backends

        if CLOUDTRAIL_PRINCIPAL not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:  # moto lacks it; AWS has it
            FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(CLOUDTRAIL_PRINCIPAL)
        body = r.json()
        account = str((body.get("MemberAccountId") if register else body.get("DelegatedAdminAccountId")) or "")
        backend = organizations_backends[r.account]["aws"]
        try:
            if register:
                backend.register_delegated_administrator(AccountId=account, ServicePrincipal=CLOUDTRAIL_PRINCIPAL)
            else:
                backend.deregister_delegated_administrator(AccountId=account, ServicePrincipal=CLOUDTRAIL_PRINCIPAL)
        except JsonRESTError as exc:
            return _error(400, exc.error_type, exc.message)
        except ServiceException as exc:  # Organizations' own errors
            return _error(400, exc.code, exc.message)
        return 200, {}

    # ---- Security Hub standards and organization administrator (REST-JSON) --------------------------

    def _securityhub(self, r: Request) -> Response | None:
        route = (r.method, r.path.rstrip("/"))
        if route == ("GET", "/standards"):
            standards = [dict(s, StandardsArn=s["StandardsArn"].format(region=r.region)) for s in STANDARDS]
            return 200, _page(standards, "Standards", {k: v[0] for k, v in r.query.items()})
        organization = {
            ("POST", "/organization/admin/enable"): self._securityhub_enable_admin,
            ("GET", "/organization/admin"): self._securityhub_admins,
            ("POST", "/organization/admin/disable"): self._securityhub_disable_admin,
            ("POST", "/organization/configuration"): self._securityhub_update_org_config,
            ("GET", "/organization/configuration"): self._securityhub_org_config,
        }.get(route)
        if organization is not None:
            try:
                return organization(r)
            except _Refusal as refusal:
                return refusal.response
        if r.path.rstrip("/") == "/accounts" and r.method in ("GET", "PATCH", "DELETE", "POST"):
            return self._securityhub_hub(r)
        handler = {
            "/standards/register": self._securityhub_enable_standards,
            "/standards/get": self._securityhub_enabled_standards,
            "/standards/deregister": self._securityhub_disable_standards,
        }.get(r.path.rstrip("/"))
        if handler is None or r.method != "POST":
            return None
        from moto.securityhub.models import securityhub_backends

        if not securityhub_backends[r.account][r.region].enabled:
            return _error(401, "InvalidAccessException", f"Account {r.account} is not subscribed to AWS Security Hub")
        return handler(r)

    def _securityhub_hub(self, r: Request) -> Response | None:
        """DescribeHub with the settings UpdateSecurityHubConfiguration put; DisableSecurityHub forgets them;
        EnableSecurityHub refused where the account is subscribed already."""
        from moto.core.exceptions import ServiceException
        from moto.securityhub.models import securityhub_backends

        backend = securityhub_backends[r.account][r.region]
        key = (r.account, r.region)
        if r.method == "POST":  # EnableSecurityHub: moto enables twice without a word, AWS refuses the second
            if backend.enabled:
                return _error(
                    409, "ResourceConflictException", f"Account {r.account} is already subscribed to Security Hub"
                )
            return None
        if r.method == "DELETE":
            with self.state.lock:  # AWS drops the hub's settings and standards with it; moto disables the hub
                self.state.securityhub_hub.pop(key, None)
                self.state.securityhub_standards.pop(key, None)
            return None
        if not backend.enabled:
            return _error(401, "InvalidAccessException", f"Account {r.account} is not subscribed to AWS Security Hub")
        if r.method == "PATCH":
            body = r.json()
            generator = body.get("ControlFindingGenerator")
            if generator is not None and generator not in ("STANDARD_CONTROL", "SECURITY_CONTROL"):
                return _error(400, "InvalidInputException", f"Invalid ControlFindingGenerator: {generator}")
            with self.state.lock:
                settings = self.state.securityhub_hub.setdefault(key, {})
                if "AutoEnableControls" in body:
                    settings["AutoEnableControls"] = bool(body["AutoEnableControls"])
                if generator is not None:
                    settings["ControlFindingGenerator"] = generator
            return 200, {}
        try:
            hub = backend.describe_hub(hub_arn=(r.query.get("HubArn") or [None])[0])
        except ServiceException as exc:
            return _error(404 if exc.code == "ResourceNotFoundException" else 400, exc.code, exc.message)
        with self.state.lock:
            return 200, {**hub, **self.state.securityhub_hub.get(key, {})}

    def _securityhub_enable_standards(self, r: Request) -> Response:
        requests = r.json().get("StandardsSubscriptionRequests") or []
        known = {s["StandardsArn"].format(region=r.region) for s in STANDARDS}
        unknown = [q.get("StandardsArn") for q in requests if q.get("StandardsArn") not in known]
        if not requests or unknown:
            return _error(400, "InvalidInputException", f"Invalid StandardsArn: {', '.join(map(str, unknown))}")
        answered = []
        with self.state.lock:
            subscriptions = self.state.securityhub_standards.setdefault((r.account, r.region), {})
            for q in requests:
                path = q["StandardsArn"].split(":", 5)[5].split("/", 1)[1]
                arn = f"arn:{_partition(r.region)}:securityhub:{r.region}:{r.account}:subscription/{path}"
                subscriptions[arn] = {
                    "StandardsSubscriptionArn": arn,
                    "StandardsArn": q["StandardsArn"],
                    "StandardsInput": q.get("StandardsInput") or {},
                    "StandardsStatus": "READY",  # AWS passes through PENDING; the provider waits for READY
                    "StandardsControlsUpdatable": "READY_FOR_UPDATES",
                }
                answered.append(dict(subscriptions[arn]))
        return 200, {"StandardsSubscriptions": answered}

    def _securityhub_enabled_standards(self, r: Request) -> Response:
        body = r.json()
        wanted = body.get("StandardsSubscriptionArns")
        with self.state.lock:
            subscriptions = dict(self.state.securityhub_standards.get((r.account, r.region), {}))
        found = [dict(v) for k, v in sorted(subscriptions.items()) if not wanted or k in wanted]
        return 200, _page(found, "StandardsSubscriptions", body)

    def _securityhub_disable_standards(self, r: Request) -> Response:
        arns = r.json().get("StandardsSubscriptionArns") or []
        with self.state.lock:
            subscriptions = self.state.securityhub_standards.setdefault((r.account, r.region), {})
            missing = [a for a in arns if a not in subscriptions]
            if not arns or missing:
                return _error(404, "ResourceNotFoundException", f"No subscription {', '.join(missing)}")
            # AWS answers DELETING, then forgets the subscription; the sandbox forgets it at once
            gone = [dict(subscriptions.pop(a), StandardsStatus="DELETING") for a in arns]
        return 200, {"StandardsSubscriptions": gone}

    def _securityhub_organization(self, r: Request, caller: str, refusal: str) -> tuple[str, str]:
        """The (management account, region) key of the caller's organization. Refuses (with `refusal`) a caller
        outside one, and one that is not the organization's management account or, for `caller`
        "administrator", not its Security Hub administrator in this region."""
        management = _management_account(r.account)
        if management is None:
            raise _Refusal(_error(403, "AccessDeniedException", refusal))
        key = (management, r.region)
        if caller == "management" and management != r.account:
            raise _Refusal(_error(403, "AccessDeniedException", refusal))
        if caller == "administrator":
            with self.state.lock:
                admin = self.state.securityhub_admins.get(key)
            if admin is None:
                raise _Refusal(_error(404, "ResourceNotFoundException", "No Security Hub administrator is designated"))
            if admin != r.account:
                raise _Refusal(_error(403, "AccessDeniedException", refusal))
        return key

    def _securityhub_enable_admin(self, r: Request) -> Response:
        from moto.organizations.models import organizations_backends

        key = self._securityhub_organization(
            r, "management", "Only the management account designates the administrator"
        )
        admin = str(r.json().get("AdminAccountId", ""))
        members = {a.id for a in organizations_backends[key[0]]["aws"].accounts}
        if admin not in members:
            return _error(400, "InvalidInputException", f"Account {admin} is not a member of the organization")
        with self.state.lock:
            current = self.state.securityhub_admins.get(key)
            if current not in (None, admin):
                return _error(400, "InvalidInputException", f"Account {current} is the administrator already")
            self.state.securityhub_admins[key] = admin
        # AWS enables Security Hub in the account it makes administrator, in that region (no standards here)
        from moto.securityhub.models import securityhub_backends

        hub = securityhub_backends[admin][r.region]
        if not hub.enabled:
            hub.enable_security_hub(enable_default_standards=False)
        return 200, {}

    def _securityhub_admins(self, r: Request) -> Response:
        key = self._securityhub_organization(
            r, "management", "Only the organization's management account lists its administrator"
        )
        with self.state.lock:
            admin = self.state.securityhub_admins.get(key)
        return 200, {"AdminAccounts": [{"AccountId": admin, "Status": "ENABLED"}] if admin else []}

    def _securityhub_disable_admin(self, r: Request) -> Response:
        key = self._securityhub_organization(
            r, "management", "Only the organization's management account removes its administrator"
        )
        with self.state.lock:
            if self.state.securityhub_admins.get(key) != r.json().get("AdminAccountId"):
                return _error(
                    400, "InvalidInputException", "That account is not the organization's Security Hub administrator"
                )
            del self.state.securityhub_admins[key]
            self.state.securityhub_org_config.pop(key, None)
        return 200, {}

    def _securityhub_update_org_config(self, r: Request) -> Response:
        """UpdateOrganizationConfiguration, from the region's administrator: AWS sets the status itself."""
        key = self._securityhub_organization(r, "administrator", f"Account {r.account} is not the administrator")
        body = r.json()
        kind = (body.get("OrganizationConfiguration") or {}).get("ConfigurationType", "LOCAL")
        standards = body.get("AutoEnableStandards")
        if kind not in ("LOCAL", "CENTRAL") or standards not in (None, "NONE", "DEFAULT"):
            return _error(
                400, "InvalidInputException", f"Invalid ConfigurationType {kind} or AutoEnableStandards {standards}"
            )
        if kind == "CENTRAL" and (body.get("AutoEnable") or standards != "NONE"):
            return _error(400, "ValidationException", "CENTRAL needs AutoEnable false and AutoEnableStandards NONE")
        with self.state.lock:
            config = self.state.securityhub_org_config.setdefault(key, _default_org_config())
            config["AutoEnable"] = bool(body.get("AutoEnable"))
            if standards is not None:
                config["AutoEnableStandards"] = standards
            config["OrganizationConfiguration"] = {"ConfigurationType": kind, "Status": "ENABLED"}
        return 200, {}

    def _securityhub_org_config(self, r: Request) -> Response:
        key = self._securityhub_organization(
            r, "administrator", "You do not have sufficient access to perform this action."
        )
        with self.state.lock:
            return 200, dict(self.state.securityhub_org_config.get(key) or _default_org_config())

    # ---- S3 lifecycle --------------------------------------------------------------------------------

    LIFECYCLE_HEADER = "x-amz-transition-default-minimum-object-size"

    def _s3_lifecycle(self, r: Request, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Pass the call to moto; keep the header of each accepted PUT and add it to what GET and PUT answer.

        The provider compares the header it sent with the one GET answers, after every put: a missing or
        stale value would keep it polling until its timeout.
        """
        key = (r.account, r.path.strip("/").split("/")[0])
        if r.method == "PUT":
            # AWS's default for a configuration put without the header (since September 2024)
            value: str | None = environ.get("HTTP_X_AMZ_TRANSITION_DEFAULT_MINIMUM_OBJECT_SIZE") or (
                "all_storage_classes_128K"
            )
        else:
            with self.state.lock:
                value = self.state.lifecycle_min_size.get(key)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if status.startswith(("200", "204")):
                self._s3_lifecycle_accepted(r.method, key, value)
                if value is not None and r.method in ("GET", "PUT"):
                    # moto answers every GET with AWS's default; the value put is the one to answer
                    headers = [(k, v) for k, v in headers if k.lower() != self.LIFECYCLE_HEADER]
                    headers.append((self.LIFECYCLE_HEADER, value))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, start)

    def _s3_lifecycle_accepted(self, method: str, key: tuple[str, str], value: str | None) -> None:
        """Record what moto accepted: a rejected PUT leaves the configuration, and its header, as they were."""
        with self.state.lock:
            if method == "PUT" and value is not None:
                self.state.lifecycle_min_size[key] = value
            elif method == "DELETE":
                self.state.lifecycle_min_size.pop(key, None)

    # ---- SSO Admin ---------------------------------------------------------------------------------

    def _sso_create_permission_set(
        self, r: Request, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """moto keeps the tags given at creation where ListTagsForResource cannot see them; keep them here."""
        tags = {t["Key"]: t["Value"] for t in r.json().get("Tags", [])}
        captured: list[str] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.append(status)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        body = b"".join(self.app(environ, start))
        if captured and captured[0].startswith("200") and tags:
            arn = json.loads(body).get("PermissionSet", {}).get("PermissionSetArn")
            if arn:
                with self.state.lock:
                    self.state.sso_tags.setdefault(arn, {}).update(tags)
        return [body]

    def _sso_TagResource(self, r: Request) -> Response:
        body = r.json()
        with self.state.lock:
            tags = self.state.sso_tags.setdefault(body["ResourceArn"], {})
            tags.update({t["Key"]: t["Value"] for t in body.get("Tags", [])})
        return 200, {}

    def _sso_UntagResource(self, r: Request) -> Response:
        body = r.json()
        with self.state.lock:
            tags = self.state.sso_tags.setdefault(body["ResourceArn"], {})
            for key in body.get("TagKeys", []):
                tags.pop(key, None)
        return 200, {}

    def _sso_ListTagsForResource(self, r: Request) -> Response:
        body = r.json()
        with self.state.lock:
            tags = dict(self.state.sso_tags.get(body["ResourceArn"], {}))
        return 200, {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}

    def _sso_DescribePermissionSetProvisioningStatus(self, r: Request) -> Response:
        body = r.json()
        return 200, {
            "PermissionSetProvisioningStatus": {
                "AccountId": r.account,
                "CreatedDate": time.time(),
                "RequestId": body.get("ProvisionPermissionSetRequestId"),
                "Status": "SUCCEEDED",
            }
        }

    def _sso_ListAccountsForProvisionedPermissionSet(self, r: Request) -> Response:
        """The accounts the permission set is assigned in (AWS provisions it there), and those moto recorded."""
        from moto.ssoadmin.models import ssoadmin_backends

        body = r.json()
        instance, permission_set = body.get("InstanceArn", ""), body.get("PermissionSetArn", "")
        backend = ssoadmin_backends[r.account][r.region]
        accounts = {
            a.target_id
            for a in backend.account_assignments
            if a.instance_arn == instance and a.permission_set_arn == permission_set
        }
        accounts.update(backend.list_accounts_for_provisioned_permission_set(instance, permission_set))
        return 200, _page(sorted(accounts), "AccountIds", body)

    def _sso_PutPermissionsBoundaryToPermissionSet(self, r: Request) -> Response:
        body = r.json()
        with self.state.lock:
            self.state.sso_boundaries[body["PermissionSetArn"]] = body["PermissionsBoundary"]
        return 200, {}

    def _sso_GetPermissionsBoundaryForPermissionSet(self, r: Request) -> Response:
        body = r.json()
        with self.state.lock:
            boundary = self.state.sso_boundaries.get(body["PermissionSetArn"])
        if boundary is None:
            return _error(400, "ResourceNotFoundException", "The permission set has no permissions boundary")
        return 200, {"PermissionsBoundary": boundary}

    def _sso_DeletePermissionsBoundaryFromPermissionSet(self, r: Request) -> Response:
        body = r.json()
        with self.state.lock:
            self.state.sso_boundaries.pop(body["PermissionSetArn"], None)
        return 200, {}

    # ---- Identity Store: the sandbox's stand-in for SCIM provisioning ------------------------------------

    def _scim_create_group(
        self, r: Request, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Create the group with moto, then give it the ExternalIds a SCIM push from the IdP would give it."""
        from moto.identitystore.models import identitystore_backends

        external_id = str(environ.get(SCIM_EXTERNAL_ID_ENVIRON, ""))
        store_id = str(r.json().get("IdentityStoreId", ""))
        captured: list[str] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.append(status)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        body = b"".join(self.app(environ, start))
        if captured and captured[0].startswith("200"):
            group_id = json.loads(body).get("GroupId")
            store = identitystore_backends[r.account][r.region].identity_stores.get(store_id)
            if store is not None and group_id in store.groups:
                issuer = f"https://scim.{r.region}.amazonaws.com/{store_id}/scim/v2"
                store.groups[group_id] = store.groups[group_id]._replace(
                    ExternalIds=[{"Issuer": issuer, "Id": external_id}]
                )
        return [body]

    # ---- IAM Access Analyzer (REST-JSON) -------------------------------------------------------------

    def _access_analyzer(self, r: Request) -> Response:
        account, region = r.account, r.region
        if r.path == "/analyzer" and r.method == "PUT":
            body = r.json()
            name = body.get("analyzerName", "")
            key = (account, region, name)  # a name is unique per account and region
            with self.state.lock:
                if key in self.state.analyzers:
                    return _error(409, "ConflictException", f"Analyzer {name} already exists")
                arn = f"arn:{_partition(region)}:access-analyzer:{region}:{account}:analyzer/{name}"
                self.state.analyzers[key] = {
                    "arn": arn,
                    "name": name,
                    "type": body.get("type", "ACCOUNT"),
                    "status": "ACTIVE",
                    "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    **({"configuration": body["configuration"]} if body.get("configuration") else {}),
                }
                self.state.analyzer_tags[arn] = dict(body.get("tags") or {})
            return 200, {"arn": arn}
        if r.path == "/analyzer" and r.method == "GET":
            wanted = (r.query.get("type") or [None])[0]
            with self.state.lock:
                found = [
                    dict(a, tags=self.state.analyzer_tags.get(a["arn"], {}))
                    for (acc, where, _), a in sorted(self.state.analyzers.items())
                    if acc == account and where == region and (wanted is None or a["type"] == wanted)
                ]
            return 200, {"analyzers": found}
        match = re.fullmatch(r"/analyzer/([^/]+)", r.path)
        if match:
            key = (account, region, match.group(1))
            with self.state.lock:
                analyzer = self.state.analyzers.get(key)
                if analyzer is None:
                    return _error(404, "ResourceNotFoundException", f"Analyzer {key[2]} not found")
                if r.method == "DELETE":
                    del self.state.analyzers[key]
                    self.state.analyzer_tags.pop(analyzer["arn"], None)
                    return 200, {}
                return 200, {"analyzer": dict(analyzer, tags=self.state.analyzer_tags.get(analyzer["arn"], {}))}
        match = re.fullmatch(r"/tags/(.+)", r.path)
        if match:
            arn = match.group(1)
            with self.state.lock:
                tags = self.state.analyzer_tags.setdefault(arn, {})
                if r.method == "POST":
                    tags.update(r.json().get("tags") or {})
                    return 200, {}
                if r.method == "DELETE":
                    for k in r.query.get("tagKeys", []):
                        tags.pop(k, None)
                    return 200, {}
                return 200, {"tags": dict(tags)}
        if r.path.startswith("/analyzer/") and "/archive-rule" in r.path and r.method == "GET":
            return 200, {"archiveRules": []}
        return _error(400, "ValidationException", f"the sandbox does not emulate {r.method} {r.path}")

    # ---- GuardDuty organization configuration ---------------------------------------------------------

    def _guardduty_disable_admin(self, r: Request) -> Response:
        """DisableOrganizationAdminAccount: moto can enable a delegated administrator but not remove one."""
        from moto.guardduty.models import guardduty_backends

        admin = r.json().get("adminAccountId", "")
        backend = guardduty_backends[r.account][r.region]
        if admin not in backend.admin_account_ids:
            return _error(400, "BadRequestException", f"{admin} is not the GuardDuty administrator")
        backend.admin_account_ids.remove(admin)
        return 200, {}

    def _guardduty_tags(self, r: Request, arn: str) -> Response:
        """TagResource, UntagResource and ListTagsForResource on a detector, kept on moto's own detector."""
        from moto.guardduty.models import guardduty_backends

        detector = guardduty_backends[r.account][r.region].detectors.get(arn.rsplit("/", 1)[-1])
        if detector is None:
            return _error(404, "BadRequestException", f"The request is rejected because {arn} does not exist.")
        with self.state.lock:
            if r.method == "POST":
                detector.tags.update(r.json().get("tags") or {})
            elif r.method == "DELETE":
                for key in r.query.get("tagKeys", []):
                    detector.tags.pop(key, None)
            else:
                return 200, {"tags": dict(detector.tags)}
        return 200, {}

    def _guardduty_org(self, r: Request, detector_id: str) -> Response:
        key = (r.account, detector_id)
        with self.state.lock:
            if r.method == "POST":
                body = r.json()
                members = body.get("autoEnableOrganizationMembers", "NONE")
                config = {
                    # like AWS: the legacy autoEnable flag follows the members setting
                    "autoEnable": bool(body.get("autoEnable")) or members in ("NEW", "ALL"),
                    "autoEnableOrganizationMembers": members,
                    "memberAccountLimitReached": False,
                }
                if "dataSources" in body:
                    config["dataSources"] = body["dataSources"]
                if "features" in body:
                    config["features"] = body["features"]
                self.state.guardduty_org[key] = config
                return 200, {}
            config = self.state.guardduty_org.get(
                key, {"autoEnable": False, "autoEnableOrganizationMembers": "NONE", "memberAccountLimitReached": False}
            )
            return 200, dict(config)


def _is_s3_lifecycle(r: Request) -> bool:
    """An S3 call on a bucket's `?lifecycle` subresource (a key without a value, which parse_qs drops)."""
    if r.service != "s3":
        return False
    return "lifecycle" in (part.split("=")[0] for part in r.environ.get("QUERY_STRING", "").split("&"))


def _patch_lifecycle_put_atomic() -> None:
    """A rejected lifecycle PUT leaves the bucket's configuration as it was, as S3 does; moto empties it."""
    from moto.s3.models import FakeBucket

    if getattr(FakeBucket.set_lifecycle, "securecart_atomic", False):
        return
    set_lifecycle = FakeBucket.set_lifecycle

    def atomic(self: Any, rules: list[dict[str, Any]]) -> None:
        before = list(self.rules)
        try:
            set_lifecycle(self, rules)
        except Exception:
            self.rules = before
            raise

    atomic.securecart_atomic = True  # type: ignore[attr-defined]
    FakeBucket.set_lifecycle = atomic  # type: ignore[method-assign]


def patch_moto() -> None:
    """Mend the moto defects the module docstring lists."""
    _patch_ssoadmin_managed_policies()
    _patch_lifecycle_put_atomic()
    _patch_cloudtrail_delete()
    _patch_iam_policy_names()
    _patch_identitystore_describe_group()
    _patch_config_empty_exclusions()
    _patch_s3_logging_target_policy()
    _patch_account_lookup()
    _patch_config_service_linked_role_name()


def _patch_account_lookup() -> None:
    """A request's account is looked up only in the IAM backends that exist.

    moto looks for the request's access key in every partition (aws, aws-cn, aws-us-gov, ...) of every
    account, and looking creates each of those IAM backends, loading AWS's 1,500 managed policies into it:
    most of the sandbox's CPU in a small apply went there. A backend not created yet holds no access key,
    so the answer is the same.
    """
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.iam import models

    if getattr(models.get_account_id_from, "securecart_lookup", False):
        return

    def get_account_id_from(access_key: str) -> str:
        for account_id, account in list(models.iam_backends.items()):
            for backend in list(dict.values(account)):  # dict's own: moto's __getitem__ would create it
                if access_key in backend.access_keys:
                    return str(account_id)
        return DEFAULT_ACCOUNT_ID

    get_account_id_from.securecart_lookup = True  # type: ignore[attr-defined]
    models.get_account_id_from = get_account_id_from


def _patch_config_service_linked_role_name() -> None:
    """Config's service-linked role is named AWSServiceRoleForConfig, as in AWS; moto names it after the service
    principal's first word as written (AWSServiceRoleForconfig), so a recorder given the role's AWS ARN would
    name a role the account does not have."""
    from moto.iam import models

    models.SERVICE_NAME_CONVERSION.setdefault("config", "Config")


def _patch_s3_logging_target_policy() -> None:
    """PutBucketLogging reads any target bucket policy, as S3 does.

    moto reads each statement's Principal as a map, so a policy that also denies "*" (plain HTTP, say) makes
    it fail with a 500; and it wants Resource to be one string. S3 takes a statement that lets the logging
    service put objects under the target prefix, whatever else the policy says.
    """
    import fnmatch

    from moto.s3.models import FakeBucket

    if getattr(FakeBucket._log_permissions_enabled_policy, "securecart_logging", False):
        return

    def enabled(target_bucket: Any, target_prefix: str | None) -> bool:
        raw = target_bucket.policy
        key = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}/{target_prefix or ''}x"
        for statement in _statements(raw.decode() if isinstance(raw, bytes) else raw):
            if _grants(statement, "logging.s3.amazonaws.com", "s3:PutObject") and any(
                fnmatch.fnmatchcase(key, str(r)) for r in _as_list(statement.get("Resource", []))
            ):
                return True
        return False

    enabled.securecart_logging = True  # type: ignore[attr-defined]
    FakeBucket._log_permissions_enabled_policy = staticmethod(enabled)  # type: ignore[method-assign]


def _patch_identitystore_describe_group() -> None:
    """DescribeGroup answers the group's ExternalIds, as ListGroups does; moto always answers none."""
    from moto.identitystore.models import IdentityStoreBackend

    if getattr(IdentityStoreBackend.describe_group, "securecart_external_ids", False):
        return
    describe_group = IdentityStoreBackend.describe_group

    def with_external_ids(self: Any, identity_store_id: str, group_id: str) -> Any:
        described = describe_group(self, identity_store_id, group_id)  # raises for an unknown group
        return described._replace(
            ExternalIds=list(self.identity_stores[identity_store_id].groups[group_id].ExternalIds)
        )

    with_external_ids.securecart_external_ids = True  # type: ignore[attr-defined]
    IdentityStoreBackend.describe_group = with_external_ids  # type: ignore[method-assign]


def _patch_config_empty_exclusions() -> None:
    """PutConfigurationRecorder takes an empty exclusion list beside allSupported, as AWS does.

    The AWS provider sends `exclusionByResourceTypes: {}` when it updates a recorder it imported; moto refuses
    anything but a list of no types there.
    """
    from moto.config.models import ConfigBackend

    if getattr(ConfigBackend.put_configuration_recorder, "securecart_exclusions", False):
        return
    put = ConfigBackend.put_configuration_recorder

    def with_empty_exclusions(self: Any, config_recorder: dict[str, Any]) -> None:
        group = config_recorder.get("recordingGroup")
        if isinstance(group, dict) and not (group.get("exclusionByResourceTypes") or {}).get("resourceTypes"):
            group.pop("exclusionByResourceTypes", None)
        put(self, config_recorder)

    with_empty_exclusions.securecart_exclusions = True  # type: ignore[attr-defined]
    ConfigBackend.put_configuration_recorder = with_empty_exclusions  # type: ignore[method-assign]


def _patch_iam_policy_names() -> None:
    """GetAccountAuthorizationDetails names each managed policy (PolicyName, PolicyId), as AWS does.

    moto's serializer finds a policy's name under `name` only where the answer's shape is called Policy; the
    authorization details' ManagedPolicyDetail shape looks for `policy_name` and `policy_id`.
    """
    from moto.iam.models import Policy

    if not hasattr(Policy, "policy_name"):
        Policy.policy_name = property(lambda self: self.name)  # type: ignore[attr-defined]
        Policy.policy_id = property(lambda self: self.id)  # type: ignore[attr-defined]


def _patch_cloudtrail_delete() -> None:
    """DeleteTrail takes a name or an ARN, and fails on a trail that does not exist, as in AWS."""
    from moto.cloudtrail.models import CloudTrailBackend

    def delete_trail(self: Any, name: str) -> None:
        trail = self.get_trail(name)  # by name or ARN; raises TrailNotFoundException
        del self.trails[trail.trail_name]

    CloudTrailBackend.delete_trail = delete_trail  # type: ignore[method-assign]


def _patch_ssoadmin_managed_policies() -> None:
    """Accept AWS managed policies with a path when attaching them to permission sets."""
    import json as _json

    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.ssoadmin import models
    from moto.ssoadmin.exceptions import ResourceNotFoundException

    def find_managed_policy(self: Any, managed_policy_arn: str) -> Any:
        if self.aws_managed_policies is None:
            self.aws_managed_policies = _json.loads(aws_managed_policies_data)
        name = managed_policy_arn.split("/")[-1]
        policy = self.aws_managed_policies.get(name)
        if policy is not None:
            path = policy.get("Path", policy.get("path", "/"))
            if managed_policy_arn == f"arn:{self.partition}:iam::aws:policy{path}{name}":
                return models.ManagedPolicy(managed_policy_arn, name)
        raise ResourceNotFoundException(f"Policy does not exist with ARN: {managed_policy_arn}")

    models.SSOAdminBackend._find_managed_policy = find_managed_policy  # type: ignore[method-assign]

    from moto.organizations.models import FakeDelegatedAdministrator

    # AWS's Config guide registers both Config principals as delegated administrator; moto knows only one.
    for principal in CONFIG_PRINCIPALS:
        if principal not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
            FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(principal)


# ---- Refusals: what AWS checks that moto does not ------------------------------------------------------


def _query_error(status: int, payload: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """An error in the query protocol's XML (STS), which the SDKs parse for the code and message."""
    from xml.sax.saxutils import escape

    code = escape(str(payload.get("__type", "Error")))
    message = escape(str(payload.get("message", "")))
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    reason = {400: "Bad Request", 403: "Forbidden"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _default_org_config() -> dict[str, Any]:
    """Security Hub's organization configuration in a region before its administrator updates it."""
    return {
        "AutoEnable": False,
        "MemberAccountLimitReached": False,
        "AutoEnableStandards": "DEFAULT",
        "OrganizationConfiguration": {"ConfigurationType": "LOCAL", "Status": "ENABLED"},
    }


def _management_account(account: str) -> str | None:
    """The management account of the organization `account` belongs to, or None outside one."""
    from moto.organizations.models import organizations_backends

    if organizations_backends[account]["aws"].org is not None:
        return account
    owner = organizations_backends.master_accounts.get(account)
    return owner[0] if owner else None


def _refuse_missing_role(r: Request) -> Response | None:
    """AssumeRole fails for a role that does not exist; moto would hand out credentials for any ARN."""
    from moto.iam.models import iam_backends

    form = parse_qs(r.body().decode(errors="replace"))
    if form.get("Action", [""])[0] != "AssumeRole":
        return None
    role_arn = form.get("RoleArn", [""])[0]
    parts = role_arn.split(":", 5)
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return None  # moto answers a malformed ARN itself
    account, name = parts[4], parts[5].rsplit("/", 1)[-1]
    if any(role.name == name for role in iam_backends[account]["aws"].get_roles()):
        return None
    return _error(
        403,
        "AccessDenied",
        f"User: {r.account} is not authorized to perform: sts:AssumeRole on resource: {role_arn} "
        "(the role does not exist in that account)",
    )


def _statements(document: str | bytes | None) -> list[dict[str, Any]]:
    try:
        policy = json.loads(document or "{}")
    except ValueError:
        return []
    found = policy.get("Statement", []) if isinstance(policy, dict) else []
    found = [found] if isinstance(found, dict) else found
    return [s for s in found if isinstance(s, dict)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(statement: dict[str, Any], service: str, action: str) -> bool:
    """An Allow statement whose service principal and actions cover `action` for `service`."""
    import fnmatch

    if statement.get("Effect") != "Allow":
        return False
    principal = statement.get("Principal")
    services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
    if principal != "*" and service not in services:
        return False
    return any(fnmatch.fnmatchcase(action.lower(), str(a).lower()) for a in _as_list(statement.get("Action", [])))


def _condition_allows(statement: dict[str, Any], key: str, value: str) -> bool:
    """The statement's conditions on `key` (if any) let `value` through."""
    import fnmatch

    for operator, conditions in (statement.get("Condition") or {}).items():
        for name, expected in (conditions or {}).items():
            if name.lower() != key.lower():
                continue
            wanted = [str(e) for e in _as_list(expected)]
            if "Like" in operator:
                if not any(fnmatch.fnmatchcase(value, w) for w in wanted):
                    return False
            elif value not in wanted:
                return False
    return True


def _refuse_organization_trail(r: Request) -> Response | None:
    """An organization trail is the management account's: its bucket and key policies must say so."""
    from moto.kms.models import kms_backends
    from moto.s3.models import s3_backends

    body = r.json()
    if not body.get("IsOrganizationTrail") or not body.get("S3BucketName"):
        return None
    management = _management_account(r.account)
    if management is None:
        return None  # moto answers OrganizationNotInAllFeaturesMode-like errors itself
    trail_arn = f"arn:{_partition(r.region)}:cloudtrail:{r.region}:{management}:trail/{body.get('Name', '')}"
    try:
        bucket = s3_backends[r.account]["aws"].get_bucket(body["S3BucketName"])
    except Exception:  # moto raises its own missing-bucket error later
        return None
    writes = [s for s in _statements(bucket.policy) if _grants(s, CLOUDTRAIL_PRINCIPAL, "s3:PutObject")]
    if not any(_condition_allows(s, "aws:SourceArn", trail_arn) for s in writes):
        return _error(
            400,
            "InsufficientS3BucketPolicyException",
            f"Incorrect S3 bucket policy is detected for bucket: {body['S3BucketName']}: an organization trail "
            f"is owned by the management account, so aws:SourceArn must allow {trail_arn}",
        )
    key_id = str(body.get("KmsKeyId") or "")
    if not key_id:
        return None
    key_account = key_id.split(":")[4] if key_id.startswith("arn:") else r.account
    try:
        key_policy = kms_backends[key_account][r.region].get_key_policy(key_id)
    except Exception:  # an unknown key is moto's to report
        return None
    encrypts = [s for s in _statements(key_policy) if _grants(s, CLOUDTRAIL_PRINCIPAL, "kms:GenerateDataKey")]
    if not any(_condition_allows(s, "kms:EncryptionContext:aws:cloudtrail:arn", trail_arn) for s in encrypts):
        return _error(
            400,
            "InsufficientEncryptionPolicyException",
            f"Insufficient permissions to access S3 bucket {body['S3BucketName']} or KMS key {key_id}: the key "
            f"policy must let CloudTrail encrypt for the organization trail {trail_arn}",
        )
    return None


def _refuse_organization_aggregator(r: Request) -> Response | None:
    """An organization aggregator needs the management account, or a delegated admin for both Config principals."""
    from moto.organizations.models import organizations_backends

    if "OrganizationAggregationSource" not in r.json():
        return None
    management = _management_account(r.account)
    if management == r.account:
        return None
    registered: set[str] = set()
    if management is not None:
        for admin in organizations_backends[management]["aws"].admins:
            if admin.account.id == r.account:
                registered.update(admin.services)
    missing = [p for p in CONFIG_PRINCIPALS if p not in registered]
    if not missing:
        return None
    return _error(
        400,
        "OrganizationAccessDeniedException",
        f"This action can be only made by AWS Organization's management account or a delegated administrator: "
        f"{r.account} is not registered as delegated administrator for {', '.join(missing)}",
    )


def _refuse_second_detector(r: Request) -> Response | None:
    """GuardDuty keeps one detector per account and region."""
    from moto.guardduty.models import guardduty_backends

    if not guardduty_backends[r.account][r.region].detectors:
        return None
    return _error(
        400,
        "BadRequestException",
        "The request is rejected because a detector already exists for the current account.",
    )


def _refuse_account_removal(r: Request) -> Response | None:
    """A created account cannot leave until it could stand alone; a delegated administrator cannot leave."""
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[r.account]["aws"]
    if backend.org is None:
        return None
    account_id = str(r.json().get("AccountId", ""))
    account = next((a for a in backend.accounts if a.id == account_id), None)
    if account is None:
        return None
    if any(admin.account.id == account_id and admin.services for admin in backend.admins):
        return _error(
            400,
            "ConstraintViolationException",
            f"Account {account_id} is a delegated administrator; deregister it before removing it from the "
            "organization",
        )
    if account.joined_method == "CREATED":
        status, payload = _error(
            400,
            "ConstraintViolationException",
            f"You cannot remove account {account_id} from the organization: it was created by Organizations and "
            "lacks the information required to operate as a standalone account (billing, support plan, phone)",
        )
        return status, {**(payload or {}), "Reason": "ACCOUNT_CANNOT_LEAVE_WITHOUT_PHONE_VERIFICATION"}
    return None
