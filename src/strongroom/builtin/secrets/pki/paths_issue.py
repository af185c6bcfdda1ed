"""issue/<role>, sign/<role> and sign-verbatim: leaf certificates; and the "pki" secret type whose lease
revocation revokes the certificate (roles with generate_lease). Layer: builtin.

Imports framework, logical, errors, util and the engine's modules. A lease is not renewable: a certificate's
validity cannot be extended, so its lease lasts exactly as long as the certificate.

Invariant: the private key of issue/ is in that one response only; it is never stored.
"""

from __future__ import annotations

from dataclasses import replace

from cryptography import x509
from cryptography.x509.oid import NameOID

from strongroom.builtin.secrets.pki import common
from strongroom.builtin.secrets.pki.certs import (
    Template,
    build_certificate,
    common_name_of,
    csr_alt_names,
    csr_public_key,
    load_csr,
    not_after,
)
from strongroom.builtin.secrets.pki.issuing import (
    LeafTimes,
    NameRequest,
    check_format,
    leaf_template,
    leaf_validity,
)
from strongroom.builtin.secrets.pki.keys import (
    PrivateKey,
    PublicKey,
    generate_key,
    key_bits_of,
    key_type_of,
    normalize_serial,
)
from strongroom.builtin.secrets.pki.models import Role
from strongroom.builtin.secrets.pki.names import Requester
from strongroom.builtin.secrets.pki.paths_roles import checked_name
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path, SecretType
from strongroom.logical import Operation, Request, Response, Secret, SystemView
from strongroom.util.clock import Clock

SECRET_TYPE = "pki"
CSR_CN_WARNING = (
    'the common_name field was provided but the role is set with "use_csr_common_name" set to true'
)
CSR_FIELD = Field(FieldType.STRING, "PEM-format CSR to be signed.")
ROLE_FIELD = Field(FieldType.STRING, "The desired role with configuration for this request.")
ISSUING = "issuing-certificates"
# issuer/<ref>/... paths name the issuer in the path; the plain paths use the role's issuer_ref.
ISSUER_REF_FIELD = Field(FieldType.STRING, 'Reference to the issuer to use: an id, a name, or "default".')
_ISSUE_FIELDS = {
    **common.NAME_FIELDS,
    "role": ROLE_FIELD,
    "remove_roots_from_chain": Field(FieldType.BOOL, "Accepted for compatibility."),
    "user_ids": Field(
        FieldType.COMMA_STRING_LIST,
        "User IDs (subject UID attributes) of the certificate, as the role allows.",
    ),
    "not_after": Field(
        FieldType.STRING, "The notAfter of the certificate (RFC 3339), instead of a ttl, as the role allows."
    ),
    "not_before": Field(FieldType.STRING, "The notBefore of the certificate (RFC 3339), as the role allows."),
}
_VERBATIM_FIELDS = {
    **_ISSUE_FIELDS,
    "csr": CSR_FIELD,
    "key_usage": Field(
        FieldType.COMMA_STRING_LIST,
        "The key usages of the certificate.",
        ["DigitalSignature", "KeyAgreement", "KeyEncipherment"],
    ),
    "ext_key_usage": Field(FieldType.COMMA_STRING_LIST, "The extended key usages of the certificate."),
    "ext_key_usage_oids": Field(FieldType.COMMA_STRING_LIST, "Extended key usage OIDs of the certificate."),
}


def _path_issuer_ref(data: FieldData) -> str:
    """The issuer an issuer/<ref>/... path names; "" on the plain paths, which do not declare issuer_ref
    (so a request body cannot pick an issuer other than the role's)."""
    try:
        return str(data.get("issuer_ref"))
    except KeyError:
        return ""


def _verbatim_role(data: FieldData) -> Role:
    """sign-verbatim's role: any name, no hostname rules, the usages of the request."""
    return Role(
        name="",
        allow_any_name=True,
        enforce_hostnames=False,
        allowed_uri_sans=("*",),
        allowed_other_sans=("*",),
        allowed_serial_numbers=("*",),
        require_cn=False,
        cn_validations=("disabled",),
        key_type="any",
        key_bits=0,
        server_flag=False,
        client_flag=False,
        key_usage=tuple(data.get("key_usage")),
        ext_key_usage=tuple(data.get("ext_key_usage")),
        ext_key_usage_oids=tuple(data.get("ext_key_usage_oids")),
    )


