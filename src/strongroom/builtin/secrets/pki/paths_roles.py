"""roles/<name> (create, update, read, delete) and roles/ (LIST). Layer: builtin.

Imports framework, logical, errors and the engine's models and keys. As in Vault, a write sets every
setting: what the request leaves out takes its default (it is not merged with the stored role).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from cryptography import x509

from strongroom.builtin.secrets.pki.certs import policy_information
from strongroom.builtin.secrets.pki.issuing import parse_cidrs, parse_other_sans, parse_rfc3339
from strongroom.builtin.secrets.pki.keys import validate_key_params
from strongroom.builtin.secrets.pki.models import ROLE_SETTINGS, Role
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError, NotFoundError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.backend import UNSUPPORTED_PATH
from strongroom.logical import Operation, Request, Response

NAME = re.compile(r"\w(([\w.-]+)?\w)?")
NO_STORE_WINS = (
    "mutually exclusive values no_store=true and generate_lease=true were both specified; no_store=true "
    "takes priority"
)
LEASE_WARNING = (
    "it is encouraged to disable generate_lease and rely on PKI's native capabilities when possible; this "
    "option can cause instance-wide issues with large numbers of issued certificates"
)
_DURATIONS = ("ttl", "max_ttl", "not_before_duration")
_DESCRIPTIONS = {
    "ttl": "The lease duration (validity period) if no specific lease duration is requested.",
    "max_ttl": "The maximum allowed lease duration.",
    "allowed_domains": "Specifies the domains this role is allowed to issue certificates for.",
    "allow_subdomains": "If set, clients can request certificates for subdomains of the allowed domains.",
    "allow_bare_domains": "If set, clients can request certificates for the allowed domains themselves.",
    "allow_glob_domains": 'If set, allowed_domains may contain glob patterns (e.g. "ftp*.example.com").',
    "allow_any_name": (
        "If set, clients can request certificates for any domain, regardless of allowed_domains."
    ),
    "allow_localhost": 'Whether to allow "localhost" and "localdomain" as a valid common name in a request.',
    "enforce_hostnames": "If set, only valid host names are allowed for CN and DNS SANs.",
    "allow_ip_sans": "If set, IP Subject Alternative Names are allowed.",
    "generate_lease": "If set, certificates issued/signed against this role will have OpenBao leases.",
    "no_store": "If set, certificates issued/signed against this role will not be stored.",
    "key_type": 'The type of key to use; defaults to RSA. "rsa", "ec", "ed25519" and "any" are allowed.',
    "key_bits": "The number of bits to use (0: the key type's default).",
}


def _field_for(name: str, default: Any) -> Field:
    description = _DESCRIPTIONS.get(name, f"The role's {name.replace('_', ' ')} setting.")
    if name in _DURATIONS:
        return Field(FieldType.DURATION, description, default)
    if isinstance(default, bool):
        return Field(FieldType.BOOL, description, default)
    if isinstance(default, int):
        return Field(FieldType.INT, description, default)
    if isinstance(default, tuple):
        return Field(FieldType.COMMA_STRING_LIST, description, list(default) or None)
    return Field(FieldType.STRING, description, default)


_DEFAULTS = Role(name="")
ROLE_FIELDS: dict[str, Field] = {
    "name": Field(FieldType.STRING, "Name of the role."),
    **{name: _field_for(name, getattr(_DEFAULTS, name)) for name in ROLE_SETTINGS},
}
ROLE_FIELDS["key_bits"] = Field(FieldType.INT, _DESCRIPTIONS["key_bits"], 0)
# OpenBao dropped allow_token_displayname: a write ignores it (with the unknown-parameter warning) and a read
# shows it off.
del ROLE_FIELDS["allow_token_displayname"]


def _issuer_warning(ref: str) -> str:
    if ref == "default":
        return (
            "Issuing Certificate was set to default, but no default issuing certificate (configurable at "
            "/config/issuers) is currently set"
        )
    return f"Issuing Certificate was set to {ref} but no issuing certificate currently has that name"


def checked_name(data: FieldData, field: str = "name") -> str:
    """The role name in `field`; one Vault's route pattern would not match is an unsupported path."""
    name: str = data.get(field)
    if not NAME.fullmatch(name):
        raise NotFoundError(UNSUPPORTED_PATH)
    return name


