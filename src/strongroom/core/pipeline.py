"""The request pipeline: one visible tuple of small stages, read top to bottom.

Each stage takes the Flow so far and returns a new one; requests and flows are frozen values.
Layer: core. Talks to the router, the token store and the policy store through what Services holds.

Invariant: no backend sees a request that was not authenticated and authorized, except on the paths it
declares unauthenticated; a token's last use is revoked once its request is done.
Invariant: the request the authorize stage checks is the request the backend acts on (names the backend
folds are folded before the check); a path no mount handles is refused only after the check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from strongroom.audit import AuditAuth, AuditInput
from strongroom.barrier import BarrierView
from strongroom.core.leasing import lease_secret, track_token
from strongroom.core.login import issue_login_token
from strongroom.core.services import Services
from strongroom.core.wrapping import TOKEN_PATHS
from strongroom.errors import (
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RequestError,
)
from strongroom.events import SOURCES, PluginInfo
from strongroom.logical import Caller, Operation, Request, Response, refuse_directory_write
from strongroom.logical.backend import special_path_matches
from strongroom.router import Route, allowed_headers, passthrough_headers
from strongroom.telemetry import client_id
from strongroom.tokens import TokenEntry
from strongroom.util.clock import rfc3339
from strongroom.util.frozen import replace


@dataclass(frozen=True, slots=True)
class Flow:
    """A request on its way through the pipeline."""

    request: Request
    route: Route | None = None
    token: TokenEntry | None = None
    routed: Request | None = None
    response: Response | None = None
    # The token this request's login just created (its lease is registered from it, not re-read).
    issued: TokenEntry | None = None
    # What the request entry recorded: the response entry shares its request and auth.
    audit: AuditInput | None = None
    # True once the request entry is in the audit log (so a later refusal logs only the response entry).
    audited: bool = False
    # The rate limit headers the answer carries (sys/quotas/config enable_rate_limit_response_headers).
    rate_headers: Mapping[str, str] | None = None


Stage = Callable[[Flow], Awaitable[Flow]]

# Vault's words when a valid token's policies refuse a request (a bad token gets a bare "permission denied").
ACL_DENIED = "1 error occurred:\n\t* permission denied\n\n"
_NO_AUTH = AuditAuth()
# Token entries whose Caller and audit description are kept (see Pipeline._describe).
DESCRIBED_TOKENS = 4096
# The operations Vault's existence check sees (a PATCH is not one).
_WRITES = frozenset({Operation.CREATE, Operation.UPDATE})


def _matches(patterns: tuple[str, ...], path: str) -> bool:
    """`special_path_matches`, remembered: several stages ask it of every request, about the same paths."""
    key = (patterns, path)
    matched = _MATCHED.get(key)
    if matched is None:
        matched = special_path_matches(patterns, path)
        if len(_MATCHED) >= MATCHES_KEPT:
            del _MATCHED[next(iter(_MATCHED))]  # the oldest first
        _MATCHED[key] = matched
    return matched


# Special-path answers remembered by (patterns, path): paths are the client's, so the memo is bounded.
MATCHES_KEPT = 4096
_MATCHED: dict[tuple[tuple[str, ...], str], bool] = {}


class Pipeline:
    """The stages every request passes, in order."""

    def __init__(self, services: Services) -> None:
        self._services = services
        # Per token: the entry, the Caller its requests carry and what the audit log shows of it.
        self._described: dict[str, tuple[TokenEntry, Caller, AuditAuth]] = {}
        self.stages: tuple[Stage, ...] = (
            self.refuse_directory_writes,
            self.check_wrapping_token,
            self.resolve_route,
            self.apply_quotas,
            self.canonicalize_path,
            self.address_mount_root_writes,
            self.authenticate,
            self.identify_client,
            self.bind,
            self.check_existence,
            self.authorize,
            self.require_route,
            self.audit_request,
            self.dispatch,
            self.filter_response_headers,
            self.register_lease,
            self.issue_token,
            self.register_token_lease,
            self.publish_event,
            self.wrap_response,
            self.finish_token_use,
            self.audit_response,
            self.add_rate_limit_headers,
        )

    async def run(self, request: Request) -> Response | None:
        """Pass `request` through every stage; the last one leaves the response."""
        flow = Flow(request=request)
        try:
            for stage in self.stages:
                flow = await stage(flow)
        except RequestError as refusal:
            if flow.rate_headers is not None and not refusal.headers:
                refusal.headers = flow.rate_headers
            if self._is_login(flow) and isinstance(refusal, InvalidRequestError | PermissionDeniedError):
                self._services.quotas.login_failed(flow.request)
            await self.audit_refusal(flow, refusal)
            raise
        return flow.response

    async def refuse_directory_writes(self, flow: Flow) -> Flow:
        """A write to "foo/" is ambiguous (a key named "foo/", or a forgotten key name?): Vault refuses it."""
        refuse_directory_write(flow.request)
        return flow

    async def check_wrapping_token(self, flow: Flow) -> Flow:
        """sys/wrapping lookup, unwrap and rewrap must name a live wrapping token: Vault checks this before
        anything else, so a bad one is refused as invalid rather than as unauthenticated."""
        if flow.request.path in TOKEN_PATHS:
            await self._services.wrapping.validate(flow.request)
        return flow

    async def resolve_route(self, flow: Flow) -> Flow:
        """Find the mount by longest prefix (a missing route is refused after authorization)."""
        return replace(flow, route=self._services.mounts.router.route(flow.request.path))

    async def apply_quotas(self, flow: Flow) -> Flow:
        """Refuse a request over its rate limit quota, or a login from a client address whose failed logins
        are over the guard's limit (429), before any token is looked up, as Vault checks quotas first."""
        quotas = self._services.quotas
        login = quotas.guarding and self._is_login(flow)
        if not login and not quotas.active:
            return flow
        headers = await quotas.admit(flow.request, flow.route, login)
        return flow if headers is None else replace(flow, rate_headers=headers)

    def _is_login(self, flow: Flow) -> bool:
        """Whether the request is a login: an auth method's unauthenticated path."""
        route = flow.route
        return (
            route is not None
            and route.entry.table == "auth"
            and _matches(route.backend.special_paths.unauthenticated, route.relative_path)
        )

    async def add_rate_limit_headers(self, flow: Flow) -> Flow:
        """Put the rate limit headers on the answer (an empty answer too: it becomes a header-only one)."""
        if flow.rate_headers is None:
            return flow
        response = flow.response or Response()
        return replace(flow, response=response.evolve(headers={**response.headers, **flow.rate_headers}))

    async def canonicalize_path(self, flow: Flow) -> Flow:
        """Fold the names the backend declares it folds (a userpass username, an AppRole role name, a
        policy name), once, so that every later stage, the ACL check included, sees the request the
        backend acts on: "users/ADMIN" is checked as "users/admin". Unauthenticated paths (logins) meet
        no ACL and keep the path as written, as Vault keeps it in the token's path."""
        route = flow.route
        if route is None:
            return flow
        relative = route.relative_path
        if _matches(route.backend.special_paths.unauthenticated, relative):
            return flow
        canonical = route.backend.canonical_path(relative)
        if canonical == relative:
            return flow
        mount = flow.request.path[: len(flow.request.path) - len(relative)]
        return replace(
            flow,
            request=flow.request.evolve(path=mount + canonical),
            route=replace(route, relative_path=canonical),
        )

    async def address_mount_root_writes(self, flow: Flow) -> Flow:
        """A write to a mount's own path ("kv" for the mount "kv/") is checked as "kv/", the mount's path,
        as Vault checks it (its router adds the slash for the existence check, and the ACL sees it)."""
        route, request = flow.route, flow.request
        if (
            route is None
            or route.relative_path
            or request.path.endswith("/")
            or request.operation not in _WRITES
        ):
            return flow
        return replace(flow, request=request.evolve(path=request.path + "/"))

    async def authenticate(self, flow: Flow) -> Flow:
        """Look the token up (taking one use). Paths a backend declares unauthenticated need none."""
        route, request = flow.route, flow.request
        if route is not None and _matches(route.backend.special_paths.unauthenticated, route.relative_path):
            token = await self._services.tokens.lookup(request.client_token) if request.client_token else None
            return replace(flow, token=token)
        token = await self._services.tokens.use(request.client_token) if request.client_token else None
        if token is None or not token.usable_from(request.connection.remote_address):
            raise PermissionDeniedError()
        # A disabled entity's tokens serve nothing until it is enabled again.
        if self._services.identity.grant(token.entity_id).disabled:
            raise PermissionDeniedError()
        return replace(flow, token=token)

    async def identify_client(self, flow: Flow) -> Flow:
        """Name the caller in the in-flight request table (sys/in-flight-req), by Vault's client ID."""
        if flow.token is not None:
            self._services.telemetry.in_flight.identify(
                flow.request.id, client_id(flow.token.entity_id, flow.token.policies)
            )
        return flow

    async def require_route(self, flow: Flow) -> Flow:
        """Refuse a path no mount handles: after authorization, as Vault, so a token without rights on a
        path cannot tell a mount that exists from one that does not."""
        if flow.route is None:
            raise NotFoundError(f'no handler for route "{flow.request.path}". route entry not found.')
        return flow

    async def bind(self, flow: Flow) -> Flow:
        """The request as the backend sees it: mount-relative path, its storage view, the caller."""
        route = flow.route
        if route is None:
            return flow
        storage = self._services.mounts.storage_for(route.entry)
        caller = self._describe(flow.token)[1] if flow.token else None
        if caller is not None and caller.entity_id:
            # The entity as it is now (not kept with the token's Caller: an entity changes on its own).
            caller = replace(caller, identity=self._services.identity.grant(caller.entity_id).template)
        if route.backend.per_token_storage:
            if caller is None:
                raise PermissionDeniedError()
            if caller.token_type != "service":
                raise InvalidRequestError(
                    f"{route.entry.type} operations are only supported by 'service' type tokens"
                )
            storage = BarrierView(storage, f"{caller.token_hash}/")
        routed = flow.request.evolve(
            path=route.relative_path,
            storage=storage,
            caller=caller,
            mount_point=route.entry.api_path,
            mount_type=route.entry.type,
            mount_accessor=route.entry.accessor,
            headers=passthrough_headers(flow.request.headers, route.entry.config.passthrough_request_headers),
        )
        return replace(flow, routed=routed)

    async def check_existence(self, flow: Flow) -> Flow:
        """A write to something that does not exist yet is a CREATE (which needs the create capability).
        A write to a path no mount handles stays an UPDATE, as in Vault."""
        routed, route = flow.routed, flow.route
        if routed is None or route is None or routed.operation is not Operation.UPDATE:
            return flow
        exists = await route.backend.exists(routed)
        if exists is False:
            return replace(
                flow,
                request=flow.request.evolve(operation=Operation.CREATE),
                routed=routed.evolve(operation=Operation.CREATE),
            )
        return flow

    async def authorize(self, flow: Flow) -> Flow:
        """The ACL of the token's policies must allow the operation (and sudo on root paths)."""
        route, token, request = flow.route, flow.token, flow.request
        special = route.backend.special_paths if route is not None else None
        relative = route.relative_path if route is not None else ""
        # An unauthenticated path's handler decides what the caller may see; the token only informs it.
        if token is None or (special is not None and _matches(special.unauthenticated, relative)):
            return flow
        # The token's own policies and its entity's, as they are now (an entity change acts at once).
        grant = self._services.identity.grant(token.entity_id)
        acl = await self._services.policies.acl((*token.policies, *grant.policies), identity=grant.template)
        verdict = acl.authorize(request.operation, request.path, request.data, wrap_ttl=request.wrap_ttl)
        if not verdict.allowed:
            raise PermissionDeniedError(ACL_DENIED)
        if special is not None and _matches(special.root, relative) and not verdict.sudo:
            raise PermissionDeniedError(ACL_DENIED)
        return flow

    async def audit_request(self, flow: Flow) -> Flow:
        """Record the request before any backend sees it. Fails closed: when audit devices are enabled and
        none records it, AuditFailedError ends the request here (500, as Vault) and nothing is dispatched."""
        audit = self._audit_input(flow)
        await self._services.audit.log_request(audit)
        return replace(flow, audited=True, audit=audit)

    async def audit_response(self, flow: Flow) -> Flow:
        """Record what was answered (a failure refuses the answer: the client gets a 500 instead). No stage
        after audit_request changes the request or the token, so the request entry's input is reused."""
        audit = self._audit_input(flow) if flow.audit is None else replace(flow.audit, response=flow.response)
        await self._services.audit.log_response(audit)
        return flow

    async def audit_refusal(self, flow: Flow, refusal: RequestError) -> None:
        """A refused request is audited too, with its error: the request entry (unless already written)
        and the response entry. A rate limit refusal only when the quota config asks for it."""
        if isinstance(refusal, RateLimitedError) and not refusal.audit:
            return
        error = "; ".join(refusal.errors)
        audit = self._audit_input(flow, error)
        if not flow.audited:
            await self._services.audit.log_request(audit)
        await self._services.audit.log_response(audit)

    def _audit_input(self, flow: Flow, error: str = "") -> AuditInput:
        request, route = flow.request, flow.route
        if route is None:
            return AuditInput(request, self._audit_auth(flow.token), response=flow.response, error=error)
        entry = route.entry
        return AuditInput(
            request=request,
            auth=self._audit_auth(flow.token),
            mount_point=entry.api_path,
            mount_type=entry.type,
            mount_accessor=entry.accessor,
            response=flow.response,
            error=error,
            non_hmac_request_keys=entry.config.audit_non_hmac_request_keys,
            non_hmac_response_keys=entry.config.audit_non_hmac_response_keys,
        )

    def _audit_auth(self, token: TokenEntry | None) -> AuditAuth:
        if token is None:
            return _NO_AUTH
        described = self._describe(token)[2]
        # The entity's policies as they are now (cached by the identity store until an entity or group
        # changes), listed after the token's as Vault lists them.
        identity = self._services.identity.grant(token.entity_id).policies if token.entity_id else ()
        if not identity:
            return described
        return replace(described, policies=(*described.policies, *identity), identity_policies=identity)

    def _describe(self, token: TokenEntry) -> tuple[TokenEntry, Caller, AuditAuth]:
        """`token`'s Caller and audit description, built once per entry: the token store hands out the
        same frozen entry while the token's stored bytes are unchanged, so identity recognises it, and a
        changed token (a use taken, a renewal) is a new entry, described afresh."""
        known = self._described.get(token.id_hash)
        if known is not None and known[0] is token:
            return known
        described = (token, token.caller(), audit_auth(token))
        if len(self._described) >= DESCRIBED_TOKENS:
            del self._described[next(iter(self._described))]  # the oldest first
        self._described[token.id_hash] = described
        return described

    async def dispatch(self, flow: Flow) -> Flow:
        """Hand the request to its backend."""
        assert flow.route is not None
        assert flow.routed is not None
        response = await flow.route.backend.handle(flow.routed)
        return replace(flow, response=response)

    async def filter_response_headers(self, flow: Flow) -> Flow:
        """A backend's response headers reach the client only when its mount's allowed_response_headers
        names them (Vault's router drops the rest), so a backend cannot set arbitrary HTTP headers."""
        response, route = flow.response, flow.route
        if response is None or not response.headers or route is None:
            return flow
        allowed = route.entry.config.allowed_response_headers
        return replace(flow, response=response.evolve(headers=allowed_headers(response.headers, allowed)))

    async def issue_token(self, flow: Flow) -> Flow:
        """A login answered with an Auth: create the token from it.

        Logins are an auth method's unauthenticated paths (as in Vault); an Auth anywhere else describes a
        token that already exists (token create, renew) and is passed on as it is.
        """
        response, route, routed = flow.response, flow.route, flow.routed
        if response is None or response.auth is None or response.auth.client_token:
            return flow
        assert route is not None
        assert routed is not None
        login = route.entry.table == "auth" and _matches(
            route.backend.special_paths.unauthenticated, route.relative_path
        )
        if not login:
            return flow
        issued = await issue_login_token(self._services, route.entry, routed, response.auth)
        return replace(
            flow,
            response=response.evolve(auth=issued.auth, warnings=(*response.warnings, *issued.warnings)),
            issued=issued.token,
        )

    async def register_lease(self, flow: Flow) -> Flow:
        """A response carrying a secret gets a lease (TTL clamped by the mount and the system), shown in the
        response as lease_id, lease_duration and renewable."""
        response, route = flow.response, flow.route
        if response is None or response.secret is None:
            return flow
        assert route is not None
        services, path = self._services, flow.request.path
        leased = await lease_secret(
            services.leases, services.mounts, response, entry=route.entry, path=path, token=flow.token
        )
        return replace(flow, response=leased)

    async def register_token_lease(self, flow: Flow) -> Flow:
        """A response naming a service token (created, renewed) brings that token's lease in step, so the
        lease manager expires it, and its children, on time. A login's token was stored with its lease."""
        auth = flow.response.auth if flow.response is not None else None
        if auth is None or not auth.accessor:
            return flow
        if flow.issued is None or flow.issued.accessor != auth.accessor:
            await track_token(self._services.leases, self._services.tokens, auth.accessor)
        return flow

    async def publish_event(self, flow: Flow) -> Flow:
        """Tell event subscribers what a successful request changed (paths and versions, never values).
        Runs before wrapping, which hides the response data the event's version number comes from. With no
        subscriber an event would reach nobody, so none is described."""
        if not self._services.events.subscriber_count:
            return flow
        route, routed, response = flow.route, flow.routed, flow.response
        describe = SOURCES.get(route.entry.type) if route is not None else None
        if describe is None or route is None or routed is None:
            return flow
        if response is not None and response.status is not None and response.status >= 400:
            return flow
        entry = route.entry
        described = describe(
            entry.api_path,
            entry.options,
            routed.path,
            routed.operation,
            response.data if response is not None else None,
        )
        if described is not None:
            info = PluginInfo(
                mount_class="secret" if entry.table == "mounts" else "auth",
                mount_accessor=entry.accessor,
                mount_path=entry.api_path,
                plugin=entry.type,
            )
            self._services.events.emit(described.event_type, described.metadata, info, described.read_path)
        return flow

    async def wrap_response(self, flow: Flow) -> Flow:
        """With X-Vault-Wrap-TTL, the response (a login's with its token issued) goes into the cubbyhole of a
        new single-use wrapping token, and the client gets only that token's wrap_info."""
        wrapped = await self._services.wrapping.wrap_response(flow.request, flow.response)
        return flow if wrapped is flow.response else replace(flow, response=wrapped)

    async def finish_token_use(self, flow: Flow) -> Flow:
        """Revoke a limited-use token whose last use this request was."""
        if flow.token is not None and flow.token.revocation_pending:
            await self._services.tokens.revoke(flow.token.id_hash)
        return flow


def audit_auth(token: TokenEntry | None) -> AuditAuth:
    """What the audit log shows of the request's token (its ID is hashed from the request itself)."""
    if token is None:
        return _NO_AUTH
    return AuditAuth(
        accessor=token.accessor,
        display_name=token.display_name,
        policies=token.policies,
        token_policies=token.policies,
        metadata=dict(token.meta or {}),
        entity_id=token.entity_id,
        token_type=str(token.type),
        token_ttl=token.creation_ttl,
        token_issue_time=rfc3339(int(token.creation_time)),
    )
