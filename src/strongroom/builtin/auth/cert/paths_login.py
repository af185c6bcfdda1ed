"""`login` (with an optional `name`) and `config`: a client proves itself with the certificate it presented
over TLS.

Layer: builtin. Imports errors, framework, logical, util and this package's models and verify.
Vault's order and texts (path_login.go): no certificate on the connection refuses with "no client
certificate found"; a chain that leads to no trusted CA and is not itself trusted refuses with "invalid
certificate or no client certificate supplied"; a trusted chain whose entries' constraints all fail refuses
with "no chain matching all constraints could be found for this login certificate" (as does a chain with a
certificate a stored CRL revokes). With `name`, only that entry is considered. The entity alias is the
certificate's common name.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cryptography import x509

from strongroom.builtin.auth.cert.models import CERT_PREFIX, CertEntry, load_cert, load_config, save_config
from strongroom.builtin.auth.cert.paths_crls import revoked_serials
from strongroom.builtin.auth.cert.verify import (
    common_name,
    extension_values,
    is_ca,
    matches,
    parse_pem,
    same,
    verified_chain,
)
from strongroom.errors import InvalidRequestError, PermissionDeniedError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.tokenutil import address_allowed
from strongroom.logical import LoginAlias, Operation, Request, Response, Storage
from strongroom.util.clock import Clock

NO_CERTIFICATE = "no client certificate found"
UNTRUSTED = "invalid certificate or no client certificate supplied"
NO_MATCH = "no chain matching all constraints could be found for this login certificate"


@dataclass(frozen=True, slots=True)
class Trusted:
    """One trusted entry with its parsed certificates."""

    entry: CertEntry
    certificates: tuple[x509.Certificate, ...]


def client_chain(request: Request) -> list[x509.Certificate]:
    """The certificates the client presented, its own first; refused in Vault's words when there are none."""
    chain = [x509.load_pem_x509_certificate(pem.encode()) for pem in request.connection.peer_certificates]
    if not chain:
        raise InvalidRequestError(NO_CERTIFICATE)
    return chain


async def _trusted(storage: Storage, name: str) -> list[Trusted]:
    names = [name] if name else [key for key in await storage.list(CERT_PREFIX) if not key.endswith("/")]
    trusted = []
    for each in names:
        entry = await load_cert(storage, each)
        if entry is None:
            continue
        parsed = parse_pem(entry.certificate)
        if parsed:
            trusted.append(Trusted(entry, tuple(parsed)))
    return trusted


async def matching_entry(
    storage: Storage, chain: list[x509.Certificate], name: str, clock: Clock
) -> CertEntry:
    """The first trusted entry the client's chain satisfies (Vault's verifyCredentials)."""
    client = chain[0]
    trusted = await _trusted(storage, name)
    revoked = await revoked_serials(storage)

    def acceptable(trusted_chain: Sequence[x509.Certificate], entry: CertEntry) -> bool:
        # Vault's matchesConstraints: no certificate of the chain revoked, then the entry's constraints.
        return not any(c.serial_number in revoked for c in trusted_chain) and matches(client, entry)

    for candidate in trusted:
        own = candidate.certificates[0]
        if not is_ca(own) and same(own, client) and acceptable(candidate.certificates, candidate.entry):
            return candidate.entry
    authorities = [t for t in trusted if is_ca(t.certificates[0])]
    roots = [certificate for t in authorities for certificate in t.certificates]
    verified = verified_chain(chain, roots, datetime.datetime.fromtimestamp(clock.now(), datetime.UTC))
    if verified is None:
        raise InvalidRequestError(UNTRUSTED)
    for candidate in authorities:
        in_chain = any(same(mine, theirs) for mine in candidate.certificates for theirs in verified)
        if in_chain and acceptable(verified, candidate.entry):
            return candidate.entry
    raise InvalidRequestError(NO_MATCH)


def _hex(value: bytes) -> str:
    return ":".join(f"{byte:02x}" for byte in value)


def _key_ids(certificate: x509.Certificate) -> tuple[bytes, bytes]:
    try:
        subject = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        subject = b""
    try:
        authority = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        authority_id = authority.key_identifier or b""
    except x509.ExtensionNotFound:
        authority_id = b""
    return subject, authority_id


def login_metadata(certificate: x509.Certificate, entry: CertEntry) -> dict[str, str]:
    """Vault's login metadata, with each allowed_metadata_extensions value under its OID with dashes."""
    subject, authority = _key_ids(certificate)
    metadata = {
        "cert_name": entry.name,
        "common_name": common_name(certificate),
        "serial_number": str(certificate.serial_number),
        "subject_key_id": _hex(subject),
        "authority_key_id": _hex(authority),
    }
    if entry.allowed_metadata_extensions:
        values = extension_values(certificate)
        for oid in entry.allowed_metadata_extensions:
            if oid in values:
                metadata[oid.replace(".", "-")] = values[oid]
    return metadata


CONFIG_FIELDS = {
    "disable_binding": Field(FieldType.BOOL, "If set, during renewal, skips the matching of presented client "
                             "identity with the client identity used during login. Defaults to false."),
    "enable_identity_alias_metadata": Field(FieldType.BOOL, "If set, metadata of the certificate including "
                                            "the metadata corresponding to allowed_metadata_extensions will "
                                            "be stored in the alias. Defaults to false."),
    "ocsp_cache_size": Field(FieldType.INT, "The size of the in memory OCSP response cache, shared by all "
                             "configured certs", default=100),
}  # fmt: skip


def paths(clock: Clock) -> list[Path]:
    """The `login` and `config` declarations."""

    async def login(request: Request, fields: FieldData) -> Response:
        assert request.storage is not None
        config = await load_config(request.storage)
        chain = client_chain(request)
        entry = await matching_entry(request.storage, chain, fields.get("name"), clock)
        if not address_allowed(request.connection.remote_address, entry.token.bound_cidrs):
            raise PermissionDeniedError()
        metadata = login_metadata(chain[0], entry)
        alias = LoginAlias(
            name=common_name(chain[0]), metadata=metadata if config.enable_identity_alias_metadata else {}
        )
        auth = entry.token.to_auth(display_name=entry.display_name, metadata=metadata, alias=alias)
        return Response(auth=auth)

    async def read_config(request: Request, _fields: FieldData) -> Response:
        assert request.storage is not None
        return Response(data=(await load_config(request.storage)).view())

    async def write_config(request: Request, fields: FieldData) -> Response | None:
        assert request.storage is not None
        config = await load_config(request.storage)
        changes = {name: value for name in CONFIG_FIELDS for value, given in [fields.get_ok(name)] if given}
        config = replace(config, **changes)
        if fields.get_ok("ocsp_cache_size")[1] and not 2 <= config.ocsp_cache_size <= 100000:
            raise InvalidRequestError("invalid cache size, must be >= 2 and <= 100000")
        await save_config(request.storage, config)
        return None

    return [
        Path(
            "login",
            fields={
                "name": Field(FieldType.STRING, "The name of the certificate role to authenticate against.")
            },
            operations={Operation.UPDATE: login},
            synopsis="Log in with the client certificate of the TLS connection.",
            description="Authenticates with the certificate the client presented over TLS.",
        ),
        Path(
            "config",
            fields=CONFIG_FIELDS,
            operations={Operation.READ: read_config, Operation.UPDATE: write_config},
            synopsis="Configure the cert auth method.",
            description="Renewal binding and identity alias metadata of cert logins.",
        ),
    ]
