"""sign/<role> (certify a client's public key) and issue/<role> (make a key pair and certify it).

Layer: builtin. Imports framework, logical, errors, util and the engine's certs, keys, signing, store.
Invariant: the CA private key is read here only to sign; an issued private key leaves only in the answer
to the request that made it, never stored.
"""

from __future__ import annotations

from typing import Any

from strongroom.builtin.secrets.ssh import certs, keys, signing, store
from strongroom.builtin.secrets.ssh.common import NO_CA, role_name, storage_of, user_errors
from strongroom.builtin.secrets.ssh.keys import PublicKey, SshKeyError
from strongroom.builtin.secrets.ssh.models import SshRole
from strongroom.builtin.secrets.ssh.signing import SshRuleError
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response, SystemView
from strongroom.util.clock import Clock

TEMPLATE_WARNING = (
    "default_extension templating enabled with at least one extension requiring identity templating. "
    "However, this request lacked identity entity information, causing one or more extensions to be "
    "skipped from the generated certificate."
)

COMMON_FIELDS = {
    "role": Field(FieldType.STRING, "The desired role with configuration for this request."),
    "ttl": Field(FieldType.DURATION, "The requested lifetime; at most the role's max_ttl."),
    "valid_principals": Field(FieldType.STRING, "Comma-separated principals the certificate is valid for."),
    "cert_type": Field(FieldType.STRING, 'The type of certificate: "user" or "host".', "user"),
    "key_id": Field(FieldType.STRING, "The key ID of the certificate (if the role allows a choice)."),
    "critical_options": Field(FieldType.MAP, "Critical options the certificate should carry."),
    "extensions": Field(FieldType.MAP, "Extensions the certificate should carry."),
}
SIGN_FIELDS = {**COMMON_FIELDS, "public_key": Field(FieldType.STRING, "The SSH public key to sign.")}
ISSUE_FIELDS = {
    **COMMON_FIELDS,
    "key_type": Field(
        FieldType.STRING, "The type of key to make: rsa, ec or ed25519 (or an OpenSSH type).", "rsa"
    ),
    "key_bits": Field(FieldType.INT, "The size of the key to make (0: the type's default).", 0),
}


def paths(system: SystemView, clock: Clock) -> list[Path]:
    """The sign and issue paths."""

    async def certify(request: Request, data: FieldData, role: SshRole, public: PublicKey) -> Response:
        """Vault's pathSignIssueCertificateHelper: the certificate of `public` under `role`."""
        # Without an entity, Vault leaves identity templates as written.
        identity = request.caller.identity if request.caller and request.caller.entity_id else None
        name = role_name(data)
        key_id = signing.key_id(
            data.get("key_id"),
            role,
            role_name=name,
            display_name=request.caller.display_name if request.caller else "",
            public=public,
        )
        host = signing.host_certificate(data.get("cert_type"), role)
        requested, given = data.get_ok("valid_principals")
        principals = signing.principals(requested if given else None, role, host=host, identity=identity)
        requested_ttl, ttl_given = data.get_ok("ttl")
        ttl = signing.ttl(
            requested_ttl if ttl_given else None,
            role,
            default_ttl=system.default_lease_ttl(),
            max_ttl=system.max_lease_ttl(),
        )
        options = signing.critical_options(data.get("critical_options"), role)
        extensions, skipped = signing.extensions(data.get("extensions"), role, identity)
        issuer = await store.ca(storage_of(request))
        if issuer is None:
            raise InvalidRequestError(NO_CA)
        now = int(clock.now())
        signed = certs.sign(
            certs.CertificateRequest(
                public_key=public,
                key_id=key_id,
                principals=principals,
                host=host,
                valid_after=now - role.not_before_duration,
                valid_before=now + ttl,
                critical_options=options,
                extensions=extensions,
            ),
            keys.parse_private(issuer.private_key),
            role.algorithm_signer,
        )
        answer: dict[str, Any] = {
            "serial_number": format(signed.serial, "x"),
            "signed_key": signed.line,
            "issuer_id": issuer.issuer_id,
        }
        return Response(data=answer, warnings=(TEMPLATE_WARNING,) if skipped else ())

    @user_errors
    async def sign(request: Request, data: FieldData) -> Response | None:
        name = role_name(data)
        role = await store.role(storage_of(request), name)
        if role is None:
            raise InvalidRequestError(f"Unknown role: {name}")
        text: str = data.get("public_key")
        if not text:
            raise InvalidRequestError("missing public_key")
        try:
            public = keys.parse_public(text)
        except SshKeyError as exc:
            raise InvalidRequestError(f"failed to parse public_key as SSH key: {exc}") from None
        try:
            signing.check_key(public, role)
        except SshRuleError as exc:
            raise InvalidRequestError(f"public_key failed to meet the key requirements: {exc}") from None
        return await certify(request, data, role, public)

    @user_errors
    async def issue(request: Request, data: FieldData) -> Response | None:
        name = role_name(data)
        role = await store.role(storage_of(request), name)
        if role is None:
            raise InvalidRequestError(f"unknown role: {name}")
        key_type: str = data.get("key_type")
        key_bits: int = data.get("key_bits")
        signing.check_issue_spec(key_type, key_bits, role)
        pair = keys.generate(key_type, key_bits)
        response = await certify(request, data, role, keys.parse_public(pair.public_key))
        assert response.data is not None
        return response.evolve(
            data={**response.data, "private_key": pair.private_key, "private_key_type": key_type}
        )

    return [
        Path(
            "sign/{role}",
            fields=SIGN_FIELDS,
            operations={Operation.UPDATE: sign},
            synopsis="Request signing an SSH key using a certain role with the provided details.",
            description="Sign a client's public key; the answer's signed_key is the OpenSSH certificate.",
        ),
        Path(
            "issue/{role}",
            fields=ISSUE_FIELDS,
            operations={Operation.UPDATE: issue},
            synopsis="Request a certificate using a certain role with the provided details.",
            description="Make a key pair and sign its public half; the private key is in the answer only.",
        ),
    ]
