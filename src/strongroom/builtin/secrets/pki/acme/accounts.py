"""new-account and account/<kid>: creating, finding, updating and deactivating accounts, with external
account binding (RFC 8555 sections 7.3 and 7.3.4). Layer: builtin (logical and the ACME modules).

Invariant: an account is keyed by its key's thumbprint (one account per key and mount); an EAB binds at
most one account, and only in the directory it was made for.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from strongroom.builtin.secrets.pki.acme import jose
from strongroom.builtin.secrets.pki.acme.models import Account
from strongroom.builtin.secrets.pki.acme.problems import AcmeProblem
from strongroom.builtin.secrets.pki.acme.protocol import Protocol, Signed, require_account
from strongroom.logical import Response
from strongroom.util import ids
from strongroom.util.clock import Clock


def _typed(payload: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    value = payload.get(name, default)
    if not isinstance(value, kind):
        raise AcmeProblem("malformed", f"invalid type ({type(value).__name__}) for field '{name}'")
    return value


def _contacts(payload: dict[str, Any]) -> tuple[str, ...]:
    contacts = _typed(payload, "contact", list, [])
    for index, contact in enumerate(contacts):
        if not isinstance(contact, str):
            raise AcmeProblem("malformed", f"invalid type for field 'contact' item {index}")
    return tuple(contacts)


class Accounts:
    def __init__(self, protocol: Protocol, clock: Clock) -> None:
        self._protocol = protocol
        self._clock = clock

    def _answer(self, call: Signed, account: Account, *, status: int = 200, eab: Any = None) -> Response:
        location = call.directory.url("account", account.kid)
        body: dict[str, Any] = {"status": account.status, "orders": location + "/orders"}
        if account.contact:
            body["contact"] = list(account.contact)
        if eab:
            body["externalAccountBinding"] = eab
        return self._protocol.answer(call, body, status=status, location=location)

    async def handle(self, call: Signed) -> Response:
        """Both new-account and account/<kid> land here, as in OpenBao."""
        payload = call.payload
        contacts = _contacts(payload)
        agreed = _typed(payload, "termsOfServiceAgreed", bool, False)
        only_existing = _typed(payload, "onlyReturnExisting", bool, False)
        status = _typed(payload, "status", str, "")
        eab = _typed(payload, "externalAccountBinding", dict, {})
        if only_existing:
            return await self._search(call)
        if call.request.path.endswith("/new-account"):
            return await self._create(call, contacts, agreed, eab)
        return await self._update(call, contacts, status, eab)

    async def _existing(self, call: Signed) -> Account | None:
        account = await self._protocol.store.account_by_thumbprint(call.thumbprint)
        if account is None:
            return None
        if account.directory != call.directory.prefix:
            # One key, one account: a key registered in another directory cannot open a second account.
            raise AcmeProblem("malformed", "account part of different ACME directory path", lead=True)
        if call.directory.config.eab_policy == "always-required" and not account.eab_id:
            raise AcmeProblem("externalAccountRequired")
        return account

    async def _search(self, call: Signed) -> Response:
        account = await self._existing(call)
        if account is None:
            raise AcmeProblem("accountDoesNotExist", "an account with this key does not exist")
        return self._answer(call, account)

    async def _create(
        self, call: Signed, contacts: tuple[str, ...], agreed: bool, eab: dict[str, Any]
    ) -> Response:
        if call.account is not None:
            raise AcmeProblem("malformed", "cannot submit to newAccount with 'kid'")
        existing = await self._existing(call)
        if existing is not None:
            return self._answer(call, existing)
        eab_id = await self._verify_eab(call, eab) if eab else ""
        if call.directory.config.eab_required_for_new and not eab_id:
            raise AcmeProblem("externalAccountRequired")
        if eab_id and not await self._protocol.store.delete_eab(eab_id):
            raise AcmeProblem("unauthorized", "eab was already used")
        account = Account(
            kid=ids.new_uuid(),
            jwk=call.jwk,
            directory=call.directory.prefix,
            contact=contacts,
            terms_of_service_agreed=agreed,
            created=self._clock.now(),
            eab_id=eab_id,
        )
        await self._protocol.store.save_account(account, call.thumbprint)
        return self._answer(call, account, status=201, eab=eab)

    async def _verify_eab(self, call: Signed, eab: dict[str, Any]) -> str:
        """The id of the EAB whose HMAC signs this account's key (RFC 8555 7.3.4)."""
        jws = jose.parse_jws(eab)
        header = jws.header
        eab_id = header.get("kid")
        if not eab_id or not isinstance(eab_id, str):
            raise AcmeProblem("malformed", "invalid header: got missing required field 'kid'")
        if header.get("alg") not in jose.EAB_ALGORITHMS:
            raise AcmeProblem("malformed", "invalid header: unexpected value for 'algo'")
        expected = call.directory.request_url(call.request.path)
        if not header.get("url"):
            raise AcmeProblem("malformed", "missing required parameter 'url' in eab 'protected'")
        if header["url"] != expected:
            raise AcmeProblem("unauthorized", "invalid value for 'url' in eab 'protected'")
        if header.get("nonce"):
            raise AcmeProblem("malformed", "nonce should not be provided in eab 'protected'")
        stored = await self._protocol.store.eab(eab_id)
        if stored is None or stored.directory != call.directory.prefix:
            raise AcmeProblem("unauthorized", "failed to verify eab", lead=True)
        if not jose.verify_hmac(str(header["alg"]), stored.key, jws.signing_input, jws.signature):
            raise AcmeProblem("unauthorized", "failed to verify eab", lead=True)
        try:
            bound = orjson.loads(jws.payload)
        except orjson.JSONDecodeError:
            bound = None
        if bound != dict(call.jwk):
            raise AcmeProblem("malformed", "eab payload does not match outer JWK key")
        return eab_id

    async def _update(
        self, call: Signed, contacts: tuple[str, ...], status: str, eab: dict[str, Any]
    ) -> Response:
        account = require_account(call)
        if call.request.path.rsplit("/", 1)[-1] != account.kid:
            raise AcmeProblem("unauthorized", "account URL does not name the signing account", lead=True)
        if eab:
            raise AcmeProblem("malformed", "not allowed to update EAB data in accounts", lead=True)
        updated = account
        if "contact" in call.payload and contacts != account.contact:
            updated = replace(updated, contact=contacts)
        if status == "deactivated":
            updated = replace(updated, status="deactivated")
        if updated != account:
            await self._protocol.store.save_account(updated)
        return self._answer(call, updated)

    async def key_change(self, call: Signed) -> Response:
        """RFC 8555 7.3.5: the account's new key signs an inner JWS naming the account and its old key;
        the old key signs the request. Afterwards only the new key speaks for the account."""
        account = require_account(call)
        inner = jose.parse_jws(call.payload)
        header = inner.header
        if "kid" in header or not isinstance(header.get("jwk"), dict):
            raise AcmeProblem("malformed", "the inner JWS of a key change must carry a 'jwk' and no 'kid'")
        if "nonce" in header:
            raise AcmeProblem("malformed", "the inner JWS of a key change must not carry a 'nonce'")
        if header.get("url") != call.directory.request_url(call.request.path):
            raise AcmeProblem("malformed", "the inner JWS of a key change names another 'url'")
        algorithm = header.get("alg")
        new_key = jose.public_key(header["jwk"])
        if algorithm not in jose.ACCOUNT_ALGORITHMS or not jose.verify(
            str(algorithm), new_key, inner.signing_input, inner.signature
        ):
            raise AcmeProblem("malformed", "failed to verify the inner JWS of a key change")
        change = jose.payload_object(inner)
        if change.get("account") != call.directory.url("account", account.kid):
            raise AcmeProblem("malformed", "the key change names another account")
        old = change.get("oldKey")
        if not isinstance(old, dict) or jose.thumbprint(old) != jose.thumbprint(account.jwk):
            raise AcmeProblem("malformed", "the key change's 'oldKey' is not the account's key")
        new_thumbprint = jose.thumbprint(header["jwk"])
        store = self._protocol.store
        async with store.lock:
            holder = await store.account_by_thumbprint(new_thumbprint)
            if holder is not None:
                # RFC 8555 7.3.5: 409, pointing at the account that already holds the key.
                conflict = AcmeProblem("malformed", "the new key already belongs to an account")
                headers = self._protocol.headers(call.directory)
                headers["Location"] = call.directory.url("account", holder.kid)
                return replace(conflict.response(headers), status=409)
            updated = replace(account, jwk=dict(header["jwk"]))
            await store.rekey_account(updated, jose.thumbprint(account.jwk), new_thumbprint)
        return self._answer(call, updated)
