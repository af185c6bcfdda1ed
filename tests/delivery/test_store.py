"""SecretStore through the API, against strongroom and a real OpenBao: the same layout works on both."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from strongroom.client import Client
from strongroom.delivery.store import SecretExists, SecretNotFound, SecretStore, SecretStoreError
from tests.servers import RunningServer


@pytest.fixture(params=["server", "bao"])
def store(request: pytest.FixtureRequest) -> Iterator[SecretStore]:
    """A store on the shared strongroom dev server, then on the shared OpenBao dev server."""
    target: RunningServer = request.getfixturevalue(request.param)
    with Client(target.address, target.root_token) as client:
        yield SecretStore(client)


def test_create_inspect_fetch_remove(store: SecretStore, unique: str) -> None:
    record = store.create(unique, b"\xffbinary", {"b": "2", "a": "1"})
    assert re.fullmatch(r"[a-z0-9]{25}", record.id)
    assert (record.name, record.version, dict(record.labels)) == (unique, 1, {"a": "1", "b": "2"})
    assert "binary" not in repr(record)
    assert store.inspect(record.id) == record
    assert store.fetch(unique) == b"\xffbinary"
    assert unique in store.names()
    with pytest.raises(SecretExists, match=rf"^secret {unique} already exists$"):
        store.create(unique, b"other", {})
    assert store.fetch(unique) == b"\xffbinary"
    assert store.remove(unique) == record
    with pytest.raises(SecretNotFound, match=rf"^No such secret: {unique}$"):
        store.fetch(unique)


def test_docker_validation(store: SecretStore) -> None:
    with pytest.raises(SecretStoreError, match=r"^invalid name, only 64"):
        store.create("bad name", b"x", {})
    size = r"^secret data must be larger than 0 and less than 512000 bytes$"
    with pytest.raises(SecretStoreError, match=size):
        store.create("empty", b"", {})
