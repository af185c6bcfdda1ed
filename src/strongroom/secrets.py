"""The application side of secret delivery: read a secret that `strongroom run` (or Docker) delivered.

Layer: app-side helper, for the programs that receive secrets. Imports stdlib and `strongroom.errors`
only, so an application can use it without loading the client or the server.

A secret NAME is read from the file named by $NAME_FILE (NAME upper-cased, every character that is not
a letter or digit turned into `_`), else from /run/secrets/NAME: the convention of Docker's official
images, which `strongroom run` follows when it exports the variables.

Invariant: error messages name the variable and the paths tried, never a secret's value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from strongroom.errors import StrongroomError

SECRETS_DIR = Path("/run/secrets")
_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")


class SecretUnavailable(StrongroomError):
    """No delivered secret could be read under that name."""


def file_variable(name: str) -> str:
    """The environment variable that names the file of secret `name`: `db-pass` gives DB_PASS_FILE."""
    return _NOT_ALPHANUMERIC.sub("_", name).upper() + "_FILE"


def read_bytes(name: str, environ: Mapping[str, str] | None = None) -> bytes:
    """The delivered secret `name`, as bytes."""
    env = os.environ if environ is None else environ
    variable = file_variable(name)
    named = env.get(variable)
    path = Path(named) if named else SECRETS_DIR / name
    tried = f"${variable}={named}" if named else f"${variable} (unset), then {path}"
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SecretUnavailable(f"secret {name!r} is not available: tried {tried}: {exc.strerror}") from None


def read(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The delivered secret `name`, as UTF-8 text."""
    try:
        return read_bytes(name, environ).decode("utf-8")
    except UnicodeDecodeError:
        raise SecretUnavailable(f"secret {name!r} is not UTF-8 text; use read_bytes") from None
