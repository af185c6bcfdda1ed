"""Storage snapshots: every physical entry, copied consistently, in one self-describing file.

Layer: physical (imports physical.keys and errors only).

The file is a gzipped tar, the shape of Vault's raft snapshots (so `bao operator raft snapshot save`,
which looks for a non-empty last member SHA256SUMS.sealed, accepts it), holding in order:
- meta.json: the header (format version, cluster id and name, storage type, creation time, entry count);
- state.bin: the magic b"STRONGROOM-SNAPSHOT\\n", a 4-byte big-endian header length, the same header,
  then per entry a 4-byte key length, the UTF-8 key, an 8-byte value length and the value, and last a
  SHA-256 over everything before it in state.bin;
- SHA256SUMS: the SHA-256 of meta.json and state.bin, as sha256sum prints them;
- SHA256SUMS.sealed: the cluster's keyring record as stored (sealed by its root key): it opens only on a
  server of the same cluster.
The values are what physical storage holds (barrier ciphertext, and the seal's own records), so a
snapshot holds no plaintext secret and opens only with the unseal keys of the cluster it came from.

Invariant: `read_snapshot` checks the archive, the checksums, the magic, the version, every length, the
entry count and the SHA-256 before it returns anything, so a damaged file is refused before any storage
is touched.
"""

from __future__ import annotations

import builtins
import gzip
import hashlib
import io
import struct
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson

from strongroom.errors import InvalidRequestError
from strongroom.physical.keys import check_key

MAGIC = b"STRONGROOM-SNAPSHOT\n"
FORMAT_VERSION = 1
_HEADER_LENGTH = struct.Struct(">I")
_KEY_LENGTH = struct.Struct(">I")
_VALUE_LENGTH = struct.Struct(">Q")
_DIGEST_SIZE = hashlib.sha256().digest_size
_GZIP_MAGIC = b"\x1f\x8b"
_MEMBERS = ("meta.json", "state.bin", "SHA256SUMS", "SHA256SUMS.sealed")
# A header is a few hundred bytes; anything far larger is not a header.
_MAX_HEADER = 64 * 1024


