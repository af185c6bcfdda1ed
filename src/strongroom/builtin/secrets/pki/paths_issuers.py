"""issuers/ (LIST), issuer/<ref> (read, update, patch, delete), issuer/<ref>/json|der|pem, and
config/issuers: the mount's CA certificates one by one. Layer: builtin.

Imports framework, logical, errors and the engine's modules. A reference (`<ref>`) is an issuer id, its
name, or "default" (config/issuers). As in Vault, an update sets every setting (what the request leaves out
takes its default, the name included); a patch changes only what it names.

Invariant: usage and leaf_not_after_behavior are checked here when set, and by the issuing paths when used.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import SignatureAlgorithmOID

from strongroom.builtin.secrets.pki import common
from strongroom.builtin.secrets.pki.certs import certificate_der, load_certificate
from strongroom.builtin.secrets.pki.models import ISSUER_USAGES, LEAF_NOT_AFTER_BEHAVIORS, Issuer
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.clock import rfc3339

NO_DEFAULT = "no default issuer currently configured"
BAD_LEAF_BEHAVIOR = (
    "Unknown value for field `leaf_not_after_behavior`. Possible values are `err`, `truncate`, and `permit`."
)
NO_CRL_SIGN = (
    "This issuer's underlying certificate lacks the CRLSign KeyUsage value; unable to set CRLSigningUsage "
    "on this issuer as a result."
)
REVOKED_ISSUING = (
    "This issuer was revoked; unable to modify its usage to include certificate signing again. Reissue "
    "this certificate (preferably with a new key) and modify that entry instead."
)
NO_KEY_DEFAULT = (
    "This selected default issuer has no key associated with it. Some operations like issuing certificates "
    "and signing CRLs will be unavailable with the requested default issuer until a key is imported or the "
    "default issuer is changed."
)
BAD_DEFAULT = "Invalid issuer specification; must be non-empty and can't be 'default'."
URL_SETTINGS = ("issuing_certificates", "crl_distribution_points", "ocsp_servers")
# Vault's certutil names: the lower-case spelling a request may use, and the one a read shows.
SIGNATURE_ALGORITHMS = {
    "sha256withrsa": "SHA256WithRSA",
    "sha384withrsa": "SHA384WithRSA",
    "sha512withrsa": "SHA512WithRSA",
    "ecdsawithsha256": "ECDSAWithSHA256",
    "ecdsawithsha384": "ECDSAWithSHA384",
    "ecdsawithsha512": "ECDSAWithSHA512",
    "sha256withrsapss": "SHA256WithRSAPSS",
    "sha384withrsapss": "SHA384WithRSAPSS",
    "sha512withrsapss": "SHA512WithRSAPSS",
    "pureed25519": "Ed25519",
    "ed25519": "Ed25519",
}
_OID_NAMES = {
    SignatureAlgorithmOID.RSA_WITH_SHA256: "SHA256WithRSA",
    SignatureAlgorithmOID.RSA_WITH_SHA384: "SHA384WithRSA",
    SignatureAlgorithmOID.RSA_WITH_SHA512: "SHA512WithRSA",
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ECDSAWithSHA256",
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ECDSAWithSHA384",
    SignatureAlgorithmOID.ECDSA_WITH_SHA512: "ECDSAWithSHA512",
    SignatureAlgorithmOID.ED25519: "Ed25519",
}
# Go's x509.SignatureAlgorithm names, for Vault's "unable to use issuer of type ..." refusal.
_GO_NAMES = {
    "SHA256WithRSA": "SHA256-RSA",
    "SHA384WithRSA": "SHA384-RSA",
    "SHA512WithRSA": "SHA512-RSA",
    "ECDSAWithSHA256": "ECDSA-SHA256",
    "ECDSAWithSHA384": "ECDSA-SHA384",
    "ECDSAWithSHA512": "ECDSA-SHA512",
    "SHA256WithRSAPSS": "SHA256-RSAPSS",
    "SHA384WithRSAPSS": "SHA384-RSAPSS",
    "SHA512WithRSAPSS": "SHA512-RSAPSS",
    "Ed25519": "Ed25519",
}


def signature_algorithm_name(certificate: x509.Certificate) -> str:
    """The name Vault gives the algorithm `certificate` is signed with ("" when it has none for it)."""
    return _OID_NAMES.get(certificate.signature_algorithm_oid, "")


async def find_issuer(store: PkiStore, ref: str) -> Issuer:
    """The issuer `ref` names, or 400 in Vault's words."""
    issuer = await store.resolve_issuer(ref)
    if issuer is None:
        raise InvalidRequestError(
            NO_DEFAULT if ref == "default" else f"unable to find PKI issuer for reference: {ref}"
        )
    return issuer


