"""root/generate/<type>, intermediate/generate/<type>, intermediate/set-signed and root/sign-intermediate:
how a mount gets its CAs. Layer: builtin.

Imports framework, logical, errors, util and the engine's modules. A generated key is stored in the mount;
"exported" also returns it once, "internal" never does.

Invariant: a CA private key is returned only by the "exported" variants, in that one response.
"""

from __future__ import annotations

import base64
from dataclasses import replace

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from strongroom.builtin.secrets.pki import common, importing
from strongroom.builtin.secrets.pki.certs import (
    Template,
    Urls,
    build_certificate,
    build_csr,
    certificate_pem,
    common_name_of,
    csr_public_key,
    load_csr,
    not_after,
)
from strongroom.builtin.secrets.pki.issuing import check_format, parse_ips, validity
from strongroom.builtin.secrets.pki.keys import (
    PrivateKey,
    encode_key,
    generate_key,
    key_type_of,
    load_key,
    pem_text,
    validate_key_params,
)
from strongroom.builtin.secrets.pki.models import KeyEntry
from strongroom.builtin.secrets.pki.names import is_hostname
from strongroom.builtin.secrets.pki.paths_issuers import signature_algorithm_name
from strongroom.builtin.secrets.pki.signing import parse_self_issued, sign_self_issued_certificate
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError, NotFoundError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.backend import UNSUPPORTED_PATH
from strongroom.logical import Operation, Request, Response, SystemView
from strongroom.util.clock import Clock

EXPORTED_FIELD = Field(FieldType.STRING, '"internal", "exported" (the key is returned) or "existing".')
ISSUING = "issuing-certificates"
INTERMEDIATE_AIA_HINT = (
    " Since this certificate is an intermediate, it might be useful to regenerate this certificate after "
    "fixing this problem for the root mount."
)
DELETE_ROOT_WARNING = (
    "DELETE /root deletes all keys and issuers; prefer the new DELETE /key/:key_ref and DELETE "
    "/issuer/:issuer_ref for finer granularity, unless removal of all keys and issuers is desired."
)
OUTLIVES_CA_WARNING = (
    "The expiration time for the signed certificate is after the CA's expiration time. If the new "
    "certificate is not treated as a root, validation paths with the certificate past the issuing CA's "
    "expiration time will fail."
)
KEY_REF_FIELD = Field(
    FieldType.STRING, 'With "existing": the key to use ("default", an id or a name).', "default"
)
EXISTING_KEY_PARAMS = (
    "invalid parameter for the kms/existing path parameter, key_type nor key_bits arguments can be set in "
    "this mode"
)
EXPORTED_ERROR = 'the "exported" path parameter must be "internal", "existing", exported" or "kms"'


def _exported(data: FieldData) -> bool:
    kind = data.get("exported")
    if kind not in ("internal", "exported", "existing", "kms"):
        raise InvalidRequestError(EXPORTED_ERROR)
    if kind == "kms":
        raise InvalidRequestError('must specify "external_key_ref" on "kms"-typed generation requests')
    return bool(kind == "exported")


def _ca_template(data: FieldData, not_before: float, not_after_: float, urls: Urls) -> Template:
    names = common.name_request(data)
    # Vault lists a CA's common name among its DNS names only when it is a hostname ("My Root CA" is not).
    cn_is_dns = names.common_name and not names.exclude_cn_from_sans and is_hostname(names.common_name)
    dns = [names.common_name] if cn_is_dns else []
    dns += [name for name in names.alt_names if name not in dns and "@" not in name]
    return Template(
        common_name=names.common_name,
        not_before=not_before,
        not_after=not_after_,
        dns_names=tuple(dns),
        emails=tuple(name for name in names.alt_names if "@" in name),
        ip_addresses=parse_ips(names.ip_sans),
        uris=names.uri_sans,
        subject_extra={name: tuple(data.get(name)) for name in common.SUBJECT_FIELDS if data.get(name)},
        is_ca=True,
        max_path_length=data.get("max_path_length"),
        urls=urls,
    )


