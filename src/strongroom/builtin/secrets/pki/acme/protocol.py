"""What every ACME endpoint shares: resolving the directory, reading and verifying the JWS (nonce, URL,
signature, account), and answering with Replay-Nonce and Link headers or a problem document.
Layer: builtin (framework, logical and the ACME modules).

Invariant: a signed request reaches its operation only after its nonce was redeemed, its "url" named this
very endpoint, and its signature verified with the account's stored key (kid) or the key it carries (jwk).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from strongroom.builtin.secrets.pki.acme import jose
from strongroom.builtin.secrets.pki.acme.directory import Directory, resolve
from strongroom.builtin.secrets.pki.acme.models import Account
from strongroom.builtin.secrets.pki.acme.nonces import Nonces
from strongroom.builtin.secrets.pki.acme.problems import AcmeDisabled, AcmeProblem
from strongroom.builtin.secrets.pki.acme.store import AcmeStore
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.framework import Field, FieldData, FieldType
from strongroom.framework.path import Handler
from strongroom.logical import Request, Response

JWS_FIELDS: dict[str, Field] = {
    "protected": Field(FieldType.STRING, "ACME request 'protected' value"),
    "payload": Field(FieldType.STRING, "ACME request 'payload' value"),
    "signature": Field(FieldType.STRING, "ACME request 'signature' value"),
}
DIRECTORY_FIELDS: dict[str, Field] = {
    "role": Field(FieldType.STRING, "The desired role for the acme request"),
    "issuer_ref": Field(FieldType.STRING, "Reference to an existing issuer name or issuer id"),
}
_EMPTY_DISABLED = Response(status=404, raw_body=b"")


@dataclass(frozen=True, slots=True)
class Signed:
    """A verified ACME request: whose key signed it, and what it asked."""

    directory: Directory
    request: Request
    data: FieldData
    key: jose.AccountKey
    jwk: Mapping[str, Any]
    payload: dict[str, Any]
    # True for POST-as-GET (an empty payload), which fetches instead of acting.
    empty: bool
    account: Account | None

    @property
    def thumbprint(self) -> str:
        return jose.thumbprint(self.jwk)


Plain = Callable[[Directory, Request, FieldData], Awaitable[Response]]
SignedOp = Callable[[Signed], Awaitable[Response]]


class Protocol:
    """The ACME machinery of one mount."""

    def __init__(self, pki: PkiStore, store: AcmeStore, nonces: Nonces) -> None:
        self.pki = pki
        self.store = store
        self.nonces = nonces

    async def _directory(self, request: Request, data: FieldData) -> Directory:
        return await resolve(
            self.store, self.pki, request.path, capture(data, "role"), capture(data, "issuer_ref")
        )

    def plain(self, operation: Plain) -> Handler:
        """An unsigned endpoint (directory, new-nonce)."""

        async def handler(request: Request, data: FieldData) -> Response | None:
            try:
                directory = await self._directory(request, data)
                return await operation(directory, request, data)
            except AcmeDisabled:
                return _EMPTY_DISABLED
            except AcmeProblem as problem:
                return problem.response({})

        return handler

    def signed(self, operation: SignedOp, *, account_required: bool = True) -> Handler:
        """A JWS-signed endpoint; with `account_required`, only a valid account's (kid) request passes."""

        async def handler(request: Request, data: FieldData) -> Response | None:
            try:
                directory = await self._directory(request, data)
            except AcmeDisabled:
                return _EMPTY_DISABLED
            except AcmeProblem as problem:
                return problem.response({})
            try:
                call = await self._verify(directory, request, data)
                if account_required:
                    require_account(call)
                return await operation(call)
            except AcmeProblem as problem:
                # RFC 8555 6.5: an error answer carries a fresh nonce too (badNonce ones must).
                return problem.response(self.headers(directory))

        return handler

    async def _verify(self, directory: Directory, request: Request, data: FieldData) -> Signed:
        jws = jose.parse_jws(request.data)
        header = jws.header
        kid, jwk = header.get("kid"), header.get("jwk")
        if kid and jwk:
            raise AcmeProblem(
                "malformed",
                "invalid header: got both account 'kid' and 'jwk' in the same message; expected only one",
            )
        if not kid and not jwk:
            raise AcmeProblem("malformed", "invalid header: got neither required fields of 'kid' nor 'jwk'")
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in jose.ACCOUNT_ALGORITHMS:
            raise AcmeProblem("malformed", "invalid header: unexpected value for 'algo'")
        account = None
        if kid:
            if not isinstance(kid, str):
                raise AcmeProblem("malformed", "invalid header: 'kid' is not a string")
            account = await self.store.account(kid.rsplit("/", 1)[-1])
            if account is None:
                raise AcmeProblem("accountDoesNotExist", "account not found")
            if account.directory != directory.prefix:
                raise AcmeProblem("malformed", "account part of different ACME directory path", lead=True)
            jwk = account.jwk
        key = jose.public_key(jwk)
        if not self.nonces.redeem(str(header.get("nonce", ""))):
            raise AcmeProblem("badNonce", "invalid or reused nonce")
        url, expected = header.get("url"), directory.request_url(request.path)
        if not url:
            raise AcmeProblem("malformed", "missing required parameter 'url' in 'protected'")
        if url != expected:
            raise AcmeProblem(
                "unauthorized", f"invalid value for 'url' in 'protected': got '{url}' expected '{expected}'"
            )
        if not jose.verify(str(algorithm), key, jws.signing_input, jws.signature):
            raise AcmeProblem("malformed", "failed to verify signature")
        assert isinstance(jwk, dict)
        return Signed(
            directory=directory,
            request=request,
            data=data,
            key=key,
            jwk=jwk,
            payload=jose.payload_object(jws),
            empty=not jws.payload,
            account=account,
        )

    def headers(self, directory: Directory, *links: str) -> dict[str, str]:
        """A fresh Replay-Nonce and the Link headers (the directory index always)."""
        return {"Replay-Nonce": self.nonces.issue(), "Link": ", ".join((*links, directory.index_link))}

    def answer(
        self,
        call: Signed,
        body: Mapping[str, Any],
        *,
        status: int = 200,
        location: str = "",
        links: tuple[str, ...] = (),
    ) -> Response:
        """A JSON answer to a signed request."""
        headers = self.headers(call.directory, *links)
        if location:
            headers["Location"] = location
        return Response(
            status=status, raw_body=orjson.dumps(body, option=orjson.OPT_SORT_KEYS), headers=headers
        )


def require_account(call: Signed) -> Account:
    """The valid account that signed `call`; a problem for a jwk-signed request or an unusable account."""
    account = call.account
    if account is None:
        raise AcmeProblem("malformed", "cannot process request without a 'kid'")
    if call.directory.config.eab_policy == "always-required" and not account.eab_id:
        raise AcmeProblem("externalAccountRequired")
    if account.status != "valid":
        raise AcmeProblem("unauthorized", f"account in status: {account.status}", lead=True)
    return account


def capture(data: FieldData, name: str) -> str:
    """A path capture's value; empty when the path has no such capture (a body cannot supply one)."""
    try:
        return str(data.get(name) or "")
    except KeyError:  # the path has no such capture
        return ""