def issuer_data(issuer: Issuer) -> dict[str, Any]:
    """An issuer as issuer/<ref> reads it."""
    answer: dict[str, Any] = {
        "ca_chain": list(issuer.ca_chain),
        "certificate": issuer.certificate,
        "crl_distribution_points": list(issuer.crl_distribution_points),
        "delta_crl_distribution_points": [],
        "issuer_id": issuer.id,
        "issuer_name": issuer.name,
        "issuing_certificates": list(issuer.issuing_certificates),
        "key_id": issuer.key_id,
        "leaf_not_after_behavior": issuer.leaf_not_after_behavior,
        "manual_chain": list(issuer.manual_chain) or None,
        "ocsp_servers": list(issuer.ocsp_servers),
        "revocation_signature_algorithm": issuer.revocation_signature_algorithm,
        "revoked": issuer.revoked,
        "usage": ",".join(issuer.usage),
    }
    if issuer.revoked:
        answer["revocation_time"] = int(issuer.revocation_time)
        answer["revocation_time_rfc3339"] = rfc3339(issuer.revocation_time)
    if any(getattr(issuer, name) for name in URL_SETTINGS):
        # Vault's AIA entry of an issuer: the lists it was never given are null.
        for name in (*URL_SETTINGS, "delta_crl_distribution_points"):
            answer[name] = answer[name] or None
        answer["enable_aia_url_templating"] = False
    return answer


def parse_usage(names: list[str]) -> tuple[str, ...]:
    """Vault's NewIssuerUsageFromNames: each name toggles its usage; 400 naming the list otherwise."""
    chosen: set[str] = {"read-only"}  # Vault's read-only is no flag of its own: every issuer has it
    for name in names:
        if name not in ISSUER_USAGES:
            raise InvalidRequestError(
                f"Unable to parse specified usages: [{' '.join(names)}] - valid values are "
                f"{','.join(ISSUER_USAGES)}"
            )
        if name != "read-only":
            chosen ^= {name}
    return tuple(usage for usage in ISSUER_USAGES if usage in chosen)


def _signature_algorithm(issuer: Issuer, given: str) -> str:
    if not given:
        return ""
    name = SIGNATURE_ALGORITHMS.get(given.lower())
    if name is None:
        raise InvalidRequestError(
            f"Unknown signature algorithm value: 0 - valid values are {', '.join(SIGNATURE_ALGORITHMS)}"
        )
    key = load_certificate(issuer.certificate).public_key()
    if isinstance(key, rsa.RSAPublicKey):
        family, fits = "RSA", "WithRSA" in name
    elif isinstance(key, ec.EllipticCurvePublicKey):
        family, fits = "ECDSA", name.startswith("ECDSA")
    else:
        family, fits = "Ed25519", name == "Ed25519"
    if not fits:
        raise InvalidRequestError(
            f"unable to use issuer of type {family} to sign with {_GO_NAMES[name]} key type"
        )
    return name


def _checked_urls(name: str, urls: list[str]) -> tuple[str, ...]:
    for url in urls:
        parts = urlsplit(url)
        if not parts.scheme or not parts.netloc:
            raise InvalidRequestError(
                f"invalid URL found in Authority Information Access (AIA) parameter {name}: {url}"
            )
    return tuple(urls)


async def _manual_chain(store: PkiStore, issuer: Issuer, refs: list[str]) -> tuple[str, ...]:
    chain: list[str] = []
    for index, ref in enumerate(refs):
        target = issuer.id if index == 0 and ref == "self" else ref
        found = await find_issuer(store, target)
        if index == 0 and found.id != issuer.id:
            raise InvalidRequestError(
                f"expected first cert in chain to be a self-reference, but was: {ref}/{found.id}"
            )
        chain.append(found.id)
    return tuple(chain)


