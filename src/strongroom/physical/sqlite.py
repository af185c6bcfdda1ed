"""The embedded default physical backend: one SQLite file in WAL mode.

Layer: physical (imports the stdlib sqlite3 module, physical.keys and errors only).

Durability: `synchronous=NORMAL`, chosen deliberately. In WAL mode a commit is appended to the WAL file
before `put` returns, so every committed write survives the process being killed (SIGKILL, OOM, a crash);
only an operating-system crash or power loss can roll back the most recent commits, and even then the
database stays consistent. FULL would add an fsync to every commit (measured: ~0.3 ms against ~25 us per
put on the development disk), and that fsync would block the event loop on every write.

Calls are synchronous on the event loop thread: each is a single indexed statement of microseconds, so a
thread hop would cost more than it saves (no aiosqlite).

Invariant: a database this backend creates is owner-only (0600) whatever the umask, and so are its -wal and
-shm files (SQLite gives them the database file's mode); one found readable by others is logged at start.
"""

from __future__ import annotations

import builtins
import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager

from strongroom.errors import StorageError
from strongroom.physical.keys import check_key, check_prefix, child_of, folder_end

_SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"
# Rows read per range query while listing; a folder ends a batch early by jumping past its subtree.
_BATCH = 256
_SIDE_FILES = ("", "-wal", "-shm")

log = logging.getLogger("strongroom.physical.sqlite")


@contextmanager
def _storage_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise StorageError(f"sqlite: {exc}") from exc


def _create_owner_only(path: str) -> None:
    """Create the database file 0600 before SQLite does (SQLite would use 0644 less the umask)."""
    if path == ":memory:" or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError:
        # Already there (its mode is its owner's choice), or not creatable: SQLite says why in its words.
        return
    os.close(fd)


def _warn_if_exposed(path: str) -> None:
    """Log each database file that users other than the owner may read or write."""
    for suffix in _SIDE_FILES:
        try:
            mode = stat.S_IMODE(os.stat(path + suffix).st_mode)
        except OSError:
            continue
        if mode & 0o077:
            log.warning(
                "storage file %s has mode %04o: other users may read every stored key and ciphertext; "
                "make it owner-only (chmod 600)",
                path + suffix,
                mode,
            )


class SQLiteBackend:
    """PhysicalBackend and Transactional over one table `entries(key, value)` in the file at `path`."""

    def __init__(self, path: str) -> None:
        self.path = path
        _create_owner_only(path)
        with _storage_errors():
            # Autocommit mode: single statements commit at once; transactions say BEGIN themselves.
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute(_SCHEMA)
        _warn_if_exposed(path)

    def __repr__(self) -> str:
        return f"SQLiteBackend({self.path!r})"

    async def get(self, key: str) -> bytes | None:
        check_key(key)
        with _storage_errors():
            row = self._db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    async def put(self, key: str, value: bytes) -> None:
        check_key(key)
        with _storage_errors():
            self._db.execute("INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)", (key, bytes(value)))

    async def delete(self, key: str) -> None:
        check_key(key)
        with _storage_errors():
            self._db.execute("DELETE FROM entries WHERE key = ?", (key,))

    async def list(self, prefix: str) -> builtins.list[str]:
        return self._children(check_prefix(prefix), "", 0)

    async def list_page(self, prefix: str, after: str, limit: int) -> builtins.list[str]:
        return self._children(check_prefix(prefix), after, limit)

    async def transaction(self, puts: dict[str, bytes], deletes: builtins.list[str]) -> None:
        for key in (*puts, *deletes):
            check_key(key)
        with _storage_errors():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("DELETE FROM entries WHERE key = ?", [(key,) for key in deletes])
                self._db.executemany(
                    "INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)",
                    [(key, bytes(value)) for key, value in puts.items()],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    async def close(self) -> None:
        with _storage_errors():
            self._db.close()

    def _children(self, prefix: str, after: str, limit: int) -> builtins.list[str]:
        """Walk the primary-key index from `prefix + after`, one range query per batch or folder."""
        children: builtins.list[str] = []
        bound = prefix + after
        with _storage_errors():
            while True:
                rows = self._db.execute(
                    "SELECT key FROM entries WHERE key >= ? ORDER BY key LIMIT ?", (bound, _BATCH)
                ).fetchall()
                for (key,) in rows:
                    if not key.startswith(prefix):
                        return children
                    child = child_of(key, prefix)
                    if child is not None and child > after:
                        children.append(child)
                        if 0 < limit <= len(children):
                            return children
                    if child is not None and child.endswith("/"):
                        bound = folder_end(prefix, child)
                        break
                    # NUL is refused in keys, so key + "\0" is the very next possible key.
                    bound = key + "\0"
                else:
                    if len(rows) < _BATCH:
                        return children
