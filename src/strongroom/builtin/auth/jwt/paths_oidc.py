"""The OIDC browser login: `oidc/auth_url` starts it (a state, a nonce and a PKCE verifier kept in memory,
the provider's authorization URL returned) and `oidc/callback` ends it (GET with the code; POST for the
form_post response mode), exchanging the code at the provider's token endpoint, verifying the ID token
against the provider's published keys, adding userinfo's claims, and answering with the same Auth a JWT
login gets (paths_login.login_auth), so the entity and external groups come from the core's one mechanism.

Layer: builtin. Imports framework, logical and the jwt package's modules.
Order of checks and error texts follow OpenBao's path_oidc.go.

Invariant: a state completes at most one login, is tied to the client_nonce given with auth_url, and expires
ten minutes after auth_url; an unknown, used or expired state is refused before anything else is done.
Invariant: auth_url answers an empty auth_url (not an error) for a redirect_uri outside the role's
allowed_redirect_uris, so the unauthenticated endpoint does not tell which URIs are allowed.
Invariant: nothing a client sends is echoed into an HTML page unescaped (OpenBao's GHSA-cpj3-3r2f-xj59); the
provider's `error` parameter is named only when it is one of OAuth's codes.
Invariant: in callback_mode "direct" the browser's arrival completes the login only after the user confirms
it on a page naming the address that started it (OpenBao's GHSA-7q7g-x6vg-xpc3), unless the role sets
oidc_disable_confirmation; the result goes only to a poll with the state and the auth_url's client_nonce.
Intended difference: callback_mode "device" (the provider's device flow) is refused at auth_url.
"""

from __future__ import annotations

import html
import json
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from strongroom.builtin.auth.jwt import oidc_client
from strongroom.builtin.auth.jwt.claims import ClaimError
from strongroom.builtin.auth.jwt.keysets import FetchError
from strongroom.builtin.auth.jwt.models import JWTConfig, JWTRole, load_config, load_role
from strongroom.builtin.auth.jwt.oidc_client import FlowError, FlowRequest, FlowRequests
from strongroom.builtin.auth.jwt.paths_login import login_auth
from strongroom.builtin.auth.jwt.source import KeySource
from strongroom.errors import InvalidRequestError, PermissionDeniedError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.tokenutil import address_allowed
from strongroom.logical import Auth, Operation, Request, Response

logger = logging.getLogger(__name__)

LOGIN_FAILED = "OpenBao login failed."
TOKEN_VERIFICATION = "Token verification failed."
NOT_OIDC_FLOW = "OIDC login is not configured for this mount"
NO_CODE = "no_code"
"""What the form_post page sends as the code: the code (or ID token) is the one the POST stored."""
OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
    }
)
LOOPBACK = ("localhost", "127.0.0.1", "::1")

CALLBACK_FIELDS = {
    name: Field(FieldType.STRING, description)
    for name, description in (
        ("state", "The state the authorization request carried."),
        ("code", "The authorization code."),
        ("id_token", "The ID token (form_post response mode)."),
        ("client_nonce", "The client_nonce given to auth_url."),
        ("error", "The OAuth error code the provider answered."),
        ("error_description", "The provider's description of the error."),
        ("error_uri", "The provider's page about the error."),
        ("confirmation", "Confirmation of a direct-mode login."),
    )
}
AUTH_URL_FIELDS = {
    "role": Field(FieldType.LOWERCASE_STRING, "The role to issue an OIDC authorization URL against."),
    "redirect_uri": Field(FieldType.STRING, "The OAuth redirect_uri to use in the authorization URL."),
    "client_nonce": Field(
        FieldType.STRING, "Client-provided nonce that must match during callback, if present."
    ),
}


def valid_redirect(uri: str, allowed: tuple[str, ...]) -> bool:
    """Vault's validRedirect: an exact match, except that a loopback URI may use any port (RFC 8252 7.3)."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
    except ValueError:
        return False
    if host not in LOOPBACK:
        return uri in allowed

    def portless(value: str) -> str | None:
        try:
            split = urlsplit(value)
            name = split.hostname or ""
        except ValueError:
            return None
        netloc = f"[{name}]" if ":" in name else name
        if split.username is not None:
            netloc = split.netloc.rsplit("@", 1)[0] + "@" + netloc
        return urlunsplit(split._replace(netloc=netloc))

    wanted = portless(uri)
    return any(wanted is not None and portless(a) == wanted for a in allowed)


def _without_namespace(uri: str) -> str:
    """The redirect URI without a `namespace` query parameter (Vault moves it into the state)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(name == "namespace" for name, _ in query):
        return uri
    kept = [(name, value) for name, value in query if name != "namespace"]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _js_string(value: str) -> str:
    """A JavaScript string literal safe inside a <script> element."""
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page(title: str, body: str, *, status: int = 200) -> Response:
    document = (
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="UTF-8"><title>'
        f"{html.escape(title)}</title></head>\n<body>\n{body}\n</body>\n</html>\n"
    )
    return Response(raw_body=document.encode(), content_type="text/html", status=status)