async def _changed(store: PkiStore, issuer: Issuer, data: FieldData, *, patch: bool) -> Issuer:
    """`issuer` with the settings of an update (every setting) or a patch (those supplied)."""

    def given(name: str) -> tuple[Any, bool]:
        value, supplied = data.get_ok(name)
        return (value, supplied) if patch else (data.get(name), True)

    changes: dict[str, Any] = {}
    if not patch or data.get_ok("issuer_name")[1]:
        try:
            changes["name"] = await common.issuer_name(store, data, allow_empty=patch)
        except InvalidRequestError as refused:
            if refused.errors[0] != common.ISSUER_NAME_IN_USE or data.get("issuer_name") != issuer.name:
                raise
            changes["name"] = issuer.name
    behavior, supplied = given("leaf_not_after_behavior")
    if supplied:
        if behavior not in LEAF_NOT_AFTER_BEHAVIORS:
            raise InvalidRequestError(BAD_LEAF_BEHAVIOR)
        changes["leaf_not_after_behavior"] = behavior
    names, supplied = given("usage")
    if supplied:
        usage = parse_usage(list(names))
        if usage != issuer.usage:
            if issuer.revoked and "issuing-certificates" in usage:
                raise InvalidRequestError(REVOKED_ISSUING)
            key_usage = _key_usage(load_certificate(issuer.certificate))
            if "crl-signing" in usage and not (key_usage and key_usage.crl_sign):
                raise InvalidRequestError(NO_CRL_SIGN)
        changes["usage"] = usage
    algorithm, supplied = given("revocation_signature_algorithm")
    if supplied:
        changes["revocation_signature_algorithm"] = _signature_algorithm(issuer, algorithm)
    for name in URL_SETTINGS:
        urls, supplied = given(name)
        if supplied:
            changes[name] = _checked_urls(name, list(urls))
    refs, supplied = given("manual_chain")
    if supplied:
        changes["manual_chain"] = await _manual_chain(store, issuer, list(refs))
    return replace(issuer, **changes)


