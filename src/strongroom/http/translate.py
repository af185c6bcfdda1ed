"""HTTP <-> logical: parse a request into a logical Request; render a Response or an error as Vault does.

The error -> status table lives here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson

from strongroom import errors
from strongroom.http.json_cost import complexity_error
from strongroom.logical import Operation, Request, Response
from strongroom.logical.envelope import envelope
from strongroom.logical.request import Connection
from strongroom.util.durations import parse_duration
from strongroom.util.paths import is_safe_path

STATUS_BY_ERROR: tuple[tuple[type[errors.StrongroomError], int], ...] = (
    (errors.InvalidRequestError, 400),
    (errors.PermissionDeniedError, 403),
    (errors.NotFoundError, 404),
    (errors.UnsupportedOperationError, 405),
    (errors.PayloadTooLargeError, 413),
    (errors.UnsupportedMediaTypeError, 415),
    (errors.RateLimitedError, 429),
    (errors.ServiceUnavailableError, 503),
    (errors.SealedError, 503),
)
"""First match wins. Anything not listed is a server fault: 500 with a message that reveals nothing."""


_METHODS = {
    "GET": Operation.READ,
    "LIST": Operation.LIST,
    "POST": Operation.UPDATE,
    "PUT": Operation.UPDATE,
    "PATCH": Operation.PATCH,
    "DELETE": Operation.DELETE,
    "HEAD": Operation.HEAD,
}
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
MERGE_PATCH = "application/merge-patch+json"
# Vault hands an OCSP request's DER body to the backend as it is (the pki engine's ocsp path).
OCSP_REQUEST = "application/ocsp-request"


class UnknownMethodError(errors.UnsupportedOperationError):
    """405 for an HTTP method the API does not speak; Vault gives no error text for it."""

    def __init__(self) -> None:
        errors.RequestError.__init__(self)


def status_for(error: BaseException) -> int:
    """The HTTP status for an error raised while serving a request."""
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 500


def error_body(error: BaseException) -> bytes:
    """Vault's error shape. Server faults say only "internal error"."""
    if isinstance(error, errors.RequestError):
        return orjson.dumps({"errors": list(error.errors)})
    if isinstance(error, errors.SealedError):
        return orjson.dumps({"errors": [str(error)]})
    return orjson.dumps({"errors": ["internal error"]})


def operation_for(method: str, query: Mapping[str, str]) -> Operation:
    """The logical operation of an HTTP method (GET with ?list=true is LIST; ?help=1 is HELP)."""
    operation = _METHODS.get(method)
    if operation is None:
        raise UnknownMethodError()
    if query.get("help") in _TRUE:
        return Operation.HELP
    if operation is Operation.READ and query.get("list") in _TRUE:
        return Operation.LIST
    return operation


def api_path(raw: str) -> str:
    """The path under /v1/, refusing paths that climb or carry control characters."""
    if not raw.startswith("/v1/"):
        raise errors.NotFoundError()
    path = raw[len("/v1/") :]
    if not is_safe_path(path):
        raise errors.InvalidRequestError("invalid request path")
    return path


def decode_body(body: bytes) -> dict[str, Any]:
    """The JSON object in a request body ({} when empty)."""
    if not body.strip():
        return {}
    complexity = complexity_error(body)
    if complexity:
        raise errors.InvalidRequestError(complexity)
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidRequestError(f"failed to decode JSON input: {exc.msg}") from None
    if value is None:  # Go decodes a JSON null into an empty map; clients such as `bao unwrap` send one
        return {}
    if not isinstance(value, dict):
        raise errors.InvalidRequestError("failed to decode JSON input: the body must be a JSON object")
    return value


def _is_form(body: bytes, content_type: str) -> bool:
    """Vault's rule: a form body (OAuth clients post them to the OIDC token endpoint) is one sent as
    application/x-www-form-urlencoded that does not look like JSON; JSON wins whatever the header says."""
    return content_type == "application/x-www-form-urlencoded" and body.lstrip()[:1] not in (b"{", b"[")


def _parse_form(body: bytes) -> dict[str, Any]:
    """A form's fields; a repeated field's values joined with commas, as Vault does."""
    values: dict[str, list[str]] = {}
    for key, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
        values.setdefault(key, []).append(value)
    return {key: ",".join(found) for key, found in values.items()}


def token_from(headers: Mapping[str, str]) -> str:
    """The client token: X-Vault-Token, else an Authorization Bearer token."""
    token = headers.get("x-vault-token", "")
    if token:
        return token
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def parse_query(query_string: bytes) -> dict[str, str]:
    """Query parameters; for a repeated key the last value wins."""
    if not query_string:  # most requests: parse_qsl costs microseconds even on nothing
        return {}
    return dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))


def build_request(
    *,
    method: str,
    raw_path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    client: tuple[str, int] | None,
    request_id: str,
    peer_certificates: tuple[str, ...] = (),
) -> Request:
    """The logical request for one HTTP request."""
    path = api_path(raw_path)
    operation = operation_for(method, query)
    content_type = headers.get("content-type", "").split(";")[0].strip()
    if operation is Operation.PATCH and not content_type:
        raise errors.InvalidRequestError("mime: no media type")  # Go's mime.ParseMediaType, as Vault says
    if operation is Operation.PATCH and content_type != MERGE_PATCH:
        raise errors.UnsupportedMediaTypeError(
            f"PATCH requires Content-Type of {MERGE_PATCH}, provided {content_type or 'none'}"
        )
    raw_body = b""
    if operation is Operation.UPDATE and content_type == OCSP_REQUEST:
        data: dict[str, Any] = {}
        raw_body = body
    elif operation is Operation.UPDATE and _is_form(body, content_type):
        data = _parse_form(body)
    elif operation in (Operation.UPDATE, Operation.PATCH):
        data = decode_body(body)
    else:
        data = {k: v for k, v in query.items() if k not in ("list", "help")}
    if operation is Operation.LIST and not path.endswith("/"):
        path += "/"
    wrap_ttl = headers.get("x-vault-wrap-ttl", "")
    return Request(
        operation=operation,
        path=path,
        data=data,
        id=request_id,
        client_token=token_from(headers),
        connection=Connection(*(client or ("", 0)), peer_certificates),
        headers=headers,
        query=query,
        wrap_ttl=_wrap_ttl(wrap_ttl),
        content_type=content_type,
        raw_body=raw_body,
    )


def _wrap_ttl(value: str) -> int:
    if not value:
        return 0
    prefix = "error parsing X-Vault-Wrap-TTL header: "
    if value.strip().startswith("-"):
        raise errors.InvalidRequestError(prefix + "requested wrap ttl cannot be negative")
    try:
        return parse_duration(value)
    except ValueError:
        raise errors.InvalidRequestError(prefix + f'time: invalid duration "{value}"') from None


def render_help(response: Response) -> tuple[int, bytes]:
    """A help answer: Vault sends its fields bare, outside the response envelope."""
    return 200, orjson.dumps({"see_also": None} | dict(response.data or {}))


def render(response: Response, request_id: str) -> tuple[int, bytes]:
    """Status and body for a backend's response, in Vault's envelope."""
    if response.raw_body is not None:
        return response.status or 200, response.raw_body
    return response.status or 200, orjson.dumps(envelope(response, request_id))