def paths(store: PkiStore, system: SystemView, clock: Clock) -> list[Path]:
    """The CA generation, intermediate and signing paths."""

    def ca_validity(
        data: FieldData, ca_not_after: float | None, behavior: str = "err"
    ) -> tuple[float, float, tuple[str, ...]]:
        valid = validity(
            now=clock.now(),
            requested_ttl=data.get("ttl"),
            role_ttl=0,
            role_max_ttl=0,
            default_ttl=system.default_lease_ttl(),
            system_max_ttl=system.max_lease_ttl(),
            not_before_duration=data.get("not_before_duration"),
            ca_not_after=ca_not_after,
            not_after_behavior=behavior,
        )
        return valid.not_before, valid.not_after, valid.warnings

    async def chosen_key(data: FieldData, name: str) -> tuple[PrivateKey, KeyEntry]:
        """The CA's key: a new one, stored (internal, exported), or the stored one key_ref names
        (existing). Called under the lock."""
        if data.get("exported") != "existing":
            key_type, key_bits = validate_key_params(data.get("key_type"), data.get("key_bits"))
            key = generate_key(key_type, key_bits)
            return key, await common.new_key(store, key, name)
        if "key_type" in data.raw or "key_bits" in data.raw:
            raise InvalidRequestError(EXISTING_KEY_PARAMS)
        ref = data.get("key_ref")
        entry = await store.resolve_key(ref)
        if entry is None:
            raise InvalidRequestError(
                f"failed to lookup public key from existing key: unable to find PKI key for reference: {ref}"
            )
        return load_key(entry.private_key), entry

    async def generate_root(request: Request, data: FieldData) -> Response | None:
        exported = _exported(data)
        output = data.get("format")
        check_format(output)
        pkcs8 = common.check_pkcs8(data)
        common.refuse_unsupported(data, "other_sans", "use_pss", "permitted_dns_domains", "not_after")
        async with store.lock:
            name = await common.issuer_name(store, data)
            key_name = await common.key_name(store, data)
            not_before, expiry, warnings = ca_validity(data, None)
            urls = await store.urls()
            template = _ca_template(data, not_before, expiry, urls)
            key, entry = await chosen_key(data, key_name)
            certificate = build_certificate(template, key.public_key(), key, None)
            issuer = await common.new_issuer(
                store,
                certificate,
                entry.id,
                name,
                revocation_signature_algorithm=signature_algorithm_name(certificate),
            )
            await store.follow_latest(issuer.id)
        answer = common.certificate_data(
            certificate, issuer.ca_chain, output, key if exported else None, pkcs8=pkcs8
        )
        del answer["ca_chain"]
        answer.update(issuer_id=issuer.id, issuer_name=issuer.name, key_id=entry.id, key_name=entry.name)
        if not urls.issuing_certificates and not urls.crl_distribution_points and not urls.ocsp_servers:
            warnings = (*warnings, common.AIA_WARNING)
        if not template.common_name:
            warnings = (*warnings, common.NO_SUBJECT_WARNING)
        return Response(data=dict(sorted(answer.items())), warnings=warnings)

    async def generate_intermediate(request: Request, data: FieldData) -> Response | None:
        exported = _exported(data)
        output = data.get("format")
        check_format(output)
        pkcs8 = common.check_pkcs8(data)
        now = clock.now()
        template = _ca_template(data, now, now, Urls())
        async with store.lock:
            key, entry = await chosen_key(data, await common.key_name(store, data))
        csr = build_csr(template, key)
        der = csr.public_bytes(Encoding.DER)
        csr_text = base64.b64encode(der).decode() if output == "der" else pem_text("CERTIFICATE REQUEST", der)
        answer: dict[str, object] = {"csr": csr_text, "key_id": entry.id}
        if exported:
            answer["private_key"] = encode_key(key, output, pkcs8=pkcs8)
            answer["private_key_type"] = key_type_of(key)
        urls = await store.urls()
        warnings = () if urls != Urls() else (common.AIA_WARNING + INTERMEDIATE_AIA_HINT,)
        return Response(data=dict(sorted(answer.items())), warnings=warnings)

    async def imported_answer(imported: importing.Imported) -> Response:
        warnings = imported.warnings
        if await store.urls() == Urls():
            warnings = (*warnings, common.AIA_WARNING)
        return Response(data=imported.data, warnings=warnings)

    async def import_pem(request: Request, data: FieldData) -> Response | None:
        bundle, certificate = _declared(data, "pem_bundle"), _declared(data, "certificate")
        if not bundle and not certificate:
            raise InvalidRequestError("'pem_bundle' and 'certificate' parameters were empty")
        if bundle and certificate:
            raise InvalidRequestError("'pem_bundle' and 'certificate' parameters were both provided")
        async with store.lock:
            imported = await importing.import_bundle(store, bundle or certificate, keys_allowed=bool(bundle))
        return await imported_answer(imported)

    async def import_issuers(request: Request, data: FieldData) -> Response | None:
        kind = data.get("kind")
        if kind not in ("cert", "bundle"):
            raise NotFoundError(UNSUPPORTED_PATH)
        bundle = data.get("pem_bundle")
        if not bundle:
            raise InvalidRequestError("'pem_bundle' and 'certificate' parameters were empty")
        async with store.lock:
            imported = await importing.import_bundle(store, bundle, keys_allowed=kind == "bundle")
        return await imported_answer(imported)

    async def replace_root(request: Request, data: FieldData) -> Response | None:
        ref = data.get("default")
        async with store.lock:
            issuer = await store.resolve_issuer(ref) if ref and ref != "default" else None
            if issuer is None:
                raise InvalidRequestError(
                    f"Error resolving issuer reference: unable to find PKI issuer for reference: {ref}"
                )
            await store.set_default_issuer(issuer.id)
            return Response(data=await store.issuers_config())

    async def delete_root(request: Request, data: FieldData) -> Response | None:
        async with store.lock:
            for issuer in await store.issuers():
                await store.delete_issuer(issuer.id)
            for entry in await store.keys():
                await store.delete_key(entry.id)
        return Response(data=None, warnings=(DELETE_ROOT_WARNING,))

    async def sign_intermediate(request: Request, data: FieldData) -> Response | None:
        output = data.get("format")
        check_format(output)
        csr = load_csr(data.get("csr"))
        signing = await store.signing_issuer(data.get("issuer_ref") or "default", ISSUING)
        if not data.get("common_name") and not data.get("use_csr_values"):
            raise InvalidRequestError("the common_name field is required")
        not_before, expiry, warnings = ca_validity(
            data, not_after(signing.certificate), signing.issuer.leaf_not_after_behavior
        )
        template = _ca_template(data, not_before, expiry, await store.urls_for(signing.issuer))
        if data.get("use_csr_values"):
            template = _with_csr_subject(template, csr)
        certificate = build_certificate(template, csr_public_key(csr), signing.key, signing.certificate)
        await common.remember(store, certificate, signing.issuer.id)
        answer = common.certificate_data(certificate, signing.issuer.ca_chain, output)
        # Vault's chain of a signed CA starts with the new CA itself.
        answer["ca_chain"] = [answer["certificate"], *answer["ca_chain"]]
        if expiry > not_after(signing.certificate):
            warnings = (*warnings, OUTLIVES_CA_WARNING)
        if template.urls == Urls():
            warnings = (*warnings, common.AIA_WARNING)
        return Response(data=answer, warnings=warnings)

    async def sign_self_issued(request: Request, data: FieldData) -> Response | None:
        certificate = parse_self_issued(data.get("certificate"))
        signing = await store.signing_issuer(data.get("issuer_ref") or "default", ISSUING)
        signed = sign_self_issued_certificate(
            certificate,
            signing.certificate,
            signing.key,
            await store.urls_for(signing.issuer),
            require_matching_algorithms=data.get("require_matching_certificate_algorithms"),
        )
        return Response(
            data={"certificate": certificate_pem(signed), "issuing_ca": signing.issuer.certificate.strip()}
        )

    exported = {"exported": EXPORTED_FIELD, "key_ref": KEY_REF_FIELD}
    sign_fields = {
        **common.CA_FIELDS,
        "csr": Field(FieldType.STRING, "PEM-format CSR to be signed."),
        "issuer_ref": Field(FieldType.STRING, "Reference to the issuer to sign with.", "default"),
        "use_csr_values": Field(FieldType.BOOL, "If true, the CSR's subject and names are used."),
    }
    return [
        Path(
            "root/generate/{exported}",
            fields={**common.CA_FIELDS, **exported},
            operations={Operation.UPDATE: generate_root},
            synopsis="Generate a new CA certificate and private key used for signing.",
            description='Generates a self-signed root CA; "exported" also returns its private key.',
        ),
        Path(
            "intermediate/generate/{exported}",
            fields={**common.CA_FIELDS, **exported},
            operations={Operation.UPDATE: generate_intermediate},
            synopsis="Generate a new CSR and private key used for signing.",
            description="Generates a key and a CSR for an intermediate CA; sign it, then set-signed.",
        ),
        *(
            Path(
                pattern,
                fields={**common.CA_FIELDS, **exported},
                operations={Operation.UPDATE: generate_root},
                synopsis="Generate a new CA certificate and private key used for signing.",
                description="Generates a new self-signed root beside the current ones (the default is kept).",
            )
            for pattern in ("root/rotate/{exported}", "issuers/generate/root/{exported}")
        ),
        Path(
            "issuers/generate/intermediate/{exported}",
            fields={**common.CA_FIELDS, **exported},
            operations={Operation.UPDATE: generate_intermediate},
            synopsis="Generate a new CSR and private key used for signing.",
            description="Generates a key and a CSR for an intermediate CA; sign it, then import it.",
        ),
        Path(
            "issuers/import/{kind}",
            fields={
                "kind": Field(FieldType.STRING, '"cert" (certificates only) or "bundle" (keys too).'),
                "pem_bundle": Field(FieldType.STRING, "PEM-format certificates (and, for bundle, keys)."),
            },
            operations={Operation.UPDATE: import_issuers},
            synopsis="Import the specified issuing certificates.",
            description="Imports the certificates (and keys) of a PEM bundle as issuers (and keys).",
        ),
        Path(
            "root/replace",
            fields={
                "default": Field(FieldType.STRING, "Reference to the issuer to make the default.", "next")
            },
            operations={Operation.UPDATE: replace_root},
            synopsis="Read and set the default issuer certificate for signing.",
            description='Makes the named issuer (by default the one named "next") the default.',
        ),
        Path(
            "root",
            operations={Operation.DELETE: delete_root},
            synopsis="Deletes the root CA key to allow a new one to be generated.",
            description="Deletes every issuer and key of the mount.",
        ),
        Path(
            "intermediate/set-signed",
            fields={"certificate": Field(FieldType.STRING, "PEM certificate (and optionally its chain).")},
            operations={Operation.UPDATE: import_pem},
            synopsis="Provide the signed intermediate CA cert.",
            description="Imports the signed intermediate (and its chain) as issuers, matched with keys.",
        ),
        Path(
            "config/ca",
            fields={
                "pem_bundle": Field(
                    FieldType.STRING, "PEM-format, concatenated unencrypted secret-key and certificates."
                )
            },
            operations={Operation.UPDATE: import_pem},
            synopsis="Set the CA certificate and private key used for generated credentials.",
            description="Imports the certificates and keys of a PEM bundle as issuers and keys.",
        ),
        *(
            Path(
                pattern,
                fields=sign_fields,
                operations={Operation.UPDATE: sign_intermediate},
                synopsis="Issue an intermediate CA certificate based on the provided CSR.",
                description="Signs a CSR as a CA certificate with the default (or the named) issuer.",
            )
            for pattern in ("root/sign-intermediate", "issuer/{issuer_ref}/sign-intermediate")
        ),
        *(
            Path(
                pattern,
                fields={
                    "issuer_ref": sign_fields["issuer_ref"],
                    "certificate": Field(
                        FieldType.STRING, "PEM-format self-issued certificate to be signed."
                    ),
                    "require_matching_certificate_algorithms": Field(
                        FieldType.BOOL, "If true, the issuer's and the certificate's key types must match."
                    ),
                },
                operations={Operation.UPDATE: sign_self_issued},
                synopsis="Signs another CA's self-issued certificate.",
                description="Re-signs a self-issued CA certificate with this issuer (for root rollover).",
            )
            for pattern in ("root/sign-self-issued", "issuer/{issuer_ref}/sign-self-issued")
        ),
    ]


def _declared(data: FieldData, name: str) -> str:
    """A field config/ca (pem_bundle) or set-signed (certificate) declares; "" on the other path."""
    try:
        return str(data.get(name))
    except KeyError:
        return ""


def _with_csr_subject(template: Template, csr: x509.CertificateSigningRequest) -> Template:
    return replace(template, common_name=common_name_of(csr.subject) or template.common_name)
