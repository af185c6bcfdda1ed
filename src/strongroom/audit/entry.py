"""What an audit entry records, and how it is written: Vault's JSON audit format.

Layer: audit (a service). Imports logical, util and errors; the core builds an AuditInput from its flow.

One request yields two entries: a "request" entry before the backend runs and a "response" entry after.
Field names, nesting and the omission of empty fields follow Vault's audit.AuditRequestEntry and
AuditResponseEntry.

Invariant: unless the device sets log_raw, every token, accessor and string value of request or response
data leaves this module only as its salted HMAC; what stays readable (policies, display names, token
metadata, errors, paths) is what Vault leaves readable.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

from strongroom.audit.hashing import Hasher, hash_structure
from strongroom.errors import InvalidRequestError
from strongroom.logical import Auth, Operation, Request, Response
from strongroom.util.clock import rfc3339

FORMATS = ("json",)
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
# Unicode categories refused in a prefix: control and format characters, line and paragraph separators.
_CONTROL = frozenset({"Cc", "Cf", "Zl", "Zp"})


@dataclass(frozen=True, slots=True)
class AuditAuth:
    """The token behind a request, as the audit log describes it."""

    accessor: str = field(default="", repr=False)
    display_name: str = ""
    policies: tuple[str, ...] = ()
    """The token's own and its entity's (with its groups'), as Vault lists them."""
    token_policies: tuple[str, ...] = ()
    identity_policies: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    entity_id: str = ""
    token_type: str = "default"
    token_ttl: int = 0
    token_issue_time: str = ""


@dataclass(frozen=True, slots=True)
class AuditInput:
    """One request (full API path), the mount it routed to (none: empty) and, for a response entry, its
    outcome."""

    request: Request
    auth: AuditAuth = field(default_factory=AuditAuth)
    mount_point: str = ""
    mount_type: str = ""
    mount_accessor: str = ""
    response: Response | None = None
    error: str = ""
    non_hmac_request_keys: tuple[str, ...] = ()
    non_hmac_response_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FormatOptions:
    """The options every device shares (Vault's names and defaults)."""

    hmac_accessor: bool = True
    log_raw: bool = False
    elide_list_responses: bool = False
    format: str = "json"
    prefix: str = ""

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> FormatOptions:
        """Read the shared options; InvalidRequestError names the first bad one."""
        chosen = options.get("format", "json") or "json"
        if chosen not in FORMATS:
            raise InvalidRequestError(f'unknown format type {chosen!r}: only "json" is supported')
        prefix = options.get("prefix", "")
        if any(unicodedata.category(ch) in _CONTROL for ch in prefix):
            # A line break in a prefix starts a line of the attacker's choosing (HCSEC-2025-14).
            raise InvalidRequestError("audit log prefix cannot contain control characters or line breaks")
        return cls(
            hmac_accessor=_flag(options, "hmac_accessor", True),
            log_raw=_flag(options, "log_raw", False),
            elide_list_responses=_flag(options, "elide_list_responses", False),
            format=chosen,
            prefix=prefix,
        )


def _flag(options: Mapping[str, str], name: str, default: bool) -> bool:
    value = options.get(name, "")
    if value == "":
        return default
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise InvalidRequestError(f"unable to parse '{name}': invalid boolean value {value!r}")


@dataclass(frozen=True, slots=True)
class RequestParts:
    """The "auth" and "request" members of an entry, encoded: the same in a request's two entries, so a
    device encodes them once for both, and the auth member once per token."""

    head: bytes


def auth_member(audit: AuditInput, options: FormatOptions, hasher: Hasher) -> bytes:
    """The encoded "auth" member of `audit`'s entries: it depends only on the auth and the client token."""
    return b'"auth":' + orjson.dumps(_auth(audit, options, hasher))


def request_parts(
    audit: AuditInput, options: FormatOptions, hasher: Hasher, auth: bytes | None = None
) -> RequestParts:
    """The "auth" and "request" members of `audit`'s entries (`auth`, when given, is `auth_member` of the
    same input and options)."""
    if auth is None:
        auth = auth_member(audit, options, hasher)
    return RequestParts(auth + b',"request":' + orjson.dumps(_request(audit, options, hasher)))


# Entries are spliced from encoded members: orjson writes a dict's members in order with no spaces, so the
# line is byte for byte what encoding the whole entry as one dict would give.
def request_line(
    audit: AuditInput, options: FormatOptions, hasher: Hasher, now: float, parts: RequestParts | None = None
) -> bytes:
    """The "request" entry as one log line: prefix, JSON, newline (`parts`, when given, are
    `request_parts` of the same input and options)."""
    if parts is None:
        parts = request_parts(audit, options, hasher)
    return b"".join(
        (
            options.prefix.encode(),
            b'{"time":',
            orjson.dumps(rfc3339(now)),
            b',"type":"request",',
            parts.head,
            _error(audit),
            b"}\n",
        )
    )


def response_line(
    audit: AuditInput, options: FormatOptions, hasher: Hasher, now: float, parts: RequestParts | None = None
) -> bytes:
    """The "response" entry as one log line: the request again, then what was answered (or the error)."""
    if parts is None:
        parts = request_parts(audit, options, hasher)
    return b"".join(
        (
            options.prefix.encode(),
            b'{"time":',
            orjson.dumps(rfc3339(now)),
            b',"type":"response",',
            parts.head,
            b',"response":',
            orjson.dumps(_response(audit, options, hasher)),
            _error(audit),
            b"}\n",
        )
    )


def _error(audit: AuditInput) -> bytes:
    return b',"error":' + orjson.dumps(audit.error) if audit.error else b""


def _hash(options: FormatOptions, hasher: Hasher, value: str) -> str:
    return value if options.log_raw or not value else hasher(value)


def _hash_accessor(options: FormatOptions, hasher: Hasher, value: str) -> str:
    return _hash(options, hasher, value) if options.hmac_accessor else value


def _auth(audit: AuditInput, options: FormatOptions, hasher: Hasher) -> dict[str, Any]:
    auth = audit.auth
    return _compact(
        {
            "client_token": _hash(options, hasher, audit.request.client_token) if auth.accessor else "",
            "accessor": _hash_accessor(options, hasher, auth.accessor),
            "display_name": auth.display_name,
            "policies": list(auth.policies),
            "token_policies": list(auth.token_policies),
            "identity_policies": list(auth.identity_policies),
            "metadata": dict(auth.metadata),
            "entity_id": auth.entity_id,
            "token_type": auth.token_type,
            "token_ttl": auth.token_ttl,
            "token_issue_time": auth.token_issue_time,
        }
    )


def _mount(audit: AuditInput, *, compact: bool = False) -> dict[str, Any]:
    if not audit.mount_point:
        return {}
    return _mount_members(audit.mount_point, audit.mount_type, audit.mount_accessor, compact)


# A server has few mounts and every entry names one: its members are built once (and only ever copied).
@functools.lru_cache(maxsize=256)
def _mount_members(mount_point: str, mount_type: str, mount_accessor: str, compact: bool) -> dict[str, Any]:
    mount_class = "auth" if mount_point.startswith("auth/") else "secret"
    members = {
        "mount_point": mount_point,
        "mount_type": mount_type,
        "mount_accessor": mount_accessor,
        "mount_class": mount_class,
    }
    # The request member leaves empty ones out (Go's omitempty); the response member has always kept them.
    return _compact(members) if compact else members


def _request(audit: AuditInput, options: FormatOptions, hasher: Hasher) -> dict[str, Any]:
    request, connection = audit.request, audit.request.connection
    # Built member by member, leaving out Go's empty ones (as _compact), in Vault's order.
    entry: dict[str, Any] = {"id": request.id} if request.id else {}
    entry["operation"] = str(request.operation)
    if audit.mount_point:
        entry |= _mount(audit, compact=True)
    raw, token, accessor = options.log_raw, request.client_token, audit.auth.accessor
    if token:
        entry["client_token"] = token if raw else hasher(token)
    if accessor:
        entry["client_token_accessor"] = accessor if raw or not options.hmac_accessor else hasher(accessor)
    entry["namespace"] = {"id": "root"}
    if request.path:
        entry["path"] = request.path
    if request.data:  # hashing copies the data into a new dict; a raw log copies it (a frozen mapping)
        entry["data"] = (
            dict(request.data)
            if options.log_raw
            else hash_structure(request.data, hasher, audit.non_hmac_request_keys)
        )
    if connection.remote_address:
        entry["remote_address"] = connection.remote_address
    if connection.remote_port:
        entry["remote_port"] = connection.remote_port
    if request.wrap_ttl:
        entry["wrap_ttl"] = request.wrap_ttl
    return entry


def _response(audit: AuditInput, options: FormatOptions, hasher: Hasher) -> dict[str, Any]:
    response = audit.response
    entry: dict[str, Any] = {}
    if response is not None and response.auth is not None:
        entry["auth"] = _response_auth(response.auth, options, hasher)
    entry |= _mount(audit)
    if response is not None and response.lease_id:
        entry["secret"] = {"lease_id": response.lease_id}
    data = _response_data(audit, options)
    if data:
        entry["data"] = (
            dict(data) if options.log_raw else hash_structure(data, hasher, audit.non_hmac_response_keys)
        )
    if response is not None and response.warnings:
        entry["warnings"] = list(response.warnings)
    if response is not None and response.wrap_info:
        entry["wrap_info"] = _wrap_info(response.wrap_info, options, hasher)
    return entry


def _response_data(audit: AuditInput, options: FormatOptions) -> Mapping[str, Any]:
    response = audit.response
    if response is None or response.raw_body is not None:
        return {"error": audit.error} if audit.error else _EMPTY
    data = response.data or _EMPTY
    if options.elide_list_responses and audit.request.operation is Operation.LIST:
        data = dict(data)
        # Vault keeps only the size of a listing, so huge key lists do not flood the log.
        for name in ("keys", "key_info"):
            if isinstance(data.get(name), list | dict):
                data[name] = len(data[name])
    return data


def _response_auth(auth: Auth, options: FormatOptions, hasher: Hasher) -> dict[str, Any]:
    return _compact(
        {
            "client_token": _hash(options, hasher, auth.client_token),
            "accessor": _hash_accessor(options, hasher, auth.accessor),
            "display_name": auth.display_name,
            "policies": list(auth.policies),
            "token_policies": list(auth.token_policies),
            "identity_policies": list(auth.identity_policies),
            "metadata": dict(auth.metadata),
            "num_uses": auth.num_uses,
            "entity_id": auth.entity_id,
            "token_type": auth.token_type,
            "token_ttl": auth.lease.ttl,
        }
    )


def _wrap_info(info: Mapping[str, Any], options: FormatOptions, hasher: Hasher) -> dict[str, Any]:
    wrapped = dict(info)
    for name in ("token", "accessor", "wrapped_accessor"):
        if isinstance(wrapped.get(name), str):
            hashing = _hash if name == "token" else _hash_accessor
            wrapped[name] = hashing(options, hasher, wrapped[name])
    return wrapped


def _compact(values: dict[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """Go's omitempty: drop empty strings, zero numbers, empty lists and maps."""
    # Falsy is exactly Go's empty here: None, "", 0, False, and empty lists and maps.
    return {k: v for k, v in values.items() if v or k in keep}
