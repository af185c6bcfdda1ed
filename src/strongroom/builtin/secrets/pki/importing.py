"""Importing PEM bundles into a mount (config/ca, intermediate/set-signed, keys/import): certificates
become issuers, private keys become keys, each matched with the other by public key, already known ones
reported rather than stored twice (Vault's pathImportIssuers, importIssuer and importKey). Layer: builtin.

Imports cryptography, errors, util and the engine's store, models, keys and certs; never the framework.
Callers hold `store.lock`.

Invariant: an imported private key is stored (encrypted by the barrier) and never answered back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from strongroom.builtin.secrets.pki.certs import certificate_der, certificate_pem
from strongroom.builtin.secrets.pki.keys import (
    PrivateKey,
    dump_key,
    key_type_of,
    load_key,
    public_key_der,
)
from strongroom.builtin.secrets.pki.models import ISSUER_USAGES, Issuer, KeyEntry
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError
from strongroom.util import ids

TOO_SHORT = (
    "provided data for import was too short; perhaps a path was passed to the API rather than the contents "
    "of a PEM file"
)
KEYLESS_DEFAULT = (
    "The default issuer has no key associated with it. Some operations like issuing certificates and "
    "signing CRLs will be unavailable with the requested default issuer until a key is imported or the "
    "default issuer is changed."
)
_BLOCK = re.compile(r"-----BEGIN ([^-\n]*)-----\r?\n(.*?)-----END \1-----", re.DOTALL)
_CERTIFICATE_BLOCKS = ("CERTIFICATE", "X509 CERTIFICATE")
_IGNORED_BLOCKS = ("CRL", "X509 CRL", "EC PARAMS", "EC PARAMETERS")


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import did: Vault's answer (imported/existing issuers and keys, issuer -> key) and the
    warnings about the mount's default issuer."""

    data: dict[str, Any]
    warnings: tuple[str, ...]


def pem_blocks(bundle: str) -> list[tuple[str, str]]:
    """Each PEM block of `bundle` as (type, PEM text); 400 naming the first block that is not PEM."""
    blocks: list[tuple[str, str]] = []
    rest = bundle
    while rest.strip():
        found = _BLOCK.search(rest)
        if found is None:
            raise InvalidRequestError(f"error when parsing block {len(blocks) + 1}: invalid PEM data")
        blocks.append((found.group(1), found.group(0).strip() + "\n"))
        rest = rest[found.end() :]
    return blocks


def _load_private_key(text: str) -> PrivateKey:
    try:
        return load_key(text)
    except (ValueError, TypeError):
        raise InvalidRequestError("unable to parse private key from the pem_bundle") from None
    except InvalidRequestError:
        raise InvalidRequestError("unsupported private key type within pem bundle") from None


async def attach_key(store: PkiStore, entry: KeyEntry) -> None:
    """Give a new key to the stored issuers that wait for it (same public key, no key yet); the first of
    them becomes the default issuer when the mount has none."""
    wanted = public_key_der(load_key(entry.private_key))
    for issuer in await store.issuers():
        if issuer.key_id:
            continue
        certificate = x509.load_pem_x509_certificate(issuer.certificate.encode())
        if public_key_der(certificate.public_key()) == wanted:  # type: ignore[arg-type]
            await store.save_issuer(replace(issuer, key_id=entry.id))


async def import_key(store: PkiStore, text: str, name: str) -> tuple[KeyEntry, bool]:
    """Store a PEM private key (or find it stored already: True); 400 when the name is taken."""
    key = _load_private_key(text)
    wanted = public_key_der(key)
    for entry in await store.keys():
        if public_key_der(load_key(entry.private_key)) == wanted:
            return entry, True
    if name and any(entry.name == name for entry in await store.keys()):
        raise InvalidRequestError(f"an existing key is using the requested key name value: {name}")
    entry = KeyEntry(id=ids.new_uuid(), name=name, type=key_type_of(key), private_key=dump_key(key))
    await store.add_key(entry)
    await attach_key(store, entry)
    return entry, False


