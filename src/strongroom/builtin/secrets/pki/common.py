"""What the pki path modules share: the fields of certificate requests, how a new certificate is answered,
and how a new CA becomes an issuer. Layer: builtin.

Imports framework, logical, errors, util and the engine's pure modules and store.

Invariant: a private key reaches a response only when the request asked for it ("exported", or issue/).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from cryptography import x509

from strongroom.builtin.secrets.pki.certs import (
    certificate_der,
    certificate_pem,
    encode_certificate,
    not_after,
)
from strongroom.builtin.secrets.pki.issuing import NameRequest
from strongroom.builtin.secrets.pki.keys import (
    PrivateKey,
    dump_key,
    encode_key,
    key_type_of,
    normalize_serial,
    serial_text,
)
from strongroom.builtin.secrets.pki.models import CertRecord, Issuer, KeyEntry
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType
from strongroom.logical import Response
from strongroom.util import ids

AIA_WARNING = (
    "This mount hasn't configured any authority information access (AIA) fields; this may make it harder "
    "for systems to find missing certificates in the chain or to validate revocation status of "
    "certificates. Consider updating /config/urls or the newly generated issuer with this information."
)
NO_SUBJECT_WARNING = (
    "This issuer certificate was generated without a Subject; this makes it likely that issuing leaf certs "
    "with this certificate will cause TLS validation libraries to reject this certificate."
)

# Vault's GenericNameRegex: what an issuer or key name may be.
REF_NAME = re.compile(r"\w(([\w.-]+)?\w)?")
ISSUER_NAME_IN_USE = "issuer name already in use"

# What Vault answers for a CA fetch before there is a CA: an empty 204, not a 404.
NO_CONTENT = Response(status=204, raw_body=b"")

NAME_FIELDS: dict[str, Field] = {
    "common_name": Field(FieldType.STRING, "The requested common name."),
    "alt_names": Field(
        FieldType.COMMA_STRING_LIST, "The requested Subject Alternative Names (DNS or email)."
    ),
    "ip_sans": Field(FieldType.COMMA_STRING_LIST, "The requested IP SANs."),
    "uri_sans": Field(FieldType.COMMA_STRING_LIST, "The requested URI SANs."),
    "other_sans": Field(
        FieldType.COMMA_STRING_LIST, 'Requested other SANs, "<oid>;UTF8:<value>", as the role allows them.'
    ),
    "exclude_cn_from_sans": Field(FieldType.BOOL, "If true, the common name is not added to the DNS SANs."),
    "ttl": Field(FieldType.DURATION, "The requested time to live; capped by the role's max_ttl."),
    "format": Field(FieldType.STRING, 'Format for returned data: "pem", "der" or "pem_bundle".', "pem"),
    "private_key_format": Field(
        FieldType.STRING, 'Format of a returned private key: "der" (its type\'s own), or "pkcs8".', "der"
    ),
    "not_after": Field(FieldType.STRING, "Not supported: use ttl."),
    "serial_number": Field(
        FieldType.STRING,
        "The subject's serialNumber attribute (not the certificate's serial), as the role allows.",
    ),
}
SUBJECT_FIELDS: dict[str, Field] = {
    name: Field(FieldType.COMMA_STRING_LIST, f"If set, {label} will be set to this value.")
    for name, label in (
        ("ou", "OU (OrganizationalUnit)"),
        ("organization", "O (Organization)"),
        ("country", "Country"),
        ("locality", "Locality"),
        ("province", "Province/State"),
        ("street_address", "Street Address"),
        ("postal_code", "Postal Code"),
    )
}
KEY_FIELDS: dict[str, Field] = {
    "key_type": Field(FieldType.STRING, 'The type of key to use: "rsa", "ec" or "ed25519".', "rsa"),
    "key_bits": Field(FieldType.INT, "The number of bits to use (0: the type's default).", 0),
    "key_name": Field(FieldType.STRING, "A name for the new key."),
}
CA_FIELDS: dict[str, Field] = {
    **NAME_FIELDS,
    **SUBJECT_FIELDS,
    **KEY_FIELDS,
    "issuer_name": Field(FieldType.STRING, "A name for the new issuer."),
    "max_path_length": Field(FieldType.INT, "The maximum path length to encode (-1: no limit).", -1),
    "not_before_duration": Field(FieldType.DURATION, "How far in the past notBefore is set.", 30),
    "signature_bits": Field(FieldType.INT, "Accepted for compatibility; the digest follows the key."),
    "use_pss": Field(FieldType.BOOL, "Not supported."),
    "permitted_dns_domains": Field(FieldType.COMMA_STRING_LIST, "Not supported."),
}


PAGE_FIELDS: dict[str, Field] = {
    "after": Field(FieldType.STRING, "Optional entry to list begin listing after, not required to exist."),
    "limit": Field(FieldType.INT, "Optional number of entries to return; defaults to all entries."),
}


_Entry = TypeVar("_Entry", Issuer, KeyEntry)


def serial_page(serials: list[str], data: FieldData) -> list[str]:
    """Colon-form serials after `after` (colons or hyphens), at most `limit` of them when it is positive,
    in storage order as Vault's ListPage gives them."""
    after, limit = normalize_serial(data.get("after")), data.get("limit")
    chosen = [serial for serial in sorted(serials) if serial > after]
    return chosen[:limit] if limit > 0 else chosen