def _csr_names(
    role: Role, csr: x509.CertificateSigningRequest, requested: NameRequest
) -> tuple[NameRequest, tuple[str, ...]]:
    """The names a sign request asks for: from the CSR where the role says so, else from the request."""
    warnings: tuple[str, ...] = ()
    common_name = requested.common_name
    if role.use_csr_common_name:
        if common_name:
            warnings = (CSR_CN_WARNING,)
        common_name = common_name_of(csr.subject)
    serials = csr.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    serial = requested.serial_number or (str(serials[0].value) if serials else "")
    user_ids = requested.user_ids or tuple(
        str(attribute.value) for attribute in csr.subject.get_attributes_for_oid(NameOID.USER_ID)
    )
    requested = replace(requested, serial_number=serial, user_ids=user_ids)
    if not role.use_csr_sans:
        return replace(requested, common_name=common_name), warnings
    dns, emails, ips, uris = csr_alt_names(csr)
    names = replace(
        requested,
        common_name=common_name,
        alt_names=(*dns, *emails),
        ip_sans=tuple(ips),
        uri_sans=tuple(uris),
        source="CSR",
    )
    return names, warnings


def leaf_names(data: FieldData) -> NameRequest:
    """The names an issue or sign request asks for, its user IDs included."""
    return replace(common.name_request(data), user_ids=tuple(data.get("user_ids")))


def requester_of(request: Request) -> Requester:
    """The caller's identity, for the role's identity templates."""
    caller = request.caller
    if caller is None or not caller.entity_id:
        return Requester()
    return Requester(caller.identity)


def _check_csr_key(role: Role, key: PublicKey) -> None:
    if role.key_type == "any":
        return
    if key_type_of(key) != role.key_type:
        raise InvalidRequestError(f"role requires keys of type {role.key_type}")
    bits = key_bits_of(key)
    if role.key_type != "ed25519" and bits < role.key_bits:
        raise InvalidRequestError(
            f"role requires a minimum of a {role.key_bits}-bit key, but CSR's key is {bits} bits"
        )


