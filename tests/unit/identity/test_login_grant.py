"""A login's grant is worked out once per alias and reported groups, and never outlives a change of an
entity or a group: the next login after the change sees it."""

from __future__ import annotations

from strongroom.identity import IdentityStore
from strongroom.identity.store import LOGIN_GRANTS_KEPT
from strongroom.logical.storage import InmemStorage
from strongroom.util.clock import ManualClock


class OneMount:
    def auth_mount(self, accessor: str) -> tuple[str, str] | None:
        return ("approle", "auth/approle/") if accessor == "acc" else None


async def test_login_grants_follow_entity_and_group_changes() -> None:
    store = IdentityStore(InmemStorage(), ManualClock(), OneMount())
    await store.load()
    assert store.login_grant("acc", "role-1", ()).policies == ()
    entity = await store.login_entity("acc", "approle", "auth/approle/", "role-1", {})
    first = store.login_grant("acc", "role-1", ())
    assert store.login_grant("acc", "role-1", ()) is first  # remembered while nothing changes
    await store.write_entity(entity_id=entity.id, policies=["ops"])
    assert store.login_grant("acc", "role-1", ()).policies == ("ops",)
    await store.groups.write_group(name="team", policies=["dev"], member_entity_ids=[entity.id])
    assert store.login_grant("acc", "role-1", ()).policies == ("dev", "ops")
    await store.write_entity(entity_id=entity.id, disabled=True)
    assert store.login_grant("acc", "role-1", ()).disabled
    assert not store.login_grant("acc", "role-2", ()).disabled  # another alias: no entity yet


async def test_login_grants_stay_bounded() -> None:
    store = IdentityStore(InmemStorage(), ManualClock(), OneMount())
    await store.load()
    for i in range(LOGIN_GRANTS_KEPT + 10):
        store.login_grant("acc", f"role-{i}", ())
    assert len(store._login_grants) <= LOGIN_GRANTS_KEPT
