"""Docker-style secrets kept in the encrypted store through the Vault API: create, list, inspect, remove,
and fetch the value for delivery.

Layer: delivery. Imports `strongroom.client` and stdlib; never the server.

Storage layout (one KV version 2 mount, `docker-secrets/` by default, enabled on first use when the
token may):

- `<mount>/data/<name>` holds the value: `{"value": <text>, "encoding": "utf-8"}`, or `"base64"` with the
  value base64-encoded when the bytes are not UTF-8. The write carries `cas=0`, so creating a name that
  already exists fails atomically on the server.
- `<mount>/metadata/<name>` carries Docker's metadata in `custom_metadata`: `id` (25 lowercase
  alphanumerics, as Docker's IDs look) and one `label.<key>` entry per label. CreatedAt and UpdatedAt are
  the KV metadata's created_time and updated_time; Version.Index is its current_version.

Names and sizes follow Docker (swarmkit): a name matches NAME_PATTERN, at most 64 characters; the data is
at least 1 byte and under 500 KiB.

Invariant: a secret's value is returned only by `fetch`; records, reprs and error messages never carry it.
"""

from __future__ import annotations

import base64
import re
import secrets as random
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from strongroom.client import Client, ClientError
from strongroom.errors import StrongroomError

DEFAULT_MOUNT = "docker-secrets"
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$")
MAX_NAME_LENGTH = 64
MAX_SECRET_SIZE = 500 * 1024
ID_LENGTH = 25
_ID_ALPHABET = string.ascii_lowercase + string.digits
_LABEL_PREFIX = "label."

INVALID_NAME = (
    "invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be "
    "[a-zA-Z0-9]"
)
INVALID_SIZE = f"secret data must be larger than 0 and less than {MAX_SECRET_SIZE} bytes"


class SecretStoreError(StrongroomError):
    """A Docker-secrets operation was refused; the message is worded as swarmkit words it, and `code` is
    the gRPC status name Docker's daemon reports with it."""

    code = "InvalidArgument"


class SecretExists(SecretStoreError):
    """A secret of that name exists already."""

    code = "AlreadyExists"


class SecretNotFound(SecretStoreError):
    """No secret of that name (or ID)."""

    code = "NotFound"


@dataclass(frozen=True, slots=True)
class SecretRecord:
    """What Docker shows of a secret: everything but its value."""

    id: str
    name: str
    version: int
    created_at: str
    updated_at: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def inspect(self) -> dict[str, Any]:
        """The object `docker secret inspect` prints for this secret."""
        return {
            "ID": self.id,
            "Version": {"Index": self.version},
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "Spec": {"Name": self.name, "Labels": dict(self.labels)},
        }


def validate_name(name: str) -> None:
    """Refuse a name Docker refuses."""
    if len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.match(name):
        raise SecretStoreError(INVALID_NAME)


def validate_data(data: bytes) -> None:
    """Refuse data Docker refuses: empty, or 500 KiB and more."""
    if not 0 < len(data) < MAX_SECRET_SIZE:
        raise SecretStoreError(INVALID_SIZE)


def new_id() -> str:
    """A fresh secret ID: 25 random lowercase alphanumerics."""
    return "".join(random.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))


class SecretStore:
    """Docker-style secrets in one KV version 2 mount, reached only through the API client."""

    def __init__(self, client: Client, mount: str = DEFAULT_MOUNT) -> None:
        self._client = client
        self._mount = mount.strip("/")

    def create(self, name: str, data: bytes, labels: Mapping[str, str]) -> SecretRecord:
        """Store a new secret; SecretStoreError when the name exists or Docker would refuse it."""
        validate_name(name)
        validate_data(data)
        self._ensure_mount()
        try:
            value = {"value": data.decode("utf-8"), "encoding": "utf-8"}
        except UnicodeDecodeError:
            value = {"value": base64.b64encode(data).decode("ascii"), "encoding": "base64"}
        try:
            self._client.write(f"{self._mount}/data/{name}", {"data": value, "options": {"cas": 0}})
        except ClientError as exc:
            if exc.status == 400 and any("check-and-set" in error for error in exc.errors):
                raise SecretExists(f"secret {name} already exists") from None
            raise
        custom = {"id": new_id(), **{_LABEL_PREFIX + key: value for key, value in labels.items()}}
        try:
            self._client.write(f"{self._mount}/metadata/{name}", {"custom_metadata": custom})
        except ClientError:
            # A secret without its ID would be half made; take the value back out rather than keep it.
            self._client.delete(f"{self._mount}/metadata/{name}")
            raise
        return self.inspect(name)

    def names(self) -> list[str]:
        """The names of all secrets, sorted."""
        listing = self._client.list(f"{self._mount}/metadata")
        keys = ((listing or {}).get("data") or {}).get("keys") or []
        return sorted(str(key) for key in keys if not str(key).endswith("/"))

    def list(self) -> list[SecretRecord]:
        """Every secret's record, sorted by name."""
        return [self.inspect(name) for name in self.names()]

    def inspect(self, name_or_id: str) -> SecretRecord:
        """One secret's record, by name or by ID; SecretNotFound when there is none."""
        if NAME_PATTERN.match(name_or_id) and len(name_or_id) <= MAX_NAME_LENGTH:
            record = self._record(name_or_id)
            if record is not None:
                return record
        if len(name_or_id) == ID_LENGTH:
            for name in self.names():
                record = self._record(name)
                if record is not None and record.id == name_or_id:
                    return record
        raise SecretNotFound(f"No such secret: {name_or_id}")

    def remove(self, name_or_id: str) -> SecretRecord:
        """Delete a secret and every version of its value; SecretNotFound when there is none."""
        record = self.inspect(name_or_id)
        self._client.delete(f"{self._mount}/metadata/{record.name}")
        return record

    def fetch(self, name: str) -> bytes:
        """The value of one secret, for delivery to a program; SecretNotFound when there is none."""
        record = self.inspect(name)
        secret = self._client.read(f"{self._mount}/data/{record.name}")
        data = ((secret or {}).get("data") or {}).get("data") or {}
        value = data.get("value")
        if not isinstance(value, str):
            raise SecretNotFound(f"No such secret: {name}")
        if data.get("encoding") == "base64":
            return base64.b64decode(value)
        return value.encode("utf-8")

    def _record(self, name: str) -> SecretRecord | None:
        secret = self._client.read(f"{self._mount}/metadata/{name}")
        meta = (secret or {}).get("data") or {}
        custom = meta.get("custom_metadata") or {}
        if not meta or "id" not in custom:
            return None
        labels = {
            key[len(_LABEL_PREFIX) :]: str(value)
            for key, value in sorted(custom.items())
            if key.startswith(_LABEL_PREFIX)
        }
        return SecretRecord(
            id=str(custom["id"]),
            name=name,
            version=int(meta.get("current_version") or 0),
            created_at=str(meta.get("created_time", "")),
            updated_at=str(meta.get("updated_time", "")),
            labels=labels,
        )

    def _ensure_mount(self) -> None:
        try:
            mount, version = self._client.kv_mount_info(f"{self._mount}/")
        except ClientError:
            mount, version = "", 0
        if mount.strip("/") == self._mount:
            if version != 2:
                raise SecretStoreError(f"the mount {self._mount}/ is not a KV version 2 mount")
            return
        try:
            self._client.write(
                f"sys/mounts/{self._mount}",
                {"type": "kv", "options": {"version": "2"}, "description": "Docker-style secrets"},
            )
        except ClientError as exc:
            # Another creator may have enabled it between the check and this write.
            if not any("already in use" in error for error in exc.errors):
                raise