def paths(store: PkiStore, system: SystemView, clock: Clock) -> tuple[list[Path], SecretType]:
    """The issue and sign paths, and the secret type their leases are."""

    async def role_named(name: str) -> Role:
        role = await store.role(name)
        if role is None:
            raise InvalidRequestError(f"unknown role: {name}")
        return role

    async def issue_leaf(
        role: Role,
        data: FieldData,
        *,
        template: Template,
        public_key: PublicKey,
        key: PrivateKey | None,
        warnings: tuple[str, ...],
    ) -> Response:
        output = data.get("format")
        pkcs8 = common.check_pkcs8(data)
        try:
            signing = await store.signing_issuer(_path_issuer_ref(data) or role.issuer_ref, ISSUING)
        except InvalidRequestError as refused:
            # Vault's fetchCaSigningBundle words: a refused usage is an "error", a missing CA a "could not".
            reason = refused.errors[0]
            if reason.startswith("error while attempting"):
                raise InvalidRequestError(f"error fetching CA certificate: {reason}") from None
            raise InvalidRequestError(
                f"could not fetch the CA certificate (was one set?): {reason}"
            ) from None
        now = clock.now()
        valid = leaf_validity(
            role,
            LeafTimes(
                ttl=data.get("ttl"),
                not_after=data.get("not_after"),
                not_before=data.get("not_before"),
                honour_not_before=key is not None,
            ),
            now=now,
            default_ttl=system.default_lease_ttl(),
            system_max_ttl=system.max_lease_ttl(),
            ca_not_after=not_after(signing.certificate),
            leaf_not_after_behavior=signing.issuer.leaf_not_after_behavior,
        )
        timed = replace(template, not_before=valid.not_before, not_after=valid.not_after)
        timed = replace(timed, urls=await store.urls_for(signing.issuer))
        certificate = build_certificate(timed, public_key, signing.key, signing.certificate)
        if not role.no_store:
            await common.remember(store, certificate, signing.issuer.id)
        answer = common.certificate_data(certificate, signing.issuer.ca_chain, output, key, pkcs8=pkcs8)
        answer["not_before"] = int(valid.not_before)
        answer = dict(sorted(answer.items()))
        warnings = (*warnings, *valid.warnings)
        if not role.generate_lease:
            return Response(data=answer, warnings=warnings)
        remaining = max(1, int(valid.not_after - now))
        leased = pki_secret.response(
            answer, {"serial_number": answer["serial_number"]}, ttl=remaining, max_ttl=remaining
        )
        return leased.evolve(warnings=warnings)

    async def issue(request: Request, data: FieldData) -> Response | None:
        role = await role_named(checked_name(data, "role"))
        check_format(data.get("format"))
        if role.key_type == "any":
            raise InvalidRequestError(
                'role key type "any" not allowed for issuing certificates, only signing'
            )
        template = leaf_template(role, leaf_names(data), await store.urls(), requester_of(request))
        key = generate_key(role.key_type, role.key_bits)
        return await issue_leaf(
            role, data, template=template, public_key=key.public_key(), key=key, warnings=()
        )

    async def sign(request: Request, data: FieldData) -> Response | None:
        role = await role_named(checked_name(data, "role"))
        check_format(data.get("format"))
        csr = load_csr(data.get("csr"))
        public_key = csr_public_key(csr)
        _check_csr_key(role, public_key)
        names, warnings = _csr_names(role, csr, leaf_names(data))
        template = leaf_template(role, names, await store.urls(), requester_of(request))
        return await issue_leaf(
            role, data, template=template, public_key=public_key, key=None, warnings=warnings
        )

    async def sign_verbatim(request: Request, data: FieldData) -> Response | None:
        check_format(data.get("format"))
        base = _verbatim_role(data)
        if data.get("role"):
            stored = await role_named(checked_name(data, "role"))
            base = replace(
                base,
                ttl=stored.ttl,
                max_ttl=stored.max_ttl,
                generate_lease=stored.generate_lease,
                no_store=stored.no_store,
                issuer_ref=stored.issuer_ref,
            )
        csr = load_csr(data.get("csr"))
        names, _ = _csr_names(base, csr, NameRequest())
        template = leaf_template(base, names, await store.urls())
        return await issue_leaf(
            base, data, template=template, public_key=csr_public_key(csr), key=None, warnings=()
        )

    async def revoke_lease(request: Request, secret: Secret) -> Response | None:
        serial = normalize_serial(str(secret.internal.get("serial_number", "")))
        if await store.cert(serial) is not None:
            await store.revoke(serial, clock.now())
        return None

    pki_secret = SecretType(type=SECRET_TYPE, revoke=revoke_lease)
    issue_paths: list[Path] = []
    for prefix, extra in (("", {}), ("issuer/{issuer_ref}/", {"issuer_ref": ISSUER_REF_FIELD})):
        issue_paths += [
            Path(
                prefix + "issue/{role}",
                fields={**_ISSUE_FIELDS, **extra},
                operations={Operation.UPDATE: issue},
                synopsis="Request a certificate using a certain role with the provided details.",
                description="Generates a private key and a certificate for it, checked against the role.",
            ),
            Path(
                prefix + "sign/{role}",
                fields={**_ISSUE_FIELDS, **extra, "csr": CSR_FIELD},
                operations={Operation.UPDATE: sign},
                synopsis="Request certificates using a certain role with the provided details.",
                description="Signs a CSR; its names are checked against the role.",
            ),
            *(
                Path(
                    prefix + pattern,
                    fields={**_VERBATIM_FIELDS, **extra},
                    operations={Operation.UPDATE: sign_verbatim},
                    synopsis="Request certificates using a certain role with the provided details.",
                    description="Signs a CSR as it is: its names are not checked against any role.",
                )
                for pattern in ("sign-verbatim", "sign-verbatim/{role}")
            ),
        ]
    return issue_paths, pki_secret