def page(entries: list[_Entry], data: FieldData) -> list[_Entry]:
    """The entries (sorted by id) after `after`, at most `limit` of them when it is positive."""
    after, limit = data.get("after"), data.get("limit")
    chosen = [entry for entry in sorted(entries, key=lambda entry: entry.id) if entry.id > after]
    return chosen[:limit] if limit > 0 else chosen


def name_request(data: FieldData) -> NameRequest:
    """The names of a request body."""
    return NameRequest(
        common_name=data.get("common_name"),
        alt_names=tuple(data.get("alt_names")),
        ip_sans=tuple(data.get("ip_sans")),
        uri_sans=tuple(data.get("uri_sans")),
        exclude_cn_from_sans=data.get("exclude_cn_from_sans"),
        other_sans=tuple(data.get("other_sans")),
        serial_number=data.get("serial_number"),
    )


def refuse_unsupported(data: FieldData, *names: str) -> None:
    """Refuse (rather than ignore) settings this engine does not implement."""
    for name in names:
        value, supplied = data.get_ok(name)
        if supplied and value:
            raise InvalidRequestError(f"{name} is not supported by this server")


def check_pkcs8(data: FieldData) -> bool:
    """Whether the private key is asked for as PKCS#8; 400 for an unknown private_key_format."""
    chosen = data.get("private_key_format")
    if chosen not in ("", "der", "pem", "pkcs8"):
        raise InvalidRequestError('invalid private_key_format: must be "der", "pem" or "pkcs8"')
    return bool(chosen == "pkcs8")


def certificate_data(
    certificate: x509.Certificate,
    chain: tuple[str, ...],
    output: str,
    key: PrivateKey | None = None,
    *,
    pkcs8: bool = False,
) -> dict[str, Any]:
    """The fields every new certificate is answered with: the certificate, its issuer and chain, serial,
    expiry, and the private key when there is one to give."""
    chain_certs = [x509.load_pem_x509_certificate(pem.encode()) for pem in chain]
    if output == "der":
        issuing_ca = base64.b64encode(certificate_der(chain_certs[0])).decode()
        ca_chain = [base64.b64encode(certificate_der(cert)).decode() for cert in chain_certs]
    else:
        issuing_ca = certificate_pem(chain_certs[0])
        ca_chain = [certificate_pem(cert) for cert in chain_certs]
    text = encode_certificate(certificate, output)
    data: dict[str, Any] = {
        "certificate": text,
        "issuing_ca": issuing_ca,
        "ca_chain": ca_chain,
        "serial_number": serial_text(certificate.serial_number),
        "expiration": int(not_after(certificate)),
    }
    if key is not None:
        data["private_key"] = encode_key(key, output, pkcs8=pkcs8)
        data["private_key_type"] = key_type_of(key)
    if output == "pem_bundle":
        parts = [data["private_key"]] if key is not None else []
        data["certificate"] = "\n".join([*parts, text, issuing_ca])
    return data


