"""Access tokens of the OIDC provider are stored by their expiry hour, and swept an hour at a time."""

from __future__ import annotations

import hashlib

from strongroom.core.identity.paths_oidc_flow import access_token_key, sweep_access_tokens
from strongroom.logical import InmemStorage, put_json


async def test_expired_hours_are_swept_and_live_ones_kept() -> None:
    storage = InmemStorage()
    now = 1_700_000_000.0
    old, live = f"{int(now // 3600) - 1}.aaa", f"{int(now // 3600)}.bbb"
    for token in (old, live):
        await put_json(storage, access_token_key(token), {"expires": 0})
    await sweep_access_tokens(storage, now)
    assert await storage.get(access_token_key(old)) is None
    assert await storage.get(access_token_key(live)) is not None


def test_a_token_of_another_shape_has_no_record() -> None:
    assert access_token_key("not-ours") == ""
    assert access_token_key("12.x") == "oidc_provider/access_token/12/" + hashlib.sha256(b"12.x").hexdigest()
