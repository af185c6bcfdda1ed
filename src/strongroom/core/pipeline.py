"""The request pipeline: one visible tuple of small stages, read top to bottom.

Each stage takes the Flow so far and returns a new one; requests and flows are frozen values.
Layer: core. Talks to the router, the token store and the policy store through what Services holds.

Invariant: no backend sees a request that was not authenticated and authorized, except on the paths it
declares unauthenticated; a token's last use is revoked once its request is done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from strongroom.barrier import BarrierView
from strongroom.core.login import issue_login_token
from strongroom.core.services import Services
from strongroom.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from strongroom.logical import Operation, Request, Response
from strongroom.router import Route
from strongroom.tokens import TokenEntry


@dataclass(frozen=True, slots=True)
class Flow:
    """A request on its way through the pipeline."""

    request: Request
    route: Route | None = None
    token: TokenEntry | None = None
    routed: Request | None = None
    response: Response | None = None


Stage = Callable[[Flow], Awaitable[Flow]]

# Vault's words when a valid token's policies refuse a request (a bad token gets a bare "permission denied").
ACL_DENIED = "1 error occurred:\n\t* permission denied\n\n"


_WRITES = frozenset({Operation.CREATE, Operation.UPDATE, Operation.PATCH})


def _matches(patterns: tuple[str, ...], path: str) -> bool:
    return any(path.startswith(p[:-1]) if p.endswith("*") else path == p for p in patterns)


class Pipeline:
    """The stages every request passes, in order."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self.stages: tuple[Stage, ...] = (
            self.refuse_wrapping,
            self.refuse_directory_writes,
            self.resolve_route,
            self.authenticate,
            self.require_route,
            self.bind,
            self.check_existence,
            self.authorize,
            self.dispatch,
            self.issue_token,
            self.finish_token_use,
        )

    async def run(self, request: Request) -> Response | None:
        """Pass `request` through every stage; the last one leaves the response."""
        flow = Flow(request=request)
        for stage in self.stages:
            flow = await stage(flow)
        return flow.response

    async def refuse_wrapping(self, flow: Flow) -> Flow:
        """Response wrapping is not served yet: answering unwrapped would hand out a secret the client
        meant to pass on wrapped, so the request is refused instead."""
        if flow.request.wrap_ttl:
            raise InvalidRequestError(
                "response wrapping (X-Vault-Wrap-TTL) is not supported by this server yet"
            )
        return flow

    async def refuse_directory_writes(self, flow: Flow) -> Flow:
        """A write to "foo/" is ambiguous (a key named "foo/", or a forgotten key name?): Vault refuses it."""
        if flow.request.path.endswith("/") and flow.request.operation in _WRITES:
            raise InvalidRequestError("cannot write to a path ending in '/'")
        return flow

    async def resolve_route(self, flow: Flow) -> Flow:
        """Find the mount by longest prefix (a missing route is refused after authentication)."""
        return replace(flow, route=self._services.mounts.router.route(flow.request.path))

    async def authenticate(self, flow: Flow) -> Flow:
        """Look the token up (taking one use). Paths a backend declares unauthenticated need none."""
        route, request = flow.route, flow.request
        if route is not None and _matches(route.backend.special_paths.unauthenticated, route.relative_path):
            token = await self._services.tokens.lookup(request.client_token) if request.client_token else None
            return replace(flow, token=token)
        token = await self._services.tokens.use(request.client_token) if request.client_token else None
        if token is None or not token.usable_from(request.connection.remote_address):
            raise PermissionDeniedError()
        return replace(flow, token=token)

    async def require_route(self, flow: Flow) -> Flow:
        """Refuse a path no mount handles (after authentication, so routes do not leak to strangers)."""
        if flow.route is None:
            raise NotFoundError(f'no handler for route "{flow.request.path}". route entry not found.')
        return flow

    async def bind(self, flow: Flow) -> Flow:
        """The request as the backend sees it: mount-relative path, its storage view, the caller."""
        route = flow.route
        assert route is not None
        storage = self._services.mounts.storage_for(route.entry)
        caller = flow.token.caller() if flow.token else None
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
        )
        return replace(flow, routed=routed)

    async def check_existence(self, flow: Flow) -> Flow:
        """A write to something that does not exist yet is a CREATE (which needs the create capability)."""
        routed, route = flow.routed, flow.route
        assert routed is not None
        assert route is not None
        if routed.operation is not Operation.UPDATE:
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
        assert route is not None
        # An unauthenticated path's handler decides what the caller may see; the token only informs it.
        if token is None or _matches(route.backend.special_paths.unauthenticated, route.relative_path):
            return flow
        acl = await self._services.policies.acl(token.policies)
        verdict = acl.authorize(request.operation, request.path, request.data, wrap_ttl=request.wrap_ttl)
        if not verdict.allowed:
            raise PermissionDeniedError(ACL_DENIED)
        if _matches(route.backend.special_paths.root, route.relative_path) and not verdict.sudo:
            raise PermissionDeniedError(ACL_DENIED)
        return flow

    async def dispatch(self, flow: Flow) -> Flow:
        """Hand the request to its backend."""
        assert flow.route is not None
        assert flow.routed is not None
        response = await flow.route.backend.handle(flow.routed)
        return replace(flow, response=response)

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
            flow, response=response.evolve(auth=issued.auth, warnings=(*response.warnings, *issued.warnings))
        )

    async def finish_token_use(self, flow: Flow) -> Flow:
        """Revoke a limited-use token whose last use this request was."""
        if flow.token is not None and flow.token.revocation_pending:
            await self._services.tokens.revoke(flow.token.id_hash)
        return flow
