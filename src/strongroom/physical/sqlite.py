"""The embedded default physical backend: one SQLite file in WAL mode, writes committed in groups.

Layer: physical (imports the stdlib sqlite3 module, physical.keys and errors only).

Durability: `synchronous=FULL` by default. In WAL mode SQLite then fsyncs the WAL at every commit, and a
write is acknowledged only once the commit holding it has returned, so an acknowledged write survives a
power loss. `synchronous = "normal"` in the storage stanza relaxes this: the WAL is synced at checkpoints
only, so the last acknowledged writes survive a process crash but not a power loss.

Group commit: an fsync costs far more than the statements it guards, so writes queue, and one commit thread
applies every write queued meanwhile in one transaction, each inside a SAVEPOINT of its own, commits once
(one fsync) and then answers every writer. A write whose statements fail is rolled back to its savepoint
and fails alone; a commit that fails fails the whole group. A lone writer still gets one commit per write.

Reads run on the event loop thread, on a second, read-only connection: each is a single indexed statement
of microseconds (a thread hop would cost more), and WAL lets it read the last commit while a commit runs.

Invariant: a write is acknowledged only after the transaction holding it has committed.
Invariant: `transaction` stays all-or-nothing inside a group (one savepoint for all its puts and deletes).
Invariant: a database this backend creates is owner-only (0600) whatever the umask, and so are its -wal and
-shm files (SQLite gives them the database file's mode); one found readable by others is logged at start.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress

from strongroom.errors import StorageError
from strongroom.physical.keys import check_key, check_prefix, child_of, folder_end

log = logging.getLogger("strongroom.physical.sqlite")

_SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"
_DELETE = "DELETE FROM entries WHERE key = ?"
_INSERT = "INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)"
# Rows read per range query while listing; a folder ends a batch early by jumping past its subtree.
_BATCH = 256
_SIDE_FILES = ("", "-wal", "-shm")
# The storage stanza's `synchronous` values, as SQLite's pragma takes them.
SYNCHRONOUS = ("full", "normal")

# One queued write: its puts and deletes, applied together, deletes first.
_Write = tuple[dict[str, bytes], builtins.list[str]]


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

    def __init__(self, path: str, synchronous: str = "full") -> None:
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, not {synchronous!r}")
        self.path = path
        self.synchronous = synchronous
        _create_owner_only(path)
        with _storage_errors():
            # Autocommit mode: the commit thread says BEGIN and COMMIT itself. Only that thread uses it.
            self._writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._writer.execute("PRAGMA busy_timeout=5000")
            self._writer.execute(_SCHEMA)
            self._db = sqlite3.connect(path, isolation_level=None)
            # Closing the last connection checkpoints, which syncs as this connection's setting says.
            self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute("PRAGMA query_only=ON")
        _warn_if_exposed(path)
        if synchronous != "full":
            log.warning(
                'storage "sqlite": synchronous = "%s": writes acknowledged shortly before a power loss '
                "or an operating-system crash may be lost",
                synchronous,
            )
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-commit")
        self._queue: builtins.list[tuple[_Write, asyncio.Future[None]]] = []
        self._committer: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"SQLiteBackend({self.path!r})"

    async def get(self, key: str) -> bytes | None:
        check_key(key)
        with _storage_errors():
            row = self._db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    async def put(self, key: str, value: bytes) -> None:
        check_key(key)
        await self._write({key: bytes(value)}, [])

    async def delete(self, key: str) -> None:
        check_key(key)
        await self._write({}, [key])

    async def list(self, prefix: str) -> builtins.list[str]:
        return self._children(check_prefix(prefix), "", 0)

    async def list_page(self, prefix: str, after: str, limit: int) -> builtins.list[str]:
        return self._children(check_prefix(prefix), after, limit)

    async def transaction(self, puts: dict[str, bytes], deletes: builtins.list[str]) -> None:
        for key in (*puts, *deletes):
            check_key(key)
        await self._write({key: bytes(value) for key, value in puts.items()}, builtins.list(deletes))

    async def snapshot_entries(self) -> builtins.list[tuple[str, bytes]]:
        """Every entry as of one commit: one read transaction on a connection of its own, in a thread, so
        commits continue meanwhile (WAL keeps the transaction's view until it ends)."""
        return await asyncio.to_thread(self._read_all)

    async def replace_all(self, entries: builtins.list[tuple[str, bytes]]) -> None:
        """Swap the whole table for `entries` in one transaction, on the commit thread so that no group
        commit interleaves with it."""
        for key, _ in entries:
            check_key(key)
        if self._closed:
            raise StorageError("sqlite: cannot operate on a closed database")
        await asyncio.get_running_loop().run_in_executor(self._thread, self._replace, entries)

    async def close(self) -> None:
        self._closed = True
        if self._committer is not None:
            await asyncio.shield(self._committer)
        self._thread.shutdown(wait=True)
        with _storage_errors():
            self._db.close()
            self._writer.close()

    async def _write(self, puts: dict[str, bytes], deletes: builtins.list[str]) -> None:
        """Queue one write and wait until the group holding it has committed (or it failed)."""
        if self._closed:
            raise StorageError("sqlite: cannot operate on a closed database")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(((puts, deletes), future))
        if self._committer is None:
            self._committer = asyncio.create_task(self._commit_queued())
        await future

    async def _commit_queued(self) -> None:
        """Commit groups until the queue is empty; what queues during a commit forms the next group."""
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                group, self._queue = self._queue, []
                try:
                    failures = await loop.run_in_executor(self._thread, self._commit, [w for w, _ in group])
                except BaseException as exc:
                    for _, future in group + self._queue:
                        if not future.done():
                            future.set_exception(StorageError(f"sqlite: commit failed: {type(exc).__name__}"))
                    self._queue = []
                    if not isinstance(exc, Exception):
                        raise
                    return
                for (_, future), failure in zip(group, failures, strict=True):
                    if future.done():  # its writer was cancelled; the write itself may have committed
                        continue
                    if failure is None:
                        future.set_result(None)
                    else:
                        future.set_exception(failure)
        finally:
            self._committer = None

    def _commit(self, group: Sequence[_Write]) -> builtins.list[StorageError | None]:
        """On the commit thread: one transaction, one savepoint per write; each write's failure or None."""
        db = self._writer
        failures: builtins.list[StorageError | None] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for puts, deletes in group:
                db.execute("SAVEPOINT write")
                try:
                    db.executemany(_DELETE, [(key,) for key in deletes])
                    db.executemany(_INSERT, builtins.list(puts.items()))
                except sqlite3.Error as exc:
                    # Raises in turn when SQLite already rolled the whole transaction back (disk full, I/O).
                    db.execute("ROLLBACK TO write")
                    failures.append(StorageError(f"sqlite: {exc}"))
                else:
                    failures.append(None)
                db.execute("RELEASE write")
            db.execute("COMMIT")
        except BaseException as exc:
            # Whatever went wrong, the connection must not stay inside a transaction for the next group.
            if db.in_transaction:
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                return [StorageError(f"sqlite: {exc}") for _ in group]
            raise
        return failures

    def _read_all(self) -> builtins.list[tuple[str, bytes]]:
        with _storage_errors():
            db = sqlite3.connect(self.path, isolation_level=None)
            try:
                db.execute("PRAGMA busy_timeout=5000")
                db.execute("BEGIN")
                rows = db.execute("SELECT key, value FROM entries ORDER BY key").fetchall()
                db.execute("COMMIT")
            finally:
                db.close()
        return [(str(key), bytes(value)) for key, value in rows]

    def _replace(self, entries: builtins.list[tuple[str, bytes]]) -> None:
        """On the commit thread: delete every row and insert `entries`, all in one transaction."""
        db = self._writer
        with _storage_errors():
            try:
                db.execute("BEGIN IMMEDIATE")
                db.execute("DELETE FROM entries")
                db.executemany(_INSERT, entries)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    with suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise

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
