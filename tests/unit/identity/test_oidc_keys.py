"""Named keys of identity tokens: lazy rotation by rotation_period, and publication until verification_ttl
ends, on in-memory storage with a clock the test moves."""

from __future__ import annotations

import jwt

from strongroom.identity import oidc_keys
from strongroom.identity.oidc_keys import NamedKey
from strongroom.logical import InmemStorage
from strongroom.util.clock import ManualClock


async def _key(storage: InmemStorage, clock: ManualClock) -> NamedKey:
    key = NamedKey("k", "ES256", rotation_period=3600, verification_ttl=600, allowed_client_ids=("*",))
    key = await oidc_keys.with_new_pairs(storage, key)
    key = NamedKey.from_json({**key.to_json(), "next_rotation": clock.now() + 3600})
    await oidc_keys.store_key(storage, key)
    return key


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


async def test_a_key_past_its_rotation_time_rotates_at_its_next_use() -> None:
    storage, clock = InmemStorage(), ManualClock()
    key = await _key(storage, clock)
    first = oidc_keys.sign(key, {"sub": "e"})
    clock.advance(3599)
    assert _kid(oidc_keys.sign(await oidc_keys.current(storage, key, clock.now()), {})) == _kid(first)
    clock.advance(1)
    rotated = await oidc_keys.current(storage, key, clock.now())
    assert _kid(oidc_keys.sign(rotated, {})) != _kid(first)
    stored = await oidc_keys.load_key(storage, "k")
    assert stored == rotated
    assert stored.next_rotation == clock.now() + 3600


async def test_a_retired_key_is_published_for_verification_ttl_then_deleted() -> None:
    storage, clock = InmemStorage(), ManualClock()
    key = await _key(storage, clock)
    retired = _kid(oidc_keys.sign(key, {}))
    await oidc_keys.rotate(storage, key, clock.now())
    clock.advance(600)
    assert retired in {jwk["kid"] for jwk in await oidc_keys.key_set(storage, clock.now(), {"k"})}
    clock.advance(1)
    published = {jwk["kid"] for jwk in await oidc_keys.key_set(storage, clock.now(), {"k"})}
    assert retired not in published
    assert len(published) == 2  # the signing key and the next one
    assert await storage.get(oidc_keys.PUBLIC_KEYS + retired) is None
    assert await oidc_keys.key_set(storage, clock.now(), set()) == []
