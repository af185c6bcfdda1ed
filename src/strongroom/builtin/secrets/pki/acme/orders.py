"""Orders, authorizations, challenges, finalization, certificate download and revocation (RFC 8555
sections 7.4 to 7.6). Layer: builtin (cryptography, logical and the ACME and pki modules).

Invariant: an account sees and acts on its own orders, authorizations and certificates only; an order is
finalized only when every one of its authorizations is valid.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import secrets
from dataclasses import replace
from typing import Any

from cryptography import x509

from strongroom.builtin.secrets.pki.acme import issue
from strongroom.builtin.secrets.pki.acme.models import Authorization, Challenge, Identifier, Order
from strongroom.builtin.secrets.pki.acme.problems import AcmeProblem
from strongroom.builtin.secrets.pki.acme.protocol import Protocol, Signed, capture, require_account
from strongroom.builtin.secrets.pki.acme.validator import Validator
from strongroom.builtin.secrets.pki.certs import load_certificate
from strongroom.builtin.secrets.pki.keys import public_key_der, serial_text
from strongroom.builtin.secrets.pki.models import Role, storage_serial
from strongroom.builtin.secrets.pki.names import name_allowed
from strongroom.logical import Response, SystemView
from strongroom.util import ids
from strongroom.util.clock import Clock, rfc3339

ORDER_LIFETIME = 24 * 3600
# A DNS label as IDNA registration allows it in ASCII: letters, digits and inner hyphens, 63 at most.
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _identifiers(payload: dict[str, Any]) -> tuple[Identifier, ...]:
    raw = payload.get("identifiers")
    if raw is None:
        raise AcmeProblem("malformed", "missing required identifiers argument")
    if not isinstance(raw, list) or not raw:
        raise AcmeProblem("malformed", "invalid type for field 'identifiers'")
    found: list[Identifier] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise AcmeProblem("malformed", "invalid type for value in 'identifiers'")
        kind, value = entry.get("type"), entry.get("value")
        if not isinstance(kind, str) or not isinstance(value, str):
            raise AcmeProblem("malformed", "missing type or value argument for value in 'identifiers'")
        if not value:
            raise AcmeProblem("malformed", "value argument for value in 'identifiers' can not be blank")
        found.append(_identifier(kind, value))
    return tuple(found)


def _identifier(kind: str, value: str) -> Identifier:
    if kind == "ip":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise AcmeProblem(
                "malformed", f"value argument ({value}) failed validation: failed parsing as IP"
            ) from None
        return Identifier("ip", value, value)
    if kind != "dns":
        raise AcmeProblem("unsupportedIdentifier", f"unsupported identifier type {kind}")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        raise AcmeProblem(
            "malformed",
            f"refusing to accept argument ({value}) as DNS type identifier: parsed OK as IP address",
        )
    wildcard = value.startswith("*.")
    name = value[2:] if wildcard else value
    if not name.isascii():
        raise AcmeProblem("malformed", f"value argument ({value}) failed IDNA round-tripping to ASCII")
    labels = name.removesuffix(".").split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise AcmeProblem("malformed", f"value argument ({value}) failed validation")
    if wildcard:
        return Identifier("dns", name, value, wildcard=True)
    return Identifier("dns", value, value)


def _check_role(role: Role, identifier: Identifier) -> None:
    role_name = role.name or "sign-verbatim"
    if identifier.type == "dns" and not name_allowed(role, identifier.original):
        raise AcmeProblem(
            "rejectedIdentifier",
            f"role ({role_name}) will not issue certificate for name {identifier.original}",
            lead=True,
        )
    if identifier.type == "ip" and not role.allow_ip_sans:
        raise AcmeProblem(
            "rejectedIdentifier",
            f"role ({role_name}) does not allow IP sans, so cannot issue certificate for "
            f"{identifier.original}",
            lead=True,
        )


def _challenge_types(identifier: Identifier) -> tuple[str, ...]:
    """What may prove an identifier (OpenBao's choice): an IP only http-01, a wildcard only dns-01."""
    if identifier.type == "ip":
        return ("http-01",)
    return ("dns-01",) if identifier.wildcard else ("http-01", "dns-01", "tls-alpn-01")


class Orders:
    def __init__(self, protocol: Protocol, validator: Validator, system: SystemView, clock: Clock) -> None:
        self._protocol = protocol
        self._validator = validator
        self._system = system
        self._clock = clock

    # Shapes.
    def _order_body(self, call: Signed, order: Order) -> dict[str, Any]:
        url = call.directory.url("order", order.id)
        body: dict[str, Any] = {
            "status": order.status,
            "expires": rfc3339(order.expires),
            "identifiers": [{"type": i.type, "value": i.original} for i in order.identifiers],
            "authorizations": [call.directory.url("authorization", a) for a in order.authorizations],
            "finalize": url + "/finalize",
        }
        if order.status == "valid":
            body["certificate"] = url + "/cert"
        return body

    def _challenge_body(self, call: Signed, authz: Authorization, challenge: Challenge) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": challenge.type,
            "url": call.directory.url("challenge", authz.id, challenge.type),
            "status": challenge.status,
            "token": challenge.token,
        }
        if challenge.validated:
            body["validated"] = challenge.validated
        if challenge.error:
            body["error"] = dict(challenge.error)
        return body

    def _authz_body(self, call: Signed, authz: Authorization) -> dict[str, Any]:
        body: dict[str, Any] = {
            "identifier": {"type": authz.identifier.type, "value": authz.identifier.value},
            "status": authz.status,
            "wildcard": authz.identifier.wildcard,
            "challenges": [self._challenge_body(call, authz, c) for c in authz.challenges],
        }
        if authz.expires:
            body["expires"] = authz.expires
        return body

    # Loading, always through the signing account.
    async def _order(self, call: Signed) -> Order:
        account = require_account(call)
        order = await self._protocol.store.order(account.kid, call.data.get("order_id"))
        if order is None:
            raise AcmeProblem("malformed", "order does not exist")
        return replace(order, status=await self._status(order))

    async def _authz(self, call: Signed) -> Authorization:
        account = require_account(call)
        authz = await self._protocol.store.authorization(account.kid, call.data.get("auth_id"))
        if authz is None:
            raise AcmeProblem("malformed", "authorization does not exist")
        return authz

    async def _status(self, order: Order) -> str:
        """OpenBao's computeOrderStatus: from the authorizations while the order waits on them."""
        if order.status in ("invalid", "valid"):
            return order.status
        if self._clock.now() > order.expires:
            return "invalid"
        if order.status in ("ready", "processing"):
            return order.status
        statuses = []
        for authz_id in order.authorizations:
            authz = await self._protocol.store.authorization(order.account, authz_id)
            statuses.append(authz.status if authz is not None else "invalid")
        if any(status not in ("pending", "valid") for status in statuses):
            return "invalid"
        return "ready" if all(status == "valid" for status in statuses) else "pending"

    # Endpoints.
    async def new_order(self, call: Signed) -> Response:
        account = require_account(call)
        identifiers = _identifiers(call.payload)
        if "notBefore" in call.payload or "notAfter" in call.payload:
            raise AcmeProblem("malformed", "NotBefore and NotAfter are not supported", lead=True)
        for identifier in identifiers:
            _check_role(call.directory.role, identifier)
        authorizations = []
        for identifier in identifiers:
            authz = Authorization(
                id=ids.new_uuid(),
                account=account.kid,
                identifier=identifier,
                challenges=tuple(
                    Challenge(kind, secrets.token_urlsafe(21)) for kind in _challenge_types(identifier)
                ),
            )
            await self._protocol.store.save_authorization(authz)
            authorizations.append(authz.id)
        order = Order(
            id=ids.new_uuid(),
            account=account.kid,
            identifiers=identifiers,
            authorizations=tuple(authorizations),
            expires=self._clock.now() + ORDER_LIFETIME,
        )
        await self._protocol.store.save_order(order)
        location = call.directory.url("order", order.id)
        return self._protocol.answer(call, self._order_body(call, order), status=201, location=location)

    async def get_order(self, call: Signed) -> Response:
        order = await self._order(call)
        if order.status in ("valid", "invalid"):
            kept = []
            for authz_id in order.authorizations:
                authz = await self._protocol.store.authorization(order.account, authz_id)
                if authz is not None and authz.status == "valid":
                    kept.append(authz_id)
            order = replace(order, authorizations=tuple(kept))
        location = call.directory.url("order", order.id)
        return self._protocol.answer(call, self._order_body(call, order), location=location)

    async def list_orders(self, call: Signed) -> Response:
        account = require_account(call)
        owner = capture(call.data, "kid")
        if owner and owner != account.kid:
            raise AcmeProblem("unauthorized", "orders of another account", lead=True)
        urls = []
        for order_id in await self._protocol.store.order_ids(account.kid):
            order = await self._protocol.store.order(account.kid, order_id)
            if order is not None and await self._status(order) != "invalid":
                urls.append(call.directory.url("order", order_id))
        return self._protocol.answer(call, {"orders": urls})

    async def finalize(self, call: Signed) -> Response:
        csr = issue.parse_csr(call.payload)
        # Under the lock, so that two finalize calls racing on one order cannot both issue.
        async with self._protocol.store.lock:
            order = await self._order(call)
            if order.status != "ready":
                raise AcmeProblem(
                    "orderNotReady", f"order is status {order.status}, needs to be in ready state", lead=True
                )
            issue.check_matches_order(csr, order)
            certificate = await issue.sign(
                self._protocol.pki,
                call.directory,
                csr,
                account_key_der=public_key_der(call.key),
                system=self._system,
                clock=self._clock,
            )
            serial = serial_text(certificate.serial_number)
            await self._protocol.store.track_cert(order.account, storage_serial(serial), order.id)
            order = replace(
                order,
                status="valid",
                serial=serial,
                issuer_id=call.directory.issuer.id,
                cert_expiry=certificate.not_valid_after_utc.timestamp(),
            )
            await self._protocol.store.save_order(order)
        location = call.directory.url("order", order.id)
        return self._protocol.answer(call, self._order_body(call, order), location=location)

    async def certificate(self, call: Signed) -> Response:
        order = await self._order(call)
        if order.status != "valid":
            raise AcmeProblem(
                "orderNotReady", f"order is status {order.status}, needs to be in valid state", lead=True
            )
        record = await self._protocol.pki.cert(order.serial)
        issuer = await self._protocol.pki.issuer(order.issuer_id)
        if record is None or issuer is None:
            raise AcmeProblem("serverInternal", f"missing certificate {order.serial} from storage")
        chain = [record.certificate, *issuer.ca_chain]
        body = "".join(pem if pem.endswith("\n") else pem + "\n" for pem in chain).encode()
        return Response(
            raw_body=body,
            content_type="application/pem-certificate-chain",
            headers=self._protocol.headers(call.directory),
        )

    async def authorization(self, call: Signed) -> Response:
        authz = await self._authz(call)
        if call.payload:
            if call.payload.get("status") != "deactivated":
                raise AcmeProblem("malformed")
            async with self._protocol.store.lock:
                authz = await self._authz(call)
                if authz.status not in ("pending", "valid"):
                    raise AcmeProblem(
                        "malformed", f"unable to deactivate authorization in '{authz.status}' status"
                    )
                authz = replace(
                    authz,
                    status="deactivated",
                    challenges=tuple(replace(c, status="invalid") for c in authz.challenges),
                )
                await self._protocol.store.save_authorization(authz)
        return self._protocol.answer(call, self._authz_body(call, authz))

    async def challenge(self, call: Signed) -> Response:
        authz = await self._authz(call)
        kind = call.data.get("challenge_type")
        challenge = authz.challenge(kind)
        if challenge is None:
            raise AcmeProblem("malformed", f"unknown challenge of type '{kind}' in authorization")
        if call.payload:
            raise AcmeProblem("malformed", "unexpected request parameters")
        if not call.empty:  # "{}": the client says the challenge is ready to be checked
            resolver = call.directory.config.dns_resolver
            authz, challenge = await self._accept(authz, challenge, call.thumbprint, resolver)
        up = f'<{call.directory.url("authorization", authz.id)}>;rel="up"'
        return self._protocol.answer(call, self._challenge_body(call, authz, challenge), links=(up,))

    async def _accept(
        self, authz: Authorization, challenge: Challenge, thumbprint: str, resolver: str
    ) -> tuple[Authorization, Challenge]:
        async with self._protocol.store.lock:
            fresh = await self._protocol.store.authorization(authz.account, authz.id)
            if fresh is None:
                raise AcmeProblem("malformed", "authorization does not exist")
            authz = fresh
            current = authz.challenge(challenge.type)
            assert current is not None
            if authz.status != "pending":
                raise AcmeProblem(
                    "malformed",
                    f"cannot accept already validated authorization {authz.id} ({authz.status})",
                    lead=True,
                )
            for other in authz.challenges:
                if other.type != current.type and other.status != "pending":
                    raise AcmeProblem(
                        "malformed",
                        f"only a single challenge within an authorization can be accepted ({other.type})",
                        lead=True,
                    )
            if current.status == "processing":
                return authz, current
            if current.status != "pending":
                raise AcmeProblem("malformed", f"challenge is in invalid state ({current.status})", lead=True)
            current = replace(current, status="processing")
            authz = authz.with_challenge(current)
            await self._protocol.store.save_authorization(authz)
        await self._validator.accept(authz, current.type, thumbprint, resolver)
        return authz, current

    async def revoke(self, call: Signed) -> Response:
        encoded = call.payload.get("certificate")
        if encoded is None:
            raise AcmeProblem("malformed", "bad request was lacking required field 'certificate'")
        if not isinstance(encoded, str):
            raise AcmeProblem("malformed", "invalid type for field 'certificate'")
        try:
            der = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            certificate = x509.load_der_x509_certificate(der)
        except (binascii.Error, ValueError):
            raise AcmeProblem("malformed", "failed to parse certificate") from None
        reason = call.payload.get("reason", 0)
        if not isinstance(reason, int) or isinstance(reason, bool):
            raise AcmeProblem("malformed", "invalid type for field 'reason'")
        if reason != 0:
            raise AcmeProblem(
                "badRevocationReason",
                f"OpenBao does not support revocation reasons (got {reason}; expected omitted or "
                "0/unspecified)",
            )
        if certificate.not_valid_after_utc.timestamp() < self._clock.now():
            raise AcmeProblem("malformed", "refusing to revoke expired certificate")
        serial = serial_text(certificate.serial_number)
        record = await self._protocol.pki.cert(serial)
        if record is None:
            # OpenBao answers serverInternal (a 500) here; a certificate the mount never issued is the
            # client's mistake.
            raise AcmeProblem("malformed", "unable to revoke certificate: no global cert entry found")
        if load_certificate(record.certificate) != certificate:
            raise AcmeProblem(
                "malformed",
                "unable to revoke certificate: supplied certificate does not match CA's stored value",
            )
        if record.revocation_time:
            raise AcmeProblem("alreadyRevoked", "unable to revoke certificate")
        if call.account is None:
            if public_key_der(call.key) != public_key_der(certificate.public_key()):  # type: ignore[arg-type]
                raise AcmeProblem(
                    "malformed",
                    "unable to revoke certificate: unable to verify proof of possession of private key",
                )
        else:
            account = require_account(call)
            if not await self._protocol.store.issued_to(account.kid, storage_serial(serial)):
                raise AcmeProblem(
                    "malformed",
                    "unable to revoke certificate: no certificate with this serial was issued for this "
                    "account",
                )
        await self._protocol.pki.revoke(serial, self._clock.now())
        return self._protocol.answer(call, {})