async def remember(store: PkiStore, certificate: x509.Certificate, issuer_id: str) -> CertRecord:
    """Store an issued certificate under its serial, for cert/<serial>, revocation and tidy."""
    record = CertRecord(
        serial=serial_text(certificate.serial_number),
        certificate=certificate_pem(certificate),
        issuer_id=issuer_id,
        not_after=not_after(certificate),
    )
    await store.save_cert(record)
    return record


async def new_key(store: PkiStore, key: PrivateKey, name: str) -> KeyEntry:
    """Store a new private key; its id is returned as key_id."""
    entry = KeyEntry(id=ids.new_uuid(), name=name, type=key_type_of(key), private_key=dump_key(key))
    await store.add_key(entry)
    return entry


async def issuer_name(store: PkiStore, data: FieldData, *, allow_empty: bool = False) -> str:
    """The issuer_name of a request, held to Vault's getIssuerName rules ("" when not supplied)."""
    value, supplied = data.get_ok("issuer_name")
    if not supplied:
        return ""
    name = str(value).strip()
    if not name:
        if allow_empty:
            return ""
        raise InvalidRequestError("expected non-empty issuer name")
    if name.lower() == "default":
        raise InvalidRequestError("reserved keyword 'default' can not be used as issuer name")
    if not REF_NAME.fullmatch(name):
        raise InvalidRequestError("issuer name contained invalid characters")
    if await store.resolve_issuer(name) is not None:
        raise InvalidRequestError(ISSUER_NAME_IN_USE)
    return name


async def key_name(store: PkiStore, data: FieldData) -> str:
    """The key_name of a request, held to Vault's getKeyName rules ("" when not supplied)."""
    value, supplied = data.get_ok("key_name")
    name = str(value).strip() if supplied else ""
    if not supplied:
        return ""
    if name.lower() == "default":
        raise InvalidRequestError("reserved keyword 'default' can not be used as key name")
    if not REF_NAME.fullmatch(name):
        raise InvalidRequestError("key name contained invalid characters")
    if await store.resolve_key(name) is not None:
        raise InvalidRequestError("key name already in use")
    return name


async def new_issuer(
    store: PkiStore,
    certificate: x509.Certificate,
    key_id: str,
    name: str,
    parents: tuple[str, ...] = (),
    *,
    revocation_signature_algorithm: str = "",
) -> Issuer:
    """Store a CA certificate as an issuer (default when it is the mount's first) with a fresh CRL."""
    pem = certificate_pem(certificate) + "\n"
    issuer = Issuer(
        id=ids.new_uuid(),
        name=name,
        key_id=key_id,
        certificate=pem,
        ca_chain=(pem, *parents),
        revocation_signature_algorithm=revocation_signature_algorithm,
    )
    await store.save_issuer(issuer)
    await remember(store, certificate, issuer.id)
    if key_id:
        await store.rebuild_crl(issuer.id)
    return issuer


def issuer_summary(issuer: Issuer, is_default: bool) -> Mapping[str, Any]:
    """An issuer as LIST issuers shows it under key_info."""
    certificate = x509.load_pem_x509_certificate(issuer.certificate.encode())
    return {
        "is_default": is_default,
        "issuer_name": issuer.name,
        "key_id": issuer.key_id,
        "serial_number": serial_text(certificate.serial_number),
    }
