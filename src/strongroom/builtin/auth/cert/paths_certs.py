"""`certs/<name>` and LIST `certs/`: the certificates a cert mount trusts and what their logins get.

Layer: builtin. Imports framework (Path, fields, tokenutil), logical and this package's models and verify.
Vault's rules on write (path_certs.go): names are lowercased; the certificate must hold at least one
parseable PEM certificate; a certificate that is not a CA must allow client authentication when it names
extended key usages; display_name defaults to the name; ttl may not exceed max_ttl.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from strongroom.builtin.auth.cert.models import (
    CERT_PREFIX,
    CONSTRAINTS,
    LEGACY,
    CertEntry,
    load_cert,
    save_cert,
)
from strongroom.builtin.auth.cert.verify import allows_client_auth, is_ca, parse_pem
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.tokenutil import TOKEN_FIELDS, upgrade_policies
from strongroom.logical import Operation, Request, Response, SystemView

_LIST = FieldType.COMMA_STRING_LIST
_GLOBS = "Supports globbing."
FIELDS: dict[str, Field] = {
    "name": Field(FieldType.LOWERCASE_STRING, "The name of the certificate"),
    "certificate": Field(
        FieldType.STRING, "The public certificate that should be trusted. Must be x509 PEM encoded."
    ),
    "display_name": Field(FieldType.STRING, "The display name to use for clients using this certificate."),
    "allowed_names": Field(
        _LIST,
        "A comma-separated list of names. At least one must exist in the Common Name, or a DNS or email "
        "Subject Alternate Name. " + _GLOBS,
    ),
    "allowed_common_names": Field(
        _LIST, "A list of names. At least one must exist in the Common Name. " + _GLOBS
    ),
    "allowed_dns_sans": Field(_LIST, "A list of DNS names. At least one must exist in the SANs. " + _GLOBS),
    "allowed_email_sans": Field(
        _LIST, "A list of Email Addresses. At least one must exist in the SANs. " + _GLOBS
    ),
    "allowed_uri_sans": Field(_LIST, "A list of URIs. At least one must exist in the SANs. " + _GLOBS),
    "allowed_organizational_units": Field(
        _LIST, "A list of Organizational Units names. At least one must exist in the OU field."
    ),
    "required_extensions": Field(
        _LIST,
        'A comma-separated string or array of extensions formatted as "oid:value". Expects the extension '
        'value to be some type of ASN1 encoded string. All values must match. Supports globbing on "value".',
    ),
    "allowed_metadata_extensions": Field(
        _LIST,
        "A comma-separated string or array of oid extensions. Upon successful authentication, these "
        "extensions will be added as metadata if they are present in the certificate.",
    ),
    "ocsp_enabled": Field(FieldType.BOOL, "Whether to attempt OCSP verification of certificates at login"),
    "ocsp_ca_certificates": Field(
        FieldType.STRING, "Any additional CA certificates needed to communicate with OCSP servers"
    ),
    "ocsp_servers_override": Field(_LIST, "A list of OCSP server addresses."),
    "ocsp_fail_open": Field(
        FieldType.BOOL,
        "If set to true, if an OCSP revocation cannot be made successfully, login will proceed rather than "
        "failing.",
    ),
    "ocsp_query_all_servers": Field(
        FieldType.BOOL,
        "If set to true, rather than accepting the first successful OCSP response, query all servers.",
    ),
    **TOKEN_FIELDS,
    "policies": Field(_LIST, 'Use "token_policies" instead.'),
    "lease": Field(FieldType.INT, 'Use "token_ttl" instead.'),
    "ttl": Field(FieldType.DURATION, 'Use "token_ttl" instead.'),
    "max_ttl": Field(FieldType.DURATION, 'Use "token_max_ttl" instead.'),
    "period": Field(FieldType.DURATION, 'Use "token_period" instead.'),
}


def _legacy(entry: CertEntry, fields: FieldData) -> CertEntry:
    """Vault's tokenutil.UpgradeValue for ttl, max_ttl and period, and the older "lease" for the ttl."""
    legacy = dict(entry.legacy)
    token = entry.token
    for name in LEGACY:
        old, old_given = fields.get_ok(name)
        if fields.get_ok("token_" + name)[1]:
            legacy[name] = getattr(token, name) if old_given else 0
        elif old_given:
            token = replace(token, **{name: old})
            legacy[name] = old
    lease, lease_given = fields.get_ok("lease")
    if lease_given and not fields.get_ok("token_ttl")[1] and not fields.get_ok("ttl")[1]:
        token = replace(token, ttl=lease)
        legacy["ttl"] = lease
    return replace(entry, token=token, legacy={k: v for k, v in legacy.items() if v})


