"""The lease cache and the auto-auth token kept on disk across agent restarts, encrypted (Vault Agent's
persistent cache: `cache { persist "kubernetes" | "file" { path = ... } }`).

Layer: agent. Imports cryptography (AES-GCM, HKDF), sqlite3, orjson, stdlib and config.agent_model.

    store, imported = open_persistent(settings)    # PersistError when it cannot be opened
    imported.entries, imported.token               # what an earlier agent left (decrypted)
    store.put(key, record); store.delete(key); store.put_token(token); store.close()

The file is <path>/strongroom-agent-cache.db (SQLite), created owner-only (0600) before anything is
written to it. As in Vault Agent: a file left by an earlier agent is imported when the agent starts, then
deleted, and nothing more is persisted, unless `keep_after_import` (the usual pair is an init container
with exit_after_auth that fills it, and the sidecar that imports it); without a file, a new one is
created and kept current. A file that cannot be imported (wrong key, damaged) stops the agent with
`exit_on_err`, and is otherwise replaced by a new one after an error line.

Protection: every value is AES-256-GCM under a key derived with HKDF-SHA256 from a secret outside the
file and a random salt kept in it, with "<table>:<row>" as associated data, so that a value cannot be
moved to another row. The secret is, for `kubernetes`, the pod's service-account token (Vault's
`service_account_token_file`, by default the mounted one), and for `file`, strongroom's own type, the
contents of `key_file`. Vault Agent keeps the key itself in its file and uses the service-account token
as associated data only; deriving the key from the token instead means the file alone decrypts nothing.

Invariant: tokens, lease IDs and bodies reach the disk only encrypted; errors name files, never values.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from strongroom.config.agent_model import PersistSettings

FILE_NAME = "strongroom-agent-cache.db"
DEFAULT_SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
_INFO = b"strongroom agent persistent cache"
_CHECK = b"strongroom agent cache"
_NONCE = 12


class PersistError(Exception):
    """The persistent cache cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Imported:
    """What an earlier agent left: lease cache records (by cache key) and its auto-auth token."""

    entries: Mapping[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    token: str = field(default="", repr=False)


def _secret(settings: PersistSettings) -> bytes:
    if settings.type == "kubernetes":
        name = settings.service_account_token_file or DEFAULT_SERVICE_ACCOUNT_TOKEN
        what = "service account token"
    elif settings.type == "file":
        if not settings.key_file:
            raise PersistError('persist "file" needs key_file')
        name, what = settings.key_file, "key file"
    else:
        raise PersistError(f"persistent key protection type {settings.type!r} not supported")
    try:
        secret = Path(name).read_bytes().strip()
    except OSError as exc:
        raise PersistError(f"failed to read {what} from {name}: {exc.strerror or exc}") from None
    if not secret:
        raise PersistError(f"failed to read {what} from {name}: the file is empty")
    return secret


class PersistentCache:
    """One open cache file: rows written through at once (the agent may be killed at any moment)."""

    def __init__(self, path: Path, secret: bytes, *, create: bool) -> None:
        self.path = path
        if create:
            # Created owner-only before SQLite opens it; its journal takes the same mode.
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS entries (id TEXT PRIMARY KEY, value BLOB NOT NULL)")
        row = self._db.execute("SELECT value FROM meta WHERE name = 'salt'").fetchone()
        salt = bytes(row[0]) if row else secrets.token_bytes(32)
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(secret)
        self._aead = AESGCM(key)
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('salt', ?)", (salt,))
            self._put("meta", "check", _CHECK)
            return
        try:
            if self._get("meta", "check") != _CHECK:
                raise PersistError("the persistent cache was written under another key")
        except PersistError:
            self._db.close()
            raise

    def _seal(self, table: str, name: str, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, f"{table}:{name}".encode())

    def _open(self, table: str, name: str, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], f"{table}:{name}".encode())
        except InvalidTag:
            raise PersistError("the persistent cache was written under another key") from None

    def _put(self, table: str, name: str, plaintext: bytes) -> None:
        column = "name" if table == "meta" else "id"
        self._db.execute(
            f"INSERT OR REPLACE INTO {table} ({column}, value) VALUES (?, ?)",  # noqa: S608 (two literals)
            (name, self._seal(table, name, plaintext)),
        )

    def _get(self, table: str, name: str) -> bytes | None:
        column = "name" if table == "meta" else "id"
        row = self._db.execute(f"SELECT value FROM {table} WHERE {column} = ?", (name,)).fetchone()  # noqa: S608
        return None if row is None else self._open(table, name, bytes(row[0]))

    def read(self) -> Imported:
        """Everything in the file, decrypted; PersistError when a value will not decrypt or parse."""
        entries: dict[str, dict[str, Any]] = {}
        for name, sealed in self._db.execute("SELECT id, value FROM entries").fetchall():
            try:
                record = orjson.loads(self._open("entries", name, bytes(sealed)))
            except orjson.JSONDecodeError:
                raise PersistError("a persistent cache entry is damaged") from None
            if isinstance(record, dict):
                entries[name] = record
        token = self._get("meta", "auto-auth-token")
        return Imported(entries, token.decode() if token else "")

    def put(self, key: str, record: Mapping[str, Any]) -> None:
        self._put("entries", key, orjson.dumps(record))

    def delete(self, key: str) -> None:
        self._db.execute("DELETE FROM entries WHERE id = ?", (key,))

    def put_token(self, token: str) -> None:
        self._put("meta", "auto-auth-token", token.encode())

    def close(self) -> None:
        self._db.close()


def open_persistent(settings: PersistSettings) -> tuple[PersistentCache | None, Imported, str]:
    """Open (or create) the cache file: the store to keep writing to (None once a file was imported
    without keep_after_import), what was imported, and an import error to log ("" for none).
    PersistError when it cannot be opened at all, or the import failed and exit_on_err is set."""
    if not settings.path:
        raise PersistError("must specify persistent cache path")
    secret = _secret(settings)
    path = Path(settings.path) / FILE_NAME
    if not path.exists():
        return _create(path, secret), Imported(), ""
    imported, error = Imported(), ""
    store: PersistentCache | None = None
    try:
        store = PersistentCache(path, secret, create=False)
        imported = store.read()
    except (PersistError, sqlite3.Error) as exc:
        error = f"error restoring the cache from {path}: {exc}"
        if settings.exit_on_err:
            raise PersistError(f"{error}; exiting as exit_on_err is set") from None
    if store is not None and not error and settings.keep_after_import:
        return store, imported, ""
    if store is not None:
        store.close()
    try:
        path.unlink()
    except OSError as exc:
        if settings.exit_on_err:
            raise PersistError(f"failed to remove {path}: {exc.strerror}") from None
        error = error or f"failed to remove {path}: {exc.strerror}"
    # An unreadable file is replaced, so that this run's cache survives the next restart.
    if error and not path.exists():
        return _create(path, secret), imported, error
    return None, imported, error


def _create(path: Path, secret: bytes) -> PersistentCache:
    try:
        return PersistentCache(path, secret, create=True)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            path.unlink()
        raise PersistError(f"cannot create the persistent cache {path}: {exc}") from None
