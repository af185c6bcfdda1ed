"""Endpoints that change the seal state or the keys: sys/init, sys/unseal, sys/seal, sys/rekey/*,
sys/generate-root/*.

They never pass through the request pipeline. sys/seal and sys/rekey check their token themselves (update
and sudo); generate-root is unauthenticated, as in Vault, because it exists for when no root token is left.
A listener serves sys/generate-root/* and sys/rekey/* only when its config turns them on
(`disable_unauthed_generate_root_endpoints = false`, `disable_unauthed_rekey_endpoints = false`); otherwise
they answer OpenBao's 405, and the authenticated sys/generate-root-token/* and sys/rotate/root/* of the
system backend take their place.
Invariant: unseal keys and the root token leave here only in the one init response; nothing is logged.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from strongroom import errors
from strongroom.core.keyholders import (
    GenerateRoot,
    Rekey,
    decode_key,
    encrypt_shares,
    holder_key,
    holder_keys,
)
from strongroom.http.translate import decode_body, token_from


class InitResultLike(Protocol):
    """What initialization hands back."""

    @property
    def keys(self) -> tuple[bytes, ...]: ...

    @property
    def root_token(self) -> str: ...

    @property
    def recovery(self) -> bool: ...


class Lifecycle(Protocol):
    """What these endpoints need of the core."""

    @property
    def auto_unseal(self) -> bool:
        """True when a static seal unseals the server (init then takes recovery shares)."""
        ...

    async def initialize(self, shares: int, threshold: int) -> InitResultLike:
        """Create the keys and the root token."""
        ...

    async def unseal(self, key: bytes) -> dict[str, Any]:
        """Give one key share; the seal status afterwards."""
        ...

    def reset_unseal(self) -> None:
        """Forget the shares given so far."""
        ...

    async def seal_status(self) -> dict[str, Any]:
        """Vault's sys/seal-status body."""
        ...

    async def seal_with_token(self, token: str) -> None:
        """Seal, if the token may."""
        ...

    async def require_sudo(self, token: str, path: str) -> None:
        """PermissionDeniedError unless the token may update `path` with sudo."""
        ...

    @property
    def rekey(self) -> Rekey:
        """The rekey operation."""
        ...

    @property
    def generate_root(self) -> GenerateRoot:
        """The root generation operation."""
        ...


@dataclass(frozen=True, slots=True)
class Unauthed:
    """Which unauthenticated key-holder endpoint families a listener serves (OpenBao's default: neither)."""

    generate_root: bool = False
    rekey: bool = False

    def refusal(self, method: str, path: str) -> errors.RequestError | None:
        """OpenBao's answer when `path` belongs to a family this listener has turned off, else None.

        OpenBao leaves those paths to its system backend, which lists sys/generate-root/* and sys/rekey/* as
        unauthenticated but has no handler for them (405 whoever asks) and has no sys/rekey-recovery-key
        paths at all (404). Other methods go on to the pipeline, as they do in OpenBao.
        """
        if method not in _METHODS:
            return None
        if (path in _GENERATE_ROOT_PATHS and not self.generate_root) or (
            path in _REKEY_PATHS and not self.rekey
        ):
            return errors.UnsupportedOperationError("unsupported operation")
        if path in _REKEY_RECOVERY_PATHS and not self.rekey:
            return errors.NotFoundError("unsupported path")
        return None


_METHODS = frozenset({"GET", "PUT", "POST", "DELETE"})
_GENERATE_ROOT_PATHS = frozenset({"/v1/sys/generate-root/attempt", "/v1/sys/generate-root/update"})
_REKEY_PATHS = frozenset(f"/v1/sys/rekey/{step}" for step in ("init", "update", "verify"))
_REKEY_RECOVERY_PATHS = frozenset(
    f"/v1/sys/rekey-recovery-key/{step}" for step in ("init", "update", "verify")
)

Handler = Callable[[Lifecycle, Mapping[str, Any], Mapping[str, str]], Awaitable[tuple[int, bytes]]]