def role_from(name: str, data: FieldData, raw: Mapping[str, Any]) -> tuple[Role, tuple[str, ...]]:
    """The role a write describes, with Vault's warnings: each setting as given, else its default; every
    setting checked here so that issuing never meets one it cannot apply. `raw` is the request body, for
    policy_identifiers given as one JSON list."""
    values: dict[str, Any] = {}
    for setting in ROLE_SETTINGS:
        if setting not in ROLE_FIELDS:
            continue
        value = data.get(setting)
        values[setting] = tuple(value) if isinstance(value, list) else value
    parse_cidrs(values["allowed_ip_sans_cidr"])
    key_type, key_bits = validate_key_params(values["key_type"], values["key_bits"], allow_any=True)
    values.update(key_type=key_type, key_bits=key_bits)
    if values["max_ttl"] > 0 and values["ttl"] > values["max_ttl"]:
        raise InvalidRequestError('"ttl" value must be less than "max_ttl" value')
    for oid in values["ext_key_usage_oids"]:
        if not _is_oid(oid):
            raise InvalidRequestError(
                f"{json.dumps(oid)} could not be parsed as a valid oid for an extended key usage"
            )
    values["policy_identifiers"] = _policy_identifiers(
        raw.get("policy_identifiers"), values["policy_identifiers"]
    )
    values["cn_validations"] = _cn_validations(values["cn_validations"])
    others = values["allowed_other_sans"]
    if others and others != ("*",):
        try:
            parse_other_sans(others)
        except ValueError as exc:
            raise InvalidRequestError(f"error parsing allowed_other_sans: {exc}") from None
    warnings: tuple[str, ...] = ()
    if values["no_store"]:
        if values["generate_lease"]:
            warnings = (NO_STORE_WINS,)
        values["generate_lease"] = False
    elif values["generate_lease"]:
        warnings = (LEASE_WARNING,)
    values["issuer_ref"] = values["issuer_ref"] or "default"
    _check_bounds(data)
    return Role(name=name, **values), warnings


def _check_bounds(data: FieldData) -> None:
    """Vault's validateNotAfterBound and validateNoBeforeBound, for the values a write gives."""
    after, given = data.get_ok("not_after_bound")
    if given and after not in ("permit", "forbid", "ttl-limited"):
        try:
            parse_rfc3339(after)
        except InvalidRequestError:
            raise InvalidRequestError(
                "Unknown value for field `not_after_bound`. Possible values are `permit`, `ttl-limited`, "
                "`forbid`, or an explicit timestamp."
            ) from None
    before, given = data.get_ok("not_before_bound")
    if given and before not in ("permit", "duration", "forbid"):
        raise InvalidRequestError(
            "Unknown value for field `not_before_bound`. Possible values are `permit` `duration` or `forbid`"
        )


def _is_oid(text: str) -> bool:
    try:
        x509.ObjectIdentifier(text)
    except ValueError:
        return False
    return True


def _policy_identifiers(raw: Any, listed: tuple[str, ...]) -> tuple[str, ...]:
    """Vault's getPolicyIdentifier: a JSON list of {"oid", "cps", "notice"} becomes one compact JSON entry
    per policy; otherwise the comma-separated OIDs. Each must describe a policy (400 otherwise)."""
    entries = listed
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(entry, dict) for entry in parsed):
            entries = tuple(_policy_json(entry) for entry in parsed)
    for entry in entries:
        if entry:
            try:
                policy_information(entry)
            except ValueError as exc:
                raise InvalidRequestError(str(exc)) from None
    return entries


def _policy_json(entry: Mapping[str, Any]) -> str:
    """A policy as Go marshals Vault's PolicyIdentifierWithQualifierEntry: oid, then cps and notice if set."""
    ordered = {"oid": str(entry.get("oid", ""))}
    for key in ("cps", "notice"):
        if entry.get(key):
            ordered[key] = str(entry[key])
    return json.dumps(ordered, separators=(",", ":"))


def _cn_validations(given: tuple[str, ...]) -> tuple[str, ...]:
    """Vault's checkCNValidations: lower-cased, each once, `disabled` alone; empty means both checks."""
    if not given:
        return ("email", "hostname")
    seen: list[str] = []
    for validation in given:
        kind = validation.lower()
        if kind not in ("disabled", "email", "hostname"):
            raise InvalidRequestError(f"cn_validations value incorrect: unknown type: `{validation}`")
        if kind in seen:
            raise InvalidRequestError(f"cn_validations value incorrect: `{kind}` specified multiple times")
        seen.append(kind)
    if "disabled" in seen and len(seen) > 1:
        raise InvalidRequestError(
            "cn_validations value incorrect: cannot specify `disabled` along with `email` or `hostname`"
        )
    return tuple(seen)


def paths(store: PkiStore) -> list[Path]:
    """The role and role list paths."""

    async def exists(request: Request, data: FieldData) -> bool:
        return await store.role(checked_name(data)) is not None

    async def write(request: Request, data: FieldData) -> Response | None:
        role, warnings = role_from(checked_name(data), data, request.data)
        if await store.resolve_issuer(role.issuer_ref) is None:
            warnings = (*warnings, _issuer_warning(role.issuer_ref))
        await store.save_role(role)
        return Response(data=role.read_data(), warnings=warnings)

    async def read(request: Request, data: FieldData) -> Response | None:
        role = await store.role(checked_name(data))
        return None if role is None else Response(data=role.read_data())

    async def delete(request: Request, data: FieldData) -> Response | None:
        await store.delete_role(checked_name(data))
        return None

    async def list_roles(request: Request, data: FieldData) -> Response | None:
        return Response(data={"keys": await store.role_names()})

    return [
        Path(
            "roles/{name}",
            fields=ROLE_FIELDS,
            operations={
                Operation.CREATE: write,
                Operation.UPDATE: write,
                Operation.READ: read,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis="Manage the roles that can be created with this backend.",
            description=(
                "A role says which names certificates issued against it may carry, and how those "
                "certificates look: key type, usages, subject fields and TTLs."
            ),
        ),
        Path(
            "roles/?",
            operations={Operation.LIST: list_roles},
            synopsis="List the existing roles in this backend",
            description="Roles will be listed by the role name.",
        ),
    ]
