"""The snapshot file format: what is written reads back, and any damage is refused before use."""

from __future__ import annotations

import hashlib

import pytest

from strongroom.errors import InvalidRequestError
from strongroom.physical.snapshot import FORMAT_VERSION, MAGIC, read_snapshot, write_snapshot

ENTRIES = [("a", b""), ("b/c", b"\x00\x01\xff" * 50), ("logical/ü", b"v")]


def _file() -> bytes:
    return write_snapshot(ENTRIES, {"cluster_id": "c1", "storage_type": "sqlite"})


def _rehashed(body: bytes) -> bytes:
    return body + hashlib.sha256(body).digest()


def test_round_trip() -> None:
    snapshot = read_snapshot(_file())
    assert list(snapshot.entries) == ENTRIES
    assert snapshot.header["version"] == FORMAT_VERSION
    assert snapshot.header["entries"] == 3
    assert snapshot.header["cluster_id"] == "c1"
    assert snapshot.value("b/c") == ENTRIES[1][1]
    assert snapshot.value("missing") is None
    assert read_snapshot(write_snapshot([], {})).entries == ()


def test_every_truncation_is_refused() -> None:
    data = _file()
    for end in range(len(data)):
        with pytest.raises(InvalidRequestError):
            read_snapshot(data[:end])


def test_every_bit_flip_is_refused() -> None:
    data = _file()
    for index in range(len(data)):
        for bit in (0x01, 0x80):
            damaged = bytearray(data)
            damaged[index] ^= bit
            with pytest.raises(InvalidRequestError):
                read_snapshot(bytes(damaged))


def _head(header: bytes) -> bytes:
    return MAGIC + len(header).to_bytes(4, "big") + header


_ONE = _head(b'{"version":1,"entries":1}')
_ENTRY_K = b"\x00\x00\x00\x01k" + b"\x00" * 8


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_head(b"{}"), "unsupported snapshot format"),
        (_head(b'{"version":2,"entries":0}'), "unsupported snapshot format"),
        (_head(b"{"), "header is not JSON"),
        (MAGIC + b"\xff\xff\xff\xff{}", "header length"),
        (_head(b'{"version":1,"entries":true}'), "entry count"),
        (_head(b'{"version":1,"entries":-1}'), "entry count"),
        (_ONE, "holds 0 entries"),
        (_head(b'{"version":1,"entries":2}') + _ENTRY_K * 2, "a key appears twice"),
        (_ONE + b"\x00\x00\x00\x01k" + b"\x00" * 7 + b"\x09", "runs past its end"),
        (_ONE + b"\x00\x00\x00\x01k" + b"\x00" * 4, "cut short"),
        (_ONE + b"\x00\x00\x00\x01\xff" + b"\x00" * 8, "cut short"),
        (_ONE + b"\x00\x00\x00\x02k\x00" + b"\x00" * 8, "damaged"),
    ],
)
def test_a_well_hashed_but_malformed_file_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        read_snapshot(_rehashed(body))


def test_another_file_is_not_a_snapshot() -> None:
    with pytest.raises(InvalidRequestError, match="not a strongroom snapshot"):
        read_snapshot(b"SQLite format 3\x00" + b"\x00" * 100)