async def serve(
    core: Lifecycle,
    method: str,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    unauthed: Unauthed,
) -> tuple[int, bytes] | None:
    """The answer when `method path` is one of these endpoints, else None."""
    refusal = unauthed.refusal(method, path.rstrip("/"))
    if refusal is not None:
        # Such a request reaches OpenBao's system backend, which a sealed server does not serve.
        if (await core.seal_status()).get("sealed", True):
            raise errors.ServiceUnavailableError("Vault is sealed")
        raise refusal
    handler = _ENDPOINTS.get((method, path.rstrip("/")))
    if handler is None:
        return None
    return await handler(core, decode_body(body), headers)


def _positive_int(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.InvalidRequestError(f"'{name}' must be a number")
    return value


async def _init(core: Lifecycle, data: Mapping[str, Any], _headers: Mapping[str, str]) -> tuple[int, bytes]:
    if not core.auto_unseal and (
        data.get("stored_shares") or data.get("recovery_shares") or data.get("recovery_pgp_keys")
    ):
        raise errors.InvalidRequestError("stored and recovery shares are not supported with a shamir seal")
    if core.auto_unseal and data.get("pgp_keys"):
        raise errors.InvalidRequestError("parameters pgp_keys not applicable to seal type static")
    # With a static seal the operator's shares are recovery shares, named as Vault names them.
    prefix = "recovery_" if core.auto_unseal else "secret_"
    shares, threshold = _positive_int(data, prefix + "shares"), _positive_int(data, prefix + "threshold")
    pgp_field = "recovery_pgp_keys" if core.auto_unseal else "pgp_keys"
    # Every key is checked before anything is created (OpenBao checks root_token_pgp_key only after it has
    # initialized, so a bad one there leaves a server whose keys were never shown).
    holders = holder_keys(data.get(pgp_field), pgp_field, shares, threshold)
    root_holder = holder_key(data.get("root_token_pgp_key"), "root_token_pgp_key")
    result = await core.initialize(shares, threshold)
    keys = encrypt_shares(holders, result.keys) if holders else result.keys
    hex_keys = [key.hex() for key in keys]
    b64_keys = [base64.b64encode(key).decode() for key in keys]
    body: dict[str, Any] = {
        "keys": [] if result.recovery else hex_keys,
        "keys_base64": [] if result.recovery else b64_keys,
    }
    if result.recovery:
        body |= {"recovery_keys": hex_keys, "recovery_keys_base64": b64_keys}
    body["root_token"] = (
        base64.b64encode(root_holder.encrypt(result.root_token.encode())).decode()
        if root_holder
        else result.root_token
    )
    return 200, orjson.dumps(body)


async def _unseal(core: Lifecycle, data: Mapping[str, Any], _headers: Mapping[str, str]) -> tuple[int, bytes]:
    if data.get("reset") is True:
        core.reset_unseal()
        return 200, orjson.dumps(await core.seal_status())
    key = data.get("key")
    if not isinstance(key, str) or not key:
        raise errors.InvalidRequestError(
            "'key' must be specified in request body as JSON, or 'reset' set to true"
        )
    return 200, orjson.dumps(await core.unseal(decode_key(key)))


async def _seal(core: Lifecycle, _data: Mapping[str, Any], headers: Mapping[str, str]) -> tuple[int, bytes]:
    await core.seal_with_token(token_from(headers))
    return 204, b""


def _share(data: Mapping[str, Any]) -> tuple[bytes, str]:
    key, nonce = data.get("key"), data.get("nonce")
    if not isinstance(key, str) or not key:
        raise errors.InvalidRequestError("'key' must be specified in request body as JSON")
    if not isinstance(nonce, str) or not nonce:
        raise errors.InvalidRequestError("'nonce' must be specified in request body as JSON")
    return decode_key(key), nonce


async def _rekey_status(
    core: Lifecycle, _data: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[int, bytes]:
    await core.require_sudo(token_from(headers), "sys/rekey/init")
    return 200, orjson.dumps(core.rekey.status())


async def _rekey_start(
    core: Lifecycle, data: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[int, bytes]:
    await core.require_sudo(token_from(headers), "sys/rekey/init")
    shares = _positive_int(data, "secret_shares")
    threshold = _positive_int(data, "secret_threshold")
    pgp_keys = data.get("pgp_keys")
    if pgp_keys is not None and not isinstance(pgp_keys, list):
        raise errors.InvalidRequestError(
            "json: cannot unmarshal string into Go struct field RekeyRequest.pgp_keys of type []string"
        )
    backup, verification = data.get("backup", False), data.get("require_verification", False)
    if not isinstance(backup, bool) or not isinstance(verification, bool):
        raise errors.InvalidRequestError("'backup' and 'require_verification' must be booleans")
    started = await core.rekey.start(
        shares, threshold, pgp_keys=pgp_keys, backup=backup, require_verification=verification
    )
    return 200, orjson.dumps(started)


async def _rekey_cancel(
    core: Lifecycle, _data: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[int, bytes]:
    await core.require_sudo(token_from(headers), "sys/rekey/init")
    core.rekey.cancel()
    return 204, b""


async def _rekey_update(
    core: Lifecycle, data: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[int, bytes]:
    await core.require_sudo(token_from(headers), "sys/rekey/update")
    key, nonce = _share(data)
    return 200, orjson.dumps(await core.rekey.update(key, nonce))


async def _verify_status(
    core: Lifecycle, _data: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[int, bytes]:
    await core.require_sudo(token_from(headers), "sys/rekey/verify")
    return 200, orjson.dumps(core.rekey.verification_status())


async def _verify_update(
    core: Lifecycle, data: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[int, bytes]:
    await core.require_sudo(token_from(headers), "sys/rekey/verify")
    key, nonce = _share(data)
    return 200, orjson.dumps(await core.rekey.verify(key, nonce))


async def _verify_restart(
    core: Lifecycle, _data: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[int, bytes]:
    await core.require_sudo(token_from(headers), "sys/rekey/verify")
    return 200, orjson.dumps(core.rekey.cancel_verification())


async def _root_status(
    core: Lifecycle, _data: Mapping[str, Any], _headers: Mapping[str, str]
) -> tuple[int, bytes]:
    return 200, orjson.dumps(await core.generate_root.status())


async def _root_start(
    core: Lifecycle, data: Mapping[str, Any], _headers: Mapping[str, str]
) -> tuple[int, bytes]:
    otp, pgp_key = data.get("otp", ""), data.get("pgp_key", "")
    if not isinstance(otp, str):
        raise errors.InvalidRequestError("'otp' must be a string")
    if not isinstance(pgp_key, str):
        raise errors.InvalidRequestError("'pgp_key' must be a string")
    return 200, orjson.dumps(await core.generate_root.start(otp, pgp_key))


async def _root_cancel(
    core: Lifecycle, _data: Mapping[str, Any], _headers: Mapping[str, str]
) -> tuple[int, bytes]:
    core.generate_root.cancel()
    return 204, b""


async def _root_update(
    core: Lifecycle, data: Mapping[str, Any], _headers: Mapping[str, str]
) -> tuple[int, bytes]:
    key, nonce = _share(data)
    return 200, orjson.dumps(await core.generate_root.update(key, nonce))


_ENDPOINTS: dict[tuple[str, str], Handler] = {
    ("GET", "/v1/sys/rekey/init"): _rekey_status,
    ("PUT", "/v1/sys/rekey/init"): _rekey_start,
    ("POST", "/v1/sys/rekey/init"): _rekey_start,
    ("DELETE", "/v1/sys/rekey/init"): _rekey_cancel,
    ("PUT", "/v1/sys/rekey/update"): _rekey_update,
    ("POST", "/v1/sys/rekey/update"): _rekey_update,
    ("GET", "/v1/sys/rekey/verify"): _verify_status,
    ("PUT", "/v1/sys/rekey/verify"): _verify_update,
    ("POST", "/v1/sys/rekey/verify"): _verify_update,
    ("DELETE", "/v1/sys/rekey/verify"): _verify_restart,
    ("GET", "/v1/sys/generate-root/attempt"): _root_status,
    ("PUT", "/v1/sys/generate-root/attempt"): _root_start,
    ("POST", "/v1/sys/generate-root/attempt"): _root_start,
    ("DELETE", "/v1/sys/generate-root/attempt"): _root_cancel,
    ("PUT", "/v1/sys/generate-root/update"): _root_update,
    ("POST", "/v1/sys/generate-root/update"): _root_update,
    ("PUT", "/v1/sys/init"): _init,
    ("POST", "/v1/sys/init"): _init,
    ("PUT", "/v1/sys/unseal"): _unseal,
    ("POST", "/v1/sys/unseal"): _unseal,
    ("PUT", "/v1/sys/seal"): _seal,
    ("POST", "/v1/sys/seal"): _seal,
}
