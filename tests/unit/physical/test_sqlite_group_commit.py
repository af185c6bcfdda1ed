"""SQLite group commit: one commit (one fsync) per write alone, one for many concurrent writes, and a
failing write that fails alone.

Commits are counted from the WAL file itself (a commit frame records the database size after it; other
frames record zero), and fsyncs by running a writer under strace, which sees SQLite's own system calls.
"""

from __future__ import annotations

import asyncio
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from strongroom.errors import StorageError
from strongroom.physical.sqlite import SQLiteBackend

WRITES = 40


def wal_commits(db_path: Path) -> int:
    """Commit frames in the WAL since it was last reset (frames carrying the header's salts)."""
    wal = Path(f"{db_path}-wal").read_bytes()
    if len(wal) < 32:
        return 0
    page_size = struct.unpack(">I", wal[8:12])[0]
    salts = wal[16:24]
    commits = 0
    for offset in range(32, len(wal) - 24 + 1, 24 + page_size):
        header = wal[offset : offset + 24]
        if header[8:16] != salts:
            break
        commits += struct.unpack(">I", header[4:8])[0] != 0
    return commits


async def test_a_lone_writer_gets_a_commit_per_write(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    backend = SQLiteBackend(str(path))
    try:
        before = wal_commits(path)
        for i in range(WRITES):
            await backend.put(f"k/{i}", b"v")
            # Acknowledged means committed: the commit is in the WAL when put returns.
            assert wal_commits(path) == before + i + 1
    finally:
        await backend.close()


async def test_concurrent_writes_share_a_commit(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    backend = SQLiteBackend(str(path))
    try:
        before = wal_commits(path)
        await asyncio.gather(*(backend.put(f"k/{i}", str(i).encode()) for i in range(WRITES)))
        assert 1 <= wal_commits(path) - before <= 2
        assert len(await backend.list("k/")) == WRITES
        assert await backend.get("k/7") == b"7"
    finally:
        await backend.close()


async def test_a_failing_write_fails_alone_in_its_group(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    backend = SQLiteBackend(str(path))
    try:
        await backend.put("old", b"o")
        refuse_inserts(path, "NEW.key LIKE 'bad%'")
        before = wal_commits(path)
        results = await asyncio.gather(
            *(backend.put(f"ok/{i}", b"v") for i in range(10)),
            backend.put("bad/1", b"x"),
            # A transaction stays all-or-nothing: its delete and its good put are rolled back with it.
            backend.transaction({"t/1": b"t", "bad/2": b"x"}, ["old"]),
            backend.delete("ok/0"),
            return_exceptions=True,
        )
        assert results[:10] == [None] * 10
        assert isinstance(results[10], StorageError)
        assert "refused" in str(results[10])
        assert isinstance(results[11], StorageError)
        assert "refused" in str(results[11])
        assert results[12] is None
        assert wal_commits(path) - before == 1
        assert await backend.list("") == ["ok/", "old"]
        assert await backend.list("ok/") == [str(i) for i in range(1, 10)]
        assert await backend.get("t/1") is None
        # The connection is left outside any transaction: the next group commits.
        await backend.put("after", b"a")
        assert await backend.get("after") == b"a"
    finally:
        await backend.close()


async def test_a_failed_commit_fails_its_whole_group_and_the_next_one_commits(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    backend = SQLiteBackend(str(path))
    try:
        # RAISE(ROLLBACK) aborts the whole transaction, the way a full disk or an I/O error does.
        refuse_inserts(path, "NEW.key = 'doom'", action="ROLLBACK")
        results = await asyncio.gather(
            backend.put("a", b"1"), backend.put("doom", b"x"), backend.put("b", b"2"), return_exceptions=True
        )
        assert all(isinstance(r, StorageError) for r in results), results
        assert await backend.list("") == []
        await backend.put("c", b"3")
        assert await backend.list("") == ["c"]
    finally:
        await backend.close()


async def test_writes_after_close_are_refused(tmp_path: Path) -> None:
    backend = SQLiteBackend(str(tmp_path / "s.db"))
    await backend.close()
    with pytest.raises(StorageError, match="closed database"):
        await backend.put("k", b"v")


_WRITER = """
import asyncio, os, sys
from strongroom.physical.sqlite import SQLiteBackend

async def main(path, mode, count):
    backend = SQLiteBackend(path)
    if mode == "sequential":
        for i in range(count):
            await backend.put(f"k/{i}", b"v")
    else:
        await asyncio.gather(*(backend.put(f"k/{i}", b"v") for i in range(count)))
    # Leave without close: closing checkpoints, and its syncs are not a write's.
    os._exit(0)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def wal_fsyncs(tmp_path: Path, mode: str, count: int) -> int:
    """fsync and fdatasync calls on the WAL file by a process writing `count` keys in `mode`."""
    path = tmp_path / f"{mode}.db"
    # Create the file first, so the traced run does only the writes.
    subprocess.run([sys.executable, "-c", _WRITER, str(path), mode, "0"], check=True, timeout=60)
    trace = tmp_path / f"{mode}.strace"
    subprocess.run(
        ["strace", "-f", "-y", "-e", "trace=fsync,fdatasync", "-o", str(trace),
         sys.executable, "-c", _WRITER, str(path), mode, str(count)],
        check=True, timeout=120,
    )  # fmt: skip
    lines = trace.read_text().splitlines()
    return sum(1 for line in lines if "sync(" in line and f"{path.name}-wal>" in line)


def test_fsyncs_at_least_one_per_write_alone_and_fewer_than_writes_together(tmp_path: Path) -> None:
    sequential = wal_fsyncs(tmp_path, "sequential", WRITES)
    concurrent = wal_fsyncs(tmp_path, "concurrent", WRITES)
    assert sequential >= WRITES, sequential
    assert 1 <= concurrent < WRITES // 4, concurrent


def refuse_inserts(path: Path, condition: str, action: str = "ABORT") -> None:
    """A trigger in the database file itself that makes every insert matching `condition` fail."""
    db = sqlite3.connect(path)
    try:
        db.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON entries WHEN {condition} "
            f"BEGIN SELECT RAISE({action}, 'refused'); END"
        )
        db.commit()
    finally:
        db.close()
