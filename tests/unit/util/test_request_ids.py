"""Request IDs: UUIDs drawn in batches, as random and as well-formed as new_uuid's."""

from __future__ import annotations

import os
import uuid

from strongroom.util.ids import request_id


def test_request_ids_are_random_version_4_uuids_in_canonical_form() -> None:
    seen = {request_id() for _ in range(2000)}  # many batches
    assert len(seen) == 2000
    for text in seen:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
    # Every variant digit (8, 9, a, b) turns up: the batch mask keeps the two random bits.
    assert {text[19] for text in seen} == set("89ab")


def test_a_forked_child_draws_its_own_request_ids() -> None:
    request_id()  # a batch waits in the parent
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and exits
        os.write(write, request_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    drawn_in_child = os.read(read, 64).decode()
    os.close(read)
    assert drawn_in_child not in {request_id() for _ in range(64)}
