"""The identity indexes kept change by change agree with indexes rebuilt from the records, whatever the
sequence of the writes the stores make: renames, aliases moved between records (as a merge moves them:
the new holder written first, then the old one without them), deletes. Names stay unique, as the stores
refuse a taken one."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.identity.model import Alias, Entity
from strongroom.identity.records import Records
from strongroom.logical.storage import InmemStorage

IDS = ["e1", "e2", "e3"]
NAMES = ["alice", "Bob", "bob", "carol"]
ALIASES = [("a1", "acc1", "alice"), ("a2", "acc1", "bob"), ("a3", "acc2", "alice")]

_put = st.tuples(
    st.just("put"),
    st.sampled_from(IDS),
    st.sampled_from(NAMES),
    st.lists(st.sampled_from(ALIASES), unique=True, max_size=2),
)
_delete = st.tuples(st.just("delete"), st.sampled_from(IDS))


def _records(storage: InmemStorage) -> Records[Entity, Alias]:
    return Records(storage, "entity/", Entity.from_json, lambda entity: entity.aliases)


def _entity(entity_id: str, name: str, aliases: list[tuple[str, str, str]]) -> Entity:
    return Entity(
        id=entity_id,
        name=name,
        aliases=tuple(
            Alias(id=a, canonical_id=entity_id, name=n, mount_accessor=m, mount_type="x", mount_path="")
            for a, m, n in aliases
        ),
    )


def _view(records: Records[Entity, Alias]) -> tuple[object, ...]:
    """Every index answer, for each name and alias the test uses."""
    return (
        tuple(records.name_holder(name) for name in NAMES),
        tuple(records.alias(a) for a, _, _ in ALIASES),
        tuple(records.alias_holder(m, n) for _, m, n in ALIASES),
        tuple(alias.id for alias in records.aliases()),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_put, _delete), max_size=12))
def test_incremental_indexes_match_a_rebuild(steps: list[tuple[object, ...]]) -> None:
    async def run() -> None:
        storage = InmemStorage()
        kept = _records(storage)
        held: dict[str, tuple[str, list[tuple[str, str, str]]]] = {}
        for step in steps:
            if step[0] == "delete":
                await kept.delete(str(step[1]))
                held.pop(str(step[1]), None)
                continue
            entity_id, name, aliases = str(step[1]), str(step[2]), list(step[3])  # type: ignore[call-overload]
            if any(n.lower() == name.lower() for i, (n, _) in held.items() if i != entity_id):
                continue
            await kept.put(_entity(entity_id, name, aliases))
            held[entity_id] = (name, aliases)
            for other, (other_name, theirs) in list(held.items()):
                left = [a for a in theirs if all(a[0] != b[0] and a[1:] != b[1:] for b in aliases)]
                if other != entity_id and left != theirs:
                    await kept.put(_entity(other, other_name, left))
                    held[other] = (other_name, left)
            rebuilt = _records(storage)
            rebuilt.reset(await rebuilt.read())
            assert _view(kept) == _view(rebuilt)

    asyncio.run(run())
