"""Response wrapping: a response put away in the cubbyhole of a single-use token, to be unwrapped once.

Layer: core. Imports tokens, logical, errors and util; times come from the token store's clock. The
cubbyhole of a token reaches it as a function (token hash -> that token's view of the cubbyhole mount),
which the core wires.

A wrapping token is a service token, an orphan, with only the built-in "response-wrapping" policy, one use
and an explicit max TTL equal to its TTL. Its cubbyhole holds, as the cubbyhole engine stores values:
    response    {"response": <the JSON body the client would have received>}
    wrapinfo    {"creation_ttl": ..., "creation_time": ..., "creation_path": ...}

Invariant: a wrapped response is handed out at most once: unwrap and rewrap take it out of the cubbyhole
under a lock before returning it, and the token is revoked with the request that used it.
Invariant: wrapping tokens and wrapped bodies never appear in reprs or error messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from strongroom.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from strongroom.logical import Operation, Request, Response, Storage, get_json, put_json
from strongroom.logical.envelope import envelope
from strongroom.tokens import TokenEntry, TokenParams, TokenStore, TokenType
from strongroom.util.clock import rfc3339

RESPONSE_WRAPPING_POLICY = "response-wrapping"
INVALID_TOKEN = "wrapping token is not valid or does not exist"
# The sys/ paths whose token (in the body, else X-Vault-Token) must be a wrapping token before anything else.
TOKEN_PATHS = frozenset({"sys/wrapping/lookup", "sys/wrapping/unwrap", "sys/wrapping/rewrap"})

CubbyholeOf = Callable[[str], Storage]
"""The cubbyhole view of the token with the given salted hash."""

_REFUSED = "error validating wrapping token: "
_RESPONSE = "response"
_WRAPINFO = "wrapinfo"


@dataclass(frozen=True, slots=True)
class WrapInfo:
    """What the client gets instead of the response: Vault's `wrap_info` block."""

    token: str = field(repr=False)
    accessor: str = field(repr=False)
    ttl: int
    creation_time: str
    creation_path: str
    wrapped_accessor: str = field(default="", repr=False)

    def to_json(self) -> dict[str, Any]:
        """The `wrap_info` object; `wrapped_accessor` only when a token was wrapped, as Vault omits it."""
        body: dict[str, Any] = {
            "token": self.token,
            "accessor": self.accessor,
            "ttl": self.ttl,
            "creation_time": self.creation_time,
            "creation_path": self.creation_path,
        }
        if self.wrapped_accessor:
            body["wrapped_accessor"] = self.wrapped_accessor
        return body


def is_wrapping_token(entry: TokenEntry) -> bool:
    """Vault's IsWrappingToken: the token holds the response-wrapping policy and nothing else."""
    return entry.policies == (RESPONSE_WRAPPING_POLICY,)


def wrapping_token_in(request: Request) -> tuple[str, bool]:
    """The token a sys/wrapping request names, and whether it came from the body (a third party's).

    Refuses, as Vault's validateWrappingToken does, a body token that is not a string or is empty, and a
    request with no token at all.
    """
    given = request.data.get("token")
    if given is not None:
        if not isinstance(given, str):
            raise PermissionDeniedError(
                "error validating wrapping token: could not decode token in request body"
            )
        if not given:
            raise PermissionDeniedError("error validating wrapping token: empty token in request body")
        return given, True
    if not request.client_token:
        raise PermissionDeniedError("error validating wrapping token: token is empty")
    return request.client_token, False