async def import_issuer(store: PkiStore, text: str) -> tuple[Issuer, bool]:
    """Store a PEM CA certificate as an issuer (or find it stored already: True), linked to its stored key."""
    try:
        certificate = x509.load_pem_x509_certificate(text.encode())
        certificate.public_key()  # read lazily: a key that does not parse is a malformed certificate
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidRequestError("unable to parse certificate: malformed certificate") from None
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise InvalidRequestError("Refusing to import non-CA certificate")
    der = certificate_der(certificate)
    for issuer in await store.issuers():
        if certificate_der(x509.load_pem_x509_certificate(issuer.certificate.encode())) == der:
            return issuer, True
    entry = await store.key_for(certificate)
    try:
        usage_ext = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        crl_sign = usage_ext.crl_sign
    except x509.ExtensionNotFound:
        crl_sign = False
    pem = certificate_pem(certificate) + "\n"
    issuer = Issuer(
        id=ids.new_uuid(),
        name="",
        key_id=entry.id if entry is not None else "",
        certificate=pem,
        ca_chain=(pem,),
        usage=tuple(usage for usage in ISSUER_USAGES if crl_sign or usage != "crl-signing"),
    )
    await store.save_issuer(issuer)
    return issuer, False


async def import_bundle(store: PkiStore, bundle: str, *, keys_allowed: bool) -> Imported:
    """Import every certificate and (when allowed) key of a PEM bundle, then rebuild the issuers' chains."""
    if len(bundle) < 75:
        raise InvalidRequestError(TOO_SHORT)
    certificates: list[str] = []
    private_keys: list[str] = []
    for kind, text in pem_blocks(bundle):
        if kind in _CERTIFICATE_BLOCKS:
            certificates.append(text)
        elif kind not in _IGNORED_BLOCKS:
            private_keys.append(text)
    if private_keys and not keys_allowed:
        raise InvalidRequestError(
            "private keys found in the PEM bundle but not allowed by the path; use /issuers/import/bundle"
        )
    imported_keys: list[str] = []
    existing_keys: list[str] = []
    for index, text in enumerate(private_keys):
        try:
            entry, existed = await import_key(store, text, "")
        except InvalidRequestError as refused:
            raise InvalidRequestError(f"Error parsing key {index}: {refused.errors[0]}") from None
        (existing_keys if existed else imported_keys).append(entry.id)
    imported_issuers: list[str] = []
    existing_issuers: list[str] = []
    mapping: dict[str, str] = {}
    for index, text in enumerate(certificates):
        try:
            issuer, existed = await import_issuer(store, text)
        except InvalidRequestError as refused:
            raise InvalidRequestError(f"Error parsing issuer {index}: {refused.errors[0]}\n{text}") from None
        mapping[issuer.id] = issuer.key_id
        (existing_issuers if existed else imported_issuers).append(issuer.id)
    await store.rebuild_chains()
    warnings: list[str] = []
    with_keys = [issuer_id for issuer_id in imported_issuers if mapping[issuer_id]]
    if with_keys and (await store.issuers_config())["default_follows_latest_issuer"]:
        if len(with_keys) == 1:
            await store.set_default_issuer(with_keys[0])
        else:
            warnings.append(
                "Default issuer left unchanged: could not select new issuer automatically as multiple "
                "imported issuers had key material in Vault."
            )
    default_id = await store.default_issuer_id()
    if default_id and default_id in mapping and not mapping[default_id]:
        warnings.append(KEYLESS_DEFAULT)
    data = {
        "existing_issuers": existing_issuers or None,
        "existing_keys": existing_keys or None,
        "imported_issuers": imported_issuers or None,
        "imported_keys": imported_keys or None,
        "mapping": mapping,
    }
    return Imported(data, tuple(warnings))
