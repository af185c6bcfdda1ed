"""SQLite specifics beyond the shared contract: pragmas, index use, crash durability, errors."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from strongroom.errors import StorageError
from strongroom.physical.sqlite import SQLiteBackend


async def test_wal_mode_and_full_sync_by_default(tmp_path: Path) -> None:
    backend = SQLiteBackend(str(tmp_path / "s.db"))
    try:
        assert backend._writer.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert backend._writer.execute("PRAGMA synchronous").fetchone() == (2,)  # 2 = FULL
        assert backend._db.execute("PRAGMA synchronous").fetchone() == (2,)
    finally:
        await backend.close()


async def test_normal_sync_when_asked(tmp_path: Path) -> None:
    backend = SQLiteBackend(str(tmp_path / "s.db"), synchronous="normal")
    try:
        assert backend._writer.execute("PRAGMA synchronous").fetchone() == (1,)  # 1 = NORMAL
    finally:
        await backend.close()


async def test_reads_go_through_a_read_only_connection(tmp_path: Path) -> None:
    backend = SQLiteBackend(str(tmp_path / "s.db"))
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            backend._db.execute("DELETE FROM entries")
    finally:
        await backend.close()


async def test_one_table_with_the_key_as_primary_key(tmp_path: Path) -> None:
    backend = SQLiteBackend(str(tmp_path / "s.db"))
    await backend.put("k", b"v")
    await backend.close()
    db = sqlite3.connect(tmp_path / "s.db")
    try:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        columns = [(row[1], row[2], row[5]) for row in db.execute("PRAGMA table_info(entries)")]
        assert tables == [("entries",)]
        assert columns == [("key", "TEXT", 1), ("value", "BLOB", 0)]
        assert db.execute("SELECT key, value FROM entries").fetchall() == [("k", b"v")]
    finally:
        db.close()


async def test_listing_walks_the_index_not_the_table(tmp_path: Path) -> None:
    backend = SQLiteBackend(str(tmp_path / "s.db"))
    try:
        plan = backend._db.execute(
            "EXPLAIN QUERY PLAN SELECT key FROM entries WHERE key >= ? ORDER BY key LIMIT ?", ("a/", 256)
        ).fetchall()
        detail = " ".join(str(row[-1]) for row in plan)
        assert "SEARCH entries USING PRIMARY KEY (key>?)" in detail
        assert "SCAN" not in detail
    finally:
        await backend.close()


async def test_a_big_folder_costs_one_query(tmp_path: Path) -> None:
    backend = SQLiteBackend(str(tmp_path / "s.db"))
    try:
        await backend.transaction({f"big/{i:05d}": b"" for i in range(5000)} | {"z": b""}, [])
        statements: list[str] = []
        backend._db.set_trace_callback(statements.append)
        assert await backend.list("") == ["big/", "z"]
        assert len(statements) == 2  # the first row, then the jump past "big/"
    finally:
        await backend.close()


def test_committed_writes_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal
        from strongroom.physical.sqlite import SQLiteBackend

        async def main():
            backend = SQLiteBackend({str(path)!r})
            await backend.put("k", b"committed")
            await backend.transaction({{"t/1": b"a", "t/2": b"b"}}, [])
            os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    result = subprocess.run([sys.executable, "-c", script], check=False, timeout=30)
    assert result.returncode == -9
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT key, value FROM entries ORDER BY key").fetchall() == [
            ("k", b"committed"),
            ("t/1", b"a"),
            ("t/2", b"b"),
        ]
    finally:
        db.close()


def test_unopenable_path_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="sqlite: unable to open database file"):
        SQLiteBackend(str(tmp_path / "missing-dir" / "s.db"))


async def test_use_after_close_is_a_storage_error(tmp_path: Path) -> None:
    backend = SQLiteBackend(str(tmp_path / "s.db"))
    await backend.close()
    with pytest.raises(StorageError, match="closed database"):
        await backend.get("k")


async def test_failed_transaction_rolls_back(tmp_path: Path) -> None:
    backend = SQLiteBackend(str(tmp_path / "s.db"))
    try:
        await backend.put("a", b"1")
        _refuse(tmp_path / "s.db", "NEW.key = 'c'", "boom")
        with pytest.raises(StorageError, match="sqlite: boom"):
            await backend.transaction({"b": b"2", "c": b"3"}, ["a"])
        assert await backend.list("") == ["a"]
        await backend.put("d", b"4")  # the connection is usable again: no transaction left open
        assert await backend.list("") == ["a", "d"]
    finally:
        await backend.close()


def _refuse(path: Path, condition: str, message: str) -> None:
    """A trigger in the database file itself that makes every insert matching `condition` fail."""
    db = sqlite3.connect(path)
    try:
        db.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON entries WHEN {condition} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )
        db.commit()
    finally:
        db.close()