class Wrapping:
    """Creates wrapping tokens and serves lookup, unwrap and rewrap over them."""

    def __init__(self, tokens: TokenStore, cubbyhole: CubbyholeOf) -> None:
        self._tokens = tokens
        self._cubbyhole = cubbyhole
        self._claim = asyncio.Lock()

    def __repr__(self) -> str:
        return "Wrapping(<tokens>)"

    async def wrap(self, body: str, *, ttl: int, creation_path: str, wrapped_accessor: str = "") -> WrapInfo:
        """Put `body` (a rendered response) in the cubbyhole of a new wrapping token living `ttl` seconds."""
        token_id, entry = await self._tokens.create(
            TokenParams(
                policies=(RESPONSE_WRAPPING_POLICY,),
                num_uses=1,
                ttl=ttl,
                explicit_max_ttl=ttl,
                renewable=False,
                type=TokenType.SERVICE,
                path=creation_path,
            )
        )
        created = rfc3339(entry.creation_time)
        cubbyhole = self._cubbyhole(entry.id_hash)
        await put_json(
            cubbyhole,
            _WRAPINFO,
            {"creation_ttl": ttl, "creation_time": created, "creation_path": creation_path},
        )
        await put_json(cubbyhole, _RESPONSE, {_RESPONSE: body})
        return WrapInfo(
            token=token_id,
            accessor=entry.accessor,
            ttl=ttl,
            creation_time=created,
            creation_path=creation_path,
            wrapped_accessor=wrapped_accessor,
        )

    async def wrap_response(self, request: Request, response: Response | None) -> Response | None:
        """The answer to `request` when it asked for wrapping: `response` wrapped, or passed on when there is
        nothing to wrap (no response, or an error status) or wrapping was not asked for."""
        if not request.wrap_ttl or request.operation is Operation.HELP:
            return response
        if response is not None and response.wrap_info is not None:
            return response  # already wrapped by its handler (rewrap)
        if request.operation is Operation.LIST and not (response and (response.data or {}).get("keys")):
            # Vault refuses to wrap an empty listing, so no one unwraps a token only to find nothing.
            raise NotFoundError("unsupported path")
        if response is None or (response.status or 200) >= 400 or _is_bare(response):
            return response
        if response.raw_body is not None:
            try:
                body = response.raw_body.decode()
            except UnicodeDecodeError:
                raise InvalidRequestError("this response cannot be wrapped") from None
        else:
            body = orjson.dumps(envelope(response, request.id)).decode()
        info = await self.wrap(
            body,
            ttl=request.wrap_ttl,
            creation_path=request.path,
            wrapped_accessor=response.auth.accessor if response.auth else "",
        )
        return Response(wrap_info=info.to_json())

    async def validate(self, request: Request) -> None:
        """Vault's check before any sys/wrapping lookup, unwrap or rewrap: the named token must be a live
        wrapping token (InvalidRequestError otherwise; PermissionDeniedError when none is named)."""
        token, _ = wrapping_token_in(request)
        if await self._entry(token) is None:
            raise InvalidRequestError(INVALID_TOKEN)

    async def lookup(self, token: str) -> dict[str, Any]:
        """The creation time, TTL and path of a live wrapping token, without using it."""
        entry = await self._entry(token)
        info = None if entry is None else await get_json(self._cubbyhole(entry.id_hash), _WRAPINFO)
        if not isinstance(info, dict):
            raise InvalidRequestError(INVALID_TOKEN)
        return {
            "creation_path": info["creation_path"],
            "creation_time": info["creation_time"],
            "creation_ttl": info["creation_ttl"],
        }

    async def unwrap(self, token: str, *, third_party: bool) -> str:
        """The wrapped body. A third party's token (from the body) is used and revoked here; the caller's
        own token (X-Vault-Token) was used by authentication and is revoked when its request ends."""
        _, body = await self._consume(token, third_party=third_party)
        return body

    async def rewrap(self, token: str, *, third_party: bool) -> WrapInfo:
        """The wrapped body moved to a new wrapping token with the old one's TTL and creation path."""
        wrapinfo, body = await self._consume(token, third_party=third_party)
        return await self.wrap(
            body, ttl=int(wrapinfo["creation_ttl"]), creation_path=str(wrapinfo["creation_path"])
        )

    async def _entry(self, token: str) -> TokenEntry | None:
        entry = await self._tokens.lookup(token)
        return entry if entry is not None and is_wrapping_token(entry) else None

    async def _consume(self, token: str, *, third_party: bool) -> tuple[Mapping[str, Any], str]:
        """Take the wrapped body out of the token's cubbyhole: its wrapinfo and the body."""
        if third_party:
            entry = await self._tokens.use(token)
        else:
            entry = await self._tokens.lookup(token, include_pending=True)
        if entry is None or not is_wrapping_token(entry):
            raise InvalidRequestError(INVALID_TOKEN)
        cubbyhole = self._cubbyhole(entry.id_hash)
        try:
            async with self._claim:
                stored = await get_json(cubbyhole, _RESPONSE)
                wrapinfo = await get_json(cubbyhole, _WRAPINFO)
                if not isinstance(stored, dict) or not isinstance(wrapinfo, dict):
                    raise InvalidRequestError(INVALID_TOKEN)
                await cubbyhole.delete(_RESPONSE)
        finally:
            if third_party:
                await self._tokens.revoke(entry.id_hash)
        return wrapinfo, str(stored[_RESPONSE])


def _is_bare(response: Response) -> bool:
    """A response with nothing in it (the http layer answers 204): Vault has nothing to wrap either."""
    return (
        response.data is None
        and response.auth is None
        and not response.warnings
        and response.raw_body is None
        and response.status is None
    )