@runtime_checkable
class Snapshottable(Protocol):
    """An optional extra of a physical backend: a consistent copy of all entries, and a wholesale swap."""

    async def snapshot_entries(self) -> builtins.list[tuple[str, bytes]]:
        """Every entry, sorted by key, as of one instant, while writes may continue."""
        ...

    async def replace_all(self, entries: builtins.list[tuple[str, bytes]]) -> None:
        """Make `entries` the whole content of the storage in one transaction: all of it, or nothing."""
        ...


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A read (and checked) snapshot: its header, and its entries in file order."""

    header: Mapping[str, Any]
    entries: tuple[tuple[str, bytes], ...]

    def value(self, key: str) -> bytes | None:
        """The value of `key` in the snapshot, or None."""
        return next((value for name, value in self.entries if name == key), None)


def write_snapshot(
    entries: builtins.list[tuple[str, bytes]], header: Mapping[str, Any], sealed: bytes = b""
) -> bytes:
    """The snapshot file of `entries`, with `header` (plus the format version and entry count); `sealed`
    is the cluster's keyring record."""
    full = {**header, "version": FORMAT_VERSION, "entries": len(entries)}
    state = _write_state(entries, full)
    meta = orjson.dumps(full, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
    members = [("meta.json", meta), ("state.bin", state), ("SHA256SUMS", _sums(meta, state))]
    members.append(("SHA256SUMS.sealed", sealed or b"\x00"))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
    # The entries are ciphertext, which does not compress: the fastest level loses nothing.
    return gzip.compress(archive.getvalue(), compresslevel=1, mtime=0)


def read_snapshot(data: bytes) -> Snapshot:
    """The snapshot in `data`; InvalidRequestError when it is not one, or is damaged or truncated."""
    if not data.startswith(_GZIP_MAGIC):
        raise InvalidRequestError("not a strongroom snapshot")
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as tar:
            for info in tar:
                if not info.isfile() or info.name not in _MEMBERS or info.name in members:
                    raise _damaged(f"unexpected archive member {info.name!r}")
                extracted = tar.extractfile(info)
                members[info.name] = b"" if extracted is None else extracted.read()
    except (OSError, EOFError, ValueError, zlib.error, tarfile.TarError):
        raise _damaged("it is not a complete gzipped tar archive") from None
    missing = [name for name in _MEMBERS if name not in members]
    if missing:
        raise _damaged(f"{', '.join(missing)} missing")
    if members["SHA256SUMS"] != _sums(members["meta.json"], members["state.bin"]):
        raise _damaged("SHA256SUMS does not match")
    return read_state(members["state.bin"])


def _sums(meta: bytes, state: bytes) -> bytes:
    """SHA256SUMS as sha256sum prints it."""
    lines = (
        f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        for name, data in (("meta.json", meta), ("state.bin", state))
    )
    return "".join(lines).encode()


def _write_state(entries: builtins.list[tuple[str, bytes]], header: Mapping[str, Any]) -> bytes:
    head = orjson.dumps(header, option=orjson.OPT_SORT_KEYS)
    parts = [MAGIC, _HEADER_LENGTH.pack(len(head)), head]
    for key, value in entries:
        name = key.encode()
        parts += [_KEY_LENGTH.pack(len(name)), name, _VALUE_LENGTH.pack(len(value)), value]
    body = b"".join(parts)
    return body + hashlib.sha256(body).digest()


def read_state(data: bytes) -> Snapshot:
    """The entries of a state.bin; InvalidRequestError when it is damaged or truncated."""
    if not data.startswith(MAGIC):
        raise InvalidRequestError("not a strongroom snapshot")
    if len(data) < len(MAGIC) + _HEADER_LENGTH.size + _DIGEST_SIZE:
        raise _damaged("it is truncated")
    body, digest = data[:-_DIGEST_SIZE], data[-_DIGEST_SIZE:]
    if hashlib.sha256(body).digest() != digest:
        raise _damaged("its SHA-256 does not match")
    view = memoryview(body)
    offset = len(MAGIC)
    (length,) = _HEADER_LENGTH.unpack_from(view, offset)
    offset += _HEADER_LENGTH.size
    if length > _MAX_HEADER or offset + length > len(body):
        raise _damaged("its header length is wrong")
    try:
        header = orjson.loads(bytes(view[offset : offset + length]))
    except orjson.JSONDecodeError:
        raise _damaged("its header is not JSON") from None
    offset += length
    if not isinstance(header, dict) or header.get("version") != FORMAT_VERSION:
        raise InvalidRequestError(f"unsupported snapshot format; this server reads version {FORMAT_VERSION}")
    count = header.get("entries")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise _damaged("its entry count is missing")
    entries: builtins.list[tuple[str, bytes]] = []
    try:
        while offset < len(body):
            (size,) = _KEY_LENGTH.unpack_from(view, offset)
            offset += _KEY_LENGTH.size
            key = bytes(view[offset : offset + size]).decode()
            offset += size
            (size,) = _VALUE_LENGTH.unpack_from(view, offset)
            offset += _VALUE_LENGTH.size
            if offset + size > len(body):
                raise _damaged("an entry runs past its end")
            entries.append((check_key(key), bytes(view[offset : offset + size])))
            offset += size
    except (struct.error, UnicodeDecodeError):
        raise _damaged("an entry is cut short") from None
    except InvalidRequestError as exc:
        raise _damaged(str(exc)) from None
    if len(entries) != count:
        raise _damaged(f"it holds {len(entries)} entries where its header says {count}")
    if len({key for key, _ in entries}) != len(entries):
        raise _damaged("a key appears twice")
    return Snapshot(header=header, entries=tuple(entries))


def _damaged(why: str) -> InvalidRequestError:
    return InvalidRequestError(f"the snapshot is damaged: {why}")
