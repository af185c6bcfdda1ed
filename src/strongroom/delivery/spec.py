"""`-secret=` requests of `strongroom run`, parsed with Docker's `--secret` rules.

Layer: delivery. Imports stdlib only.

A request is comma-separated `key=value` fields (source or src, target, uid, gid, mode), as
`docker service create --secret` takes them; the first field may be a bare NAME, short for source=NAME.
The target defaults to the source; uid and gid default to 0 and the mode to 0444, an octal number.

Invariant: every target is a file directly inside /run/secrets (a bare file name, or an absolute path
in that directory), so a secret can land only on the private tmpfs and never on a disk.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

SECRETS_DIR = "/run/secrets"
DEFAULT_MODE = 0o444


class SpecError(ValueError):
    """A -secret= request Docker's rules refuse."""


@dataclass(frozen=True, slots=True)
class SecretRequest:
    """One secret to deliver: which one, where in /run/secrets, and with which owner and mode."""

    source: str
    target: str
    uid: int = 0
    gid: int = 0
    mode: int = DEFAULT_MODE

    @property
    def path(self) -> str:
        """The absolute path of the delivered file."""
        return posixpath.join(SECRETS_DIR, self.target)


def parse_request(value: str) -> SecretRequest:
    """One -secret= value as a request."""
    fields: dict[str, str] = {}
    for index, item in enumerate(value.split(",")):
        key, equals, raw = item.partition("=")
        if not equals:
            if index == 0 and item:
                fields["source"] = item
                continue
            raise SpecError(f"invalid field '{item}' must be a key=value pair")
        key = key.strip().lower()
        if key == "src":
            key = "source"
        if key not in ("source", "target", "uid", "gid", "mode"):
            raise SpecError(f"invalid field key '{key}'")
        fields[key] = raw
    source = fields.get("source", "")
    if not source:
        raise SpecError("source is required")
    return SecretRequest(
        source=source,
        target=_target(fields.get("target") or source),
        uid=_number(fields, "uid", 10),
        gid=_number(fields, "gid", 10),
        mode=_number(fields, "mode", 8) if "mode" in fields else DEFAULT_MODE,
    )


def parse_requests(values: Sequence[str]) -> list[SecretRequest]:
    """Every -secret= value; two requests may not share a target."""
    requests = [parse_request(value) for value in values]
    seen: set[str] = set()
    for request in requests:
        if request.target in seen:
            raise SpecError(f"duplicate secret target for {request.source} not allowed")
        seen.add(request.target)
    return requests


def _number(fields: dict[str, str], key: str, base: int) -> int:
    try:
        number = int(fields.get(key) or "0", base)
    except ValueError:
        raise SpecError(f"invalid {key} '{fields.get(key)}'") from None
    if not 0 <= number < 2**32 or (key == "mode" and number > 0o7777):
        raise SpecError(f"invalid {key} '{fields.get(key)}'")
    return number


def _target(target: str) -> str:
    if posixpath.isabs(target):
        directory, name = posixpath.split(posixpath.normpath(target))
        if directory != SECRETS_DIR:
            raise SpecError(f"invalid target '{target}': must be a file in {SECRETS_DIR}")
        target = name
    if "/" in target or target in ("", ".", ".."):
        raise SpecError(f"invalid target '{target}': must be a file in {SECRETS_DIR}")
    return target