def _key_usage(certificate: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def paths(store: PkiStore) -> list[Path]:
    """The issuer list, read, update and delete paths, and the default issuer's configuration."""

    async def list_issuers(request: Request, data: FieldData) -> Response | None:
        issuers = common.page(await store.issuers(), data)
        default_id = await store.default_issuer_id()
        info = {issuer.id: common.issuer_summary(issuer, issuer.id == default_id) for issuer in issuers}
        return Response(data={"keys": [issuer.id for issuer in issuers], "key_info": info})

    async def read_issuer(request: Request, data: FieldData) -> Response | None:
        return Response(data=issuer_data(await find_issuer(store, data.get("issuer_ref"))))

    async def write_issuer(request: Request, data: FieldData, *, patch: bool) -> Response:
        async with store.lock:
            issuer = await find_issuer(store, data.get("issuer_ref"))
            changed = await _changed(store, issuer, data, patch=patch)
            if changed != issuer:
                await store.save_issuer(changed)
                if changed.manual_chain != issuer.manual_chain:
                    await store.rebuild_chains()
                    changed = await find_issuer(store, changed.id)
        return Response(data=issuer_data(changed))

    async def update_issuer(request: Request, data: FieldData) -> Response | None:
        return await write_issuer(request, data, patch=False)

    async def patch_issuer(request: Request, data: FieldData) -> Response | None:
        return await write_issuer(request, data, patch=True)

    async def delete_issuer(request: Request, data: FieldData) -> Response | None:
        ref = data.get("issuer_ref")
        async with store.lock:
            issuer = await store.resolve_issuer(ref)
            if issuer is None:
                return Response(data=None)
            was_default = await store.delete_issuer(issuer.id)
            await store.rebuild_chains()
            references = [role.issuer_ref for role in await store.roles()]
        warnings = [
            f"{references.count(name)} roles reference {name}"
            for name in (issuer.name, issuer.id)
            if name and name in references
        ]
        if was_default:
            warnings.append(
                f"Deleted issuer {issuer.id} (via issuer_ref {ref}); this was configured as the default "
                "issuer. Operations without an explicit issuer will not work until a new default is "
                "configured."
            )
            if "default" in references:
                warnings.append(f"{references.count('default')} roles reference default")
        return Response(data=None, warnings=tuple(warnings))

    async def read_json(request: Request, data: FieldData) -> Response | None:
        issuer = await find_issuer(store, data.get("issuer_ref"))
        return Response(
            data={
                "ca_chain": list(issuer.ca_chain),
                "certificate": issuer.certificate,
                "issuer_id": issuer.id,
                "issuer_name": issuer.name,
            }
        )

    async def read_pem(request: Request, data: FieldData) -> Response | None:
        issuer = await find_issuer(store, data.get("issuer_ref"))
        return Response(
            raw_body=issuer.certificate.encode(), content_type="application/pem-certificate-chain"
        )

    async def read_der(request: Request, data: FieldData) -> Response | None:
        issuer = await find_issuer(store, data.get("issuer_ref"))
        der = certificate_der(load_certificate(issuer.certificate))
        return Response(raw_body=der, content_type="application/pkix-cert")

    async def read_config(request: Request, data: FieldData) -> Response | None:
        return Response(data=await store.issuers_config())

    async def write_config(request: Request, data: FieldData) -> Response | None:
        ref = data.get("default")
        if not ref or ref == "default":
            raise InvalidRequestError(BAD_DEFAULT)
        follows, follows_supplied = data.get_ok("default_follows_latest_issuer")
        async with store.lock:
            issuer = await store.resolve_issuer(ref)
            if issuer is None:
                raise InvalidRequestError(
                    f"Error resolving issuer reference: unable to find PKI issuer for reference: {ref}"
                )
            await store.set_default_issuer(issuer.id)
            if follows_supplied:
                await store.set_default_follows_latest_issuer(bool(follows))
            answer = await store.issuers_config()
        warnings = () if issuer.key_id else (NO_KEY_DEFAULT,)
        return Response(data=answer, warnings=warnings)

    ref_field = {"issuer_ref": Field(FieldType.STRING, 'An issuer id, name, or "default".', "default")}
    list_field = Field(FieldType.COMMA_STRING_LIST, "")
    update_fields = {
        **ref_field,
        "issuer_name": Field(FieldType.STRING, "A name for the issuer (unique within the mount)."),
        "leaf_not_after_behavior": Field(
            FieldType.STRING,
            'Behavior of a leaf whose NotAfter outlives the issuer: "err", "truncate" or "permit".',
            "err",
        ),
        "usage": Field(FieldType.COMMA_STRING_LIST, "The usages of this issuer.", list(ISSUER_USAGES)),
        "manual_chain": Field(FieldType.COMMA_STRING_LIST, 'Issuer references for the chain ("self" first).'),
        "revocation_signature_algorithm": Field(
            FieldType.STRING, "The signature algorithm of this issuer's CRLs and OCSP answers.", ""
        ),
        **{
            name: replace(list_field, description=f"This issuer's {name.replace('_', ' ')}.")
            for name in URL_SETTINGS
        },
        "delta_crl_distribution_points": Field(FieldType.COMMA_STRING_LIST, "Not supported."),
        "enable_aia_url_templating": Field(FieldType.BOOL, "Not supported."),
    }
    raw_paths = [
        Path(
            f"issuer/{{issuer_ref}}/{kind}",
            fields=ref_field,
            operations={Operation.READ: handler},
            synopsis="Fetch a single issuer certificate.",
            description=f"The issuer's certificate ({kind}).",
        )
        for kind, handler in (("json", read_json), ("pem", read_pem), ("der", read_der))
    ]
    return [
        Path(
            "issuers/?",
            fields=common.PAGE_FIELDS,
            operations={Operation.LIST: list_issuers},
            synopsis="Fetch a list of CA certificates.",
            description="Issuer ids, with each issuer's name, key and serial under key_info.",
        ),
        Path(
            "issuer/{issuer_ref}",
            fields=update_fields,
            operations={
                Operation.READ: read_issuer,
                Operation.UPDATE: update_issuer,
                Operation.PATCH: patch_issuer,
                Operation.DELETE: delete_issuer,
            },
            synopsis="Fetch a single issuer certificate.",
            description="The issuer's certificate, chain and settings; a write changes its settings.",
        ),
        *raw_paths,
        Path(
            "config/issuers",
            fields={
                "default": Field(FieldType.STRING, "Reference (name or identifier) to the default issuer."),
                "default_follows_latest_issuer": Field(
                    FieldType.BOOL, "Whether the default follows the latest generated or imported issuer."
                ),
            },
            operations={Operation.READ: read_config, Operation.UPDATE: write_config},
            synopsis="Read and set the default issuer certificate for signing.",
            description='The issuer used when a role\'s issuer_ref is "default".',
        ),
    ]
