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

from strongroom.builtin.secrets.pki import common
from strongroom.builtin.secrets.pki.certs import (
    Template,
    Urls,
    build_certificate,
    build_csr,
    certificate_pem,
    common_name_of,
    csr_public_key,
    load_certificates,
    load_csr,
    not_after,
)
from strongroom.builtin.secrets.pki.issuing import check_format, parse_ips, validity
from strongroom.builtin.secrets.pki.keys import (
    encode_key,
    generate_key,
    key_type_of,
    pem_text,
    validate_key_params,
)
from strongroom.builtin.secrets.pki.names import is_hostname
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response, SystemView
from strongroom.util.clock import Clock

EXPORTED_FIELD = Field(FieldType.STRING, 'Must be "internal" or "exported".')
EXPORTED_ERROR = 'the "exported" path parameter must be "internal", "existing", exported" or "kms"'


def _exported(data: FieldData) -> bool:
    kind = data.get("exported")
    if kind not in ("internal", "exported", "existing", "kms"):
        raise InvalidRequestError(EXPORTED_ERROR)
    if kind in ("existing", "kms"):
        raise InvalidRequestError(f'"{kind}" keys are not supported by this server')
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

    def ca_validity(data: FieldData, ca_not_after: float | None) -> tuple[float, float, tuple[str, ...]]:
        valid = validity(
            now=clock.now(),
            requested_ttl=data.get("ttl"),
            role_ttl=0,
            role_max_ttl=0,
            default_ttl=system.default_lease_ttl(),
            system_max_ttl=system.max_lease_ttl(),
            not_before_duration=data.get("not_before_duration"),
            ca_not_after=ca_not_after,
        )
        return valid.not_before, valid.not_after, valid.warnings

    async def generate_root(request: Request, data: FieldData) -> Response | None:
        exported = _exported(data)
        output = data.get("format")
        check_format(output)
        pkcs8 = common.check_pkcs8(data)
        common.refuse_unsupported(data, "other_sans", "use_pss", "permitted_dns_domains", "not_after")
        key_type, key_bits = validate_key_params(data.get("key_type"), data.get("key_bits"))
        async with store.lock:
            name = data.get("issuer_name")
            await common.check_issuer_name(store, name)
            not_before, expiry, warnings = ca_validity(data, None)
            urls = await store.urls()
            key = generate_key(key_type, key_bits)
            template = _ca_template(data, not_before, expiry, urls)
            certificate = build_certificate(template, key.public_key(), key, None)
            entry = await common.new_key(store, key, data.get("key_name"))
            issuer = await common.new_issuer(store, certificate, entry.id, name)
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
        key_type, key_bits = validate_key_params(data.get("key_type"), data.get("key_bits"))
        key = generate_key(key_type, key_bits)
        now = clock.now()
        csr = build_csr(_ca_template(data, now, now, Urls()), key)
        entry = await common.new_key(store, key, data.get("key_name"))
        der = csr.public_bytes(Encoding.DER)
        csr_text = base64.b64encode(der).decode() if output == "der" else pem_text("CERTIFICATE REQUEST", der)
        answer: dict[str, object] = {"csr": csr_text, "key_id": entry.id}
        if exported:
            answer["private_key"] = encode_key(key, output, pkcs8=pkcs8)
            answer["private_key_type"] = key_type_of(key)
        return Response(data=dict(sorted(answer.items())))

    async def set_signed(request: Request, data: FieldData) -> Response | None:
        bundle = load_certificates(data.get("certificate"))
        certificate = bundle[0]
        parents = tuple(certificate_pem(parent) + "\n" for parent in bundle[1:])
        async with store.lock:
            for issuer in await store.issuers():
                if issuer.certificate.strip() == certificate_pem(certificate):
                    return Response(data=_import_answer([], [issuer.id], {issuer.id: issuer.key_id}))
            entry = await store.key_for(certificate)
            if not parents:
                parents = await _known_chain(store, certificate)
            issuer = await common.new_issuer(store, certificate, entry.id if entry else "", "", parents)
        warnings = () if (await store.urls()).issuing_certificates else (common.AIA_WARNING,)
        answer = _import_answer([issuer.id], [], {issuer.id: issuer.key_id})
        return Response(data=answer, warnings=warnings)

    async def sign_intermediate(request: Request, data: FieldData) -> Response | None:
        output = data.get("format")
        check_format(output)
        csr = load_csr(data.get("csr"))
        signing = await store.signing_issuer(data.get("issuer_ref") or "default")
        if not data.get("common_name") and not data.get("use_csr_values"):
            raise InvalidRequestError("the common_name field is required")
        not_before, expiry, warnings = ca_validity(data, not_after(signing.certificate))
        template = _ca_template(data, not_before, expiry, await store.urls())
        if data.get("use_csr_values"):
            template = _with_csr_subject(template, csr)
        certificate = build_certificate(template, csr_public_key(csr), signing.key, signing.certificate)
        await common.remember(store, certificate, signing.issuer.id)
        answer = common.certificate_data(certificate, signing.issuer.ca_chain, output)
        return Response(data=answer, warnings=warnings)

    exported = {"exported": EXPORTED_FIELD}
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
        Path(
            "intermediate/set-signed",
            fields={"certificate": Field(FieldType.STRING, "PEM certificate (and optionally its chain).")},
            operations={Operation.UPDATE: set_signed},
            synopsis="Provide the signed intermediate CA cert.",
            description="Imports the signed intermediate as an issuer, matched with its stored key.",
        ),
        Path(
            "root/sign-intermediate",
            fields=sign_fields,
            operations={Operation.UPDATE: sign_intermediate},
            synopsis="Issue an intermediate CA certificate based on the provided CSR.",
            description="Signs a CSR as a CA certificate with the default (or the named) issuer.",
        ),
    ]


def _import_answer(imported: list[str], existing: list[str], mapping: dict[str, str]) -> dict[str, object]:
    return {
        "existing_issuers": existing or None,
        "existing_keys": None,
        "imported_issuers": imported or None,
        "imported_keys": None,
        "mapping": mapping,
    }


def _issuer_cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


async def _known_chain(store: PkiStore, certificate: x509.Certificate) -> tuple[str, ...]:
    """The chain of the mount's issuer that signed `certificate`, when there is one."""
    for issuer in await store.issuers():
        if _issuer_cert(issuer.certificate).subject == certificate.issuer:
            return issuer.ca_chain
    return ()


def _with_csr_subject(template: Template, csr: x509.CertificateSigningRequest) -> Template:
    return replace(template, common_name=common_name_of(csr.subject) or template.common_name)
