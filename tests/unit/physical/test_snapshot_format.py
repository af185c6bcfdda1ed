"""The snapshot file format: what is written reads back, and any damage is refused before use."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile

import pytest

from strongroom.errors import InvalidRequestError
from strongroom.physical.snapshot import FORMAT_VERSION, MAGIC, read_snapshot, read_state, write_snapshot

ENTRIES = [("a", b""), ("b/c", b"\x00\x01\xff" * 50), ("logical/ü", b"v")]


def _file() -> bytes:
    return write_snapshot(ENTRIES, {"cluster_id": "c1", "storage_type": "sqlite"})


def _state() -> bytes:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(_file()))) as archive:
        member = archive.extractfile("state.bin")
        assert member is not None
        return member.read()


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


def test_every_bit_flip_is_refused_or_changes_nothing() -> None:
    # gzip does not check its own header (file time, OS byte), and a flip in a spare bit of the deflate
    # stream may decompress to the same bytes: such a file is accepted, whole and unchanged.
    data = _file()
    refused = 0
    for index in range(len(data)):
        for bit in (0x01, 0x80):
            damaged = bytearray(data)
            damaged[index] ^= bit
            try:
                snapshot = read_snapshot(bytes(damaged))
            except InvalidRequestError:
                refused += 1
            else:
                assert list(snapshot.entries) == ENTRIES
    assert refused >= 0.9 * 2 * len(data)


def test_the_archive_is_what_bao_looks_for() -> None:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(_file()))) as archive:
        assert archive.getnames() == ["meta.json", "state.bin", "SHA256SUMS", "SHA256SUMS.sealed"]
        sealed = archive.extractfile("SHA256SUMS.sealed")
        assert sealed is not None
        assert sealed.read()
    assert _state().startswith(MAGIC)


def test_the_state_inside_checks_its_own_digest() -> None:
    state = bytearray(_state())
    state[len(state) // 2] ^= 1
    with pytest.raises(InvalidRequestError, match="SHA-256"):
        read_state(bytes(state))


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
        read_state(_rehashed(body))


def test_another_file_is_not_a_snapshot() -> None:
    with pytest.raises(InvalidRequestError, match="not a strongroom snapshot"):
        read_snapshot(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(InvalidRequestError, match="not a strongroom snapshot"):
        read_state(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(InvalidRequestError, match="missing"):
        read_snapshot(gzip.compress(_tar([("meta.json", b"{}")])))
    with pytest.raises(InvalidRequestError, match="unexpected archive member"):
        read_snapshot(gzip.compress(_tar([("../etc/passwd", b"x")])))


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()