def error_page(summary: str, detail: str) -> Response:
    """OpenBao's errorHTML: a 400 page naming the failure, every part escaped."""
    body = f"<h1>{html.escape(summary)}</h1>\n<p>{html.escape(detail)}</p>"
    return _page("OpenBao Authentication Failed", body, status=400)


def form_post_page(mount: str, state: str) -> Response:
    """OpenBao's formpostHTML: hands the state to the window that opened the login (the UI)."""
    script = (
        "window.opener.postMessage({ source: 'oidc-callback', "
        f"path: {_js_string(mount)}, code: {_js_string(NO_CODE)}, state: {_js_string(state)}}}, "
        "window.origin);"
    )
    body = f"<p>Completing the sign-in process...</p>\n<script>\n{script}\n</script>"
    return _page("Complete sign-in process", body)


def parse_mount(redirect_uri: str) -> str:
    """The auth mount named by a `.../v1/auth/<mount>/...` redirect URI, else ""."""
    parts = redirect_uri.split("/")
    for index in range(len(parts) - 2):
        if parts[index] == "v1" and parts[index + 1] == "auth":
            return parts[index + 2]
    return ""


class LoginFailed(InvalidRequestError):
    """OpenBao's loginFailedResponse: a JSON error, or in direct mode the browser's error page."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{LOGIN_FAILED} {detail}")
        self.detail = detail


def confirmation_page(requester: str, role: str) -> Response:
    """OpenBao's confirmHTML: the user confirms a direct-mode login they started, or closes the page."""
    body = (
        "<h1>Sign in confirmation required</h1>\n"
        "<p>A sign-in request was initiated from the source IP address shown below. "
        "<strong>Only confirm if you initiated this request yourself.</strong> If you didn't, close this "
        "page immediately to prevent unauthorized access to your account.</p>\n"
        f"<p><b>Source IP:</b> {html.escape(requester or 'unknown')}</p>\n"
        f"<p><b>Role:</b> {html.escape(role or 'unknown')}</p>\n"
        '<button id="confirm-button">Confirm sign-in</button>\n'
        "<script>\n"
        'document.getElementById("confirm-button").addEventListener("click", () => {\n'
        "  let url = new URL(window.location.href);\n"
        '  url.searchParams.set("confirmation", 1);\n'
        "  window.location.href = url;\n"
        "})\n"
        "</script>"
    )
    return _page("Sign in confirmation required", body)


def success_page() -> Response:
    """OpenBao's successHTML: shown in the browser when a direct-mode login completed."""
    body = "<h1>Signed in via your OIDC provider</h1>\n<p>You can now close this window.</p>"
    return _page("OpenBao Authentication Succeeded", body)