def paths(system: SystemView) -> list[Path]:
    """The `certs/` and `certs/<name>` declarations."""

    async def write(request: Request, fields: FieldData) -> Response | None:
        assert request.storage is not None
        name: str = fields.get("name")
        entry = await load_cert(request.storage, name) or CertEntry(name=name)
        if fields.get("ocsp_enabled"):
            raise InvalidRequestError(
                "OCSP verification of client certificates is not supported by this server"
            )
        changes: dict[str, Any] = {}
        for key in ("certificate", "display_name", *CONSTRAINTS):
            value, given = fields.get_ok(key)
            if given:
                changes[key] = tuple(value) if isinstance(value, list) else value
        entry = replace(entry, **changes)
        token, policies = upgrade_policies(entry.token.updated(fields), entry.policies, fields)
        entry = _legacy(replace(entry, token=token, policies=policies), fields)
        warnings = []
        default_ttl, max_ttl = system.default_lease_ttl(), system.max_lease_ttl()
        if entry.token.ttl > default_ttl:
            warnings.append(f"Given ttl of {entry.token.ttl} seconds is greater than current mount/system "
                            f"default of {default_ttl} seconds")  # fmt: skip
        if entry.token.max_ttl > max_ttl:
            warnings.append(f"Given max_ttl of {entry.token.max_ttl} seconds is greater than current "
                            f"mount/system default of {max_ttl} seconds")  # fmt: skip
        if entry.token.max_ttl and entry.token.ttl > entry.token.max_ttl:
            raise InvalidRequestError("ttl should be shorter than max_ttl")
        if entry.token.period > max_ttl:
            warnings.append(f"Given period of {entry.token.period} seconds is greater than the backend's "
                            f"maximum TTL of {max_ttl} seconds")  # fmt: skip
        if not entry.display_name:
            entry = replace(entry, display_name=name)
        parsed = parse_pem(entry.certificate)
        if not parsed:
            raise InvalidRequestError("failed to parse certificate")
        if not is_ca(parsed[0]) and not allows_client_auth(parsed[0]):
            raise InvalidRequestError(
                "nonCA certificates should have TLS client authentication set as an extended key usage"
            )
        await save_cert(request.storage, entry)
        return Response(warnings=tuple(warnings)) if warnings else None

    async def read(request: Request, fields: FieldData) -> Response | None:
        assert request.storage is not None
        entry = await load_cert(request.storage, fields.get("name"))
        return None if entry is None else Response(data=entry.view())

    async def exists(request: Request, fields: FieldData) -> bool:
        assert request.storage is not None
        return await load_cert(request.storage, fields.get("name")) is not None

    async def delete(request: Request, fields: FieldData) -> Response | None:
        assert request.storage is not None
        await request.storage.delete(CERT_PREFIX + fields.get("name"))
        return None

    async def list_certs(request: Request, _fields: FieldData) -> Response:
        assert request.storage is not None
        keys = [key for key in await request.storage.list(CERT_PREFIX) if not key.endswith("/")]
        return Response(data={"keys": keys} if keys else {})

    return [
        Path(
            "certs/?",
            operations={Operation.LIST: list_certs},
            synopsis="Manage trusted certificates used for authentication.",
            description="This endpoint allows you to list certificates.",
        ),
        Path(
            "certs/{name}",
            fields=FIELDS,
            operations={
                Operation.READ: read,
                Operation.CREATE: write,
                Operation.UPDATE: write,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis="Manage trusted certificates used for authentication.",
            description="This endpoint allows you to create, read, update, and delete trusted certificates "
            "that are allowed to authenticate.",
        ),
    ]
