"""The operations a request can carry, with Vault's names."""

from __future__ import annotations

from enum import StrEnum


class Operation(StrEnum):
    """What a request asks a backend to do. POST/PUT become CREATE or UPDATE by the existence check."""

    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    LIST = "list"
    HELP = "help"
    # HTTP HEAD; handled like READ by the few endpoints that allow it (sys/health).
    HEAD = "head"