class OIDCLogin:
    """The two endpoints and the logins waiting between them."""

    def __init__(self, source: KeySource) -> None:
        self.source = source
        self.pending = FlowRequests()

    async def _config(self, request: Request) -> JWTConfig | None:
        assert request.storage is not None
        return await load_config(request.storage)

    async def auth_url(self, request: Request, fields: FieldData) -> Response | None:
        assert request.storage is not None
        empty = Response(data={"auth_url": ""})
        config = await self._config(request)
        if config is None:
            raise InvalidRequestError("could not load configuration")
        if not config.oidc_flow:
            raise InvalidRequestError(NOT_OIDC_FLOW)
        role_name: str = fields.get("role") or config.default_role
        if not role_name:
            raise InvalidRequestError("missing role")
        role = await load_role(request.storage, role_name)
        if role is None:
            raise InvalidRequestError(f'role "{role_name}" could not be found')
        client_nonce: str = fields.get("client_nonce")
        if not client_nonce and role.callback_mode in ("direct", "device"):
            raise InvalidRequestError("missing client_nonce")
        if role.callback_mode == "device":
            raise InvalidRequestError('callback_mode "device" is not supported by this server')
        redirect_uri: str = fields.get("redirect_uri")
        if not redirect_uri:
            raise InvalidRequestError("missing redirect_uri")
        if config.namespace_in_state:
            redirect_uri = _without_namespace(redirect_uri)
        if not valid_redirect(redirect_uri, role.allowed_redirect_uris or ()):
            logger.warning("oidc auth_url: unauthorized redirect_uri for role %r", role_name)
            return empty
        if config.oidc_response_mode == "form_post":
            redirect_uri = redirect_uri.replace("ui/vault", "v1", 1)
        try:
            discovery, _ = await self.source.provider(config)
            flow = self.pending.start(
                role=role_name,
                redirect_uri=redirect_uri,
                client_nonce=client_nonce,
                audiences=role.bound_audiences or (),
                max_age=role.max_age,
                implicit="id_token" in config.oidc_response_types,
                now=self.source.clock.now(),
                requester=request.connection.remote_address,
            )
            url = oidc_client.authorization_url(
                discovery, config.oidc_client_id, flow, role.oidc_scopes or ()
            )
        except (FetchError, FlowError, ValueError) as exc:
            logger.warning("oidc auth_url: %s", exc)
            return empty
        if role.callback_mode == "direct":
            poll_interval = str(role.poll_interval or 5)
            return Response(data={"auth_url": url, "state": flow.state, "poll_interval": poll_interval})
        return Response(data={"auth_url": url})

    async def callback_post(self, request: Request, fields: FieldData) -> Response | None:
        """form_post: keep the code or ID token with the pending login, then hand back to the page."""
        config = await self._config(request)
        if config is None:
            raise LoginFailed("Could not load configuration.")
        if config.oidc_response_mode != "form_post":
            return Response(status=405, raw_body=b"")
        flow = self.pending.peek(fields.get("state"), self.source.clock.now())
        if flow is None:
            return error_page(LOGIN_FAILED, "Expired or missing OAuth state.")
        self.pending.keep(flow, code=fields.get("code"), id_token=fields.get("id_token"))
        mount = parse_mount(flow.redirect_uri)
        if not mount:
            return error_page(LOGIN_FAILED, "Invalid redirect path.")
        return form_post_page(mount, flow.state)

    async def callback(self, request: Request, fields: FieldData) -> Response | None:
        assert request.storage is not None
        config = await self._config(request)
        if config is None:
            raise LoginFailed("Could not load configuration")
        now = self.source.clock.now()
        flow = self.pending.peek(fields.get("state"), now)
        if flow is None or flow.auth is not None:
            raise LoginFailed("Expired or missing OAuth state.")
        role = await load_role(request.storage, flow.role)
        direct = role is not None and role.callback_mode == "direct"
        if not direct:
            # One use: whatever happens next, this state completes nothing more.
            self.pending.take(flow.state, now)
        if role is None:
            raise LoginFailed("Role could not be found")
        if direct and not role.oidc_disable_confirmation and not fields.get("confirmation"):
            return confirmation_page(flow.requester, flow.role)
        try:
            auth = await self._complete(request, fields, flow, config=config, role=role, now=now)
        except LoginFailed as exc:
            if direct:
                return error_page(LOGIN_FAILED, exc.detail)
            raise
        if direct:
            self.pending.complete(flow, auth)
            return success_page()
        return Response(auth=auth)

    async def _complete(
        self,
        request: Request,
        fields: FieldData,
        flow: FlowRequest,
        *,
        config: JWTConfig,
        role: JWTRole,
        now: float,
    ) -> Auth:
        """The login's Auth: provider errors, client_nonce, CIDRs, the code exchange or the form-posted ID
        token, the ID token's checks, then the claims (Vault's order)."""
        provider_error = fields.get("error").strip().lower()
        if provider_error:
            # Named only when it is one of OAuth's codes: the text is the client's, not the provider's.
            logger.warning("oidc callback: the provider answered with an error")
            if provider_error in OAUTH_ERRORS:
                raise LoginFailed(provider_error)
            raise LoginFailed(
                "An unknown error occurred during OIDC authentication. Check server logs for details"
            )
        # A direct-mode login's client_nonce is checked when it polls.
        if (
            role.callback_mode != "direct"
            and flow.client_nonce
            and fields.get("client_nonce") != flow.client_nonce
        ):
            raise InvalidRequestError("invalid client_nonce")
        if role.token.bound_cidrs and not address_allowed(
            request.connection.remote_address, role.token.bound_cidrs
        ):
            raise PermissionDeniedError()
        try:
            discovery, key_set = await self.source.provider(config)
        except (FetchError, ValueError) as exc:
            raise InvalidRequestError(f"error getting provider for login operation: {exc}") from None
        client = oidc_client.Client(
            discovery,
            config.oidc_client_id,
            config.oidc_client_secret,
            config.oidc_discovery_ca_pem,
            config.jwt_supported_algs,
        )
        code: str = fields.get("code")
        if code == NO_CODE:
            code = flow.code
        tokens: oidc_client.Tokens
        if not code:
            if not flow.id_token:
                raise LoginFailed("No code or id_token received.")
            try:
                claims = await oidc_client.verify_id_token(client, key_set, flow.id_token, flow, now)
            except FlowError as exc:
                raise InvalidRequestError(f"{TOKEN_VERIFICATION} {exc}") from None
            tokens = oidc_client.Tokens(id_token=flow.id_token)
        else:
            try:
                tokens = await oidc_client.exchange(client, flow, code)
                claims = await oidc_client.verify_id_token(
                    client, key_set, tokens.id_token, flow, now, access_token=tokens.access_token
                )
            except FlowError as exc:
                raise LoginFailed(f"Error exchanging oidc code: {json.dumps(str(exc))}.") from None
        return await self._auth(client, role, flow, claims, tokens)

    async def poll(self, request: Request, fields: FieldData) -> Response | None:
        """A direct-mode login's result, for the client that started it (state and client_nonce)."""
        assert request.storage is not None
        now = self.source.clock.now()
        flow = self.pending.peek(fields.get("state"), now)
        if flow is None:
            raise LoginFailed("Expired or missing OAuth state.")
        if flow.client_nonce and fields.get("client_nonce") != flow.client_nonce:
            # As Vault: a wrong client_nonce ends the login, so the state cannot be guessed at.
            self.pending.take(flow.state, now)
            raise InvalidRequestError("invalid client_nonce")
        role = await load_role(request.storage, flow.role)
        if role is None:
            self.pending.take(flow.state, now)
            raise LoginFailed("Role could not be found")
        if flow.auth is None:
            raise InvalidRequestError("authorization_pending")
        self.pending.take(flow.state, now)
        return Response(auth=flow.auth)

    @staticmethod
    async def _auth(
        client: oidc_client.Client,
        role: JWTRole,
        flow: FlowRequest,
        claims: dict[str, Any],
        tokens: oidc_client.Tokens,
    ) -> Auth:
        claims.pop("nonce", None)
        subject = claims.get("sub") if isinstance(claims.get("sub"), str) else ""
        if role.bound_subject and role.bound_subject != subject:
            raise LoginFailed("sub claim does not match bound subject")
        if tokens.access_token:
            # As Vault: userinfo adds to (and overrides) the ID token's claims; its failure fails nothing.
            try:
                claims.update(await oidc_client.userinfo(client, tokens.access_token, str(subject)))
            except FlowError as exc:
                logger.info("oidc callback: userinfo not used: %s", exc)
        # The role's oauth2_metadata names (checked on write) are the Tokens fields.
        oauth2 = {f"oauth2_{name}": str(getattr(tokens, name)) for name in role.oauth2_metadata or ()}
        try:
            return login_auth(claims, role, flow.role, oauth2)
        except ClaimError as exc:
            raise LoginFailed(str(exc)) from None


def paths(source: KeySource) -> list[Path]:
    """The `oidc/auth_url`, `oidc/callback` and `oidc/poll` declarations."""
    login = OIDCLogin(source)

    return [
        Path(
            "oidc/auth_url",
            fields=AUTH_URL_FIELDS,
            operations={Operation.UPDATE: login.auth_url},
            synopsis="Request an authorization URL to start an OIDC login flow.",
        ),
        Path(
            "oidc/callback",
            fields=CALLBACK_FIELDS,
            operations={Operation.READ: login.callback, Operation.UPDATE: login.callback_post},
            synopsis="Callback endpoint to complete an OIDC login.",
        ),
        Path(
            "oidc/poll",
            fields={"state": CALLBACK_FIELDS["state"], "client_nonce": CALLBACK_FIELDS["client_nonce"]},
            operations={Operation.UPDATE: login.poll},
            synopsis="Poll endpoint to complete an OIDC login.",
        ),
    ]
