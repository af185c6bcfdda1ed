"""Reading one block of an agent config: its keys checked against a table, each value converted, each
refusal and notice placed at `file:line`.

Layer: config. Imports hcl, util and errors only.

A table maps a key to a converter. A plain converter takes the value and raises ValueError with what is
wrong; a `Nested` converter receives the `Place` too, for keys that are blocks with lines of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from strongroom import hcl
from strongroom.errors import ConfigError
from strongroom.util.durations import parse_duration


@dataclass(frozen=True, slots=True)
class Place:
    """One config file being read, and the notices gathered from it."""

    filename: str
    notices: list[str] = field(default_factory=list)

    def at(self, line: int) -> str:
        return f"{self.filename}:{line}" if line else self.filename

    def error(self, line: int, message: str) -> ConfigError:
        return ConfigError(f"{self.at(line)}: {message}")

    def notice(self, line: int, message: str) -> None:
        self.notices.append(f"{self.at(line)}: {message}")


@dataclass(frozen=True, slots=True)
class Nested:
    """A converter for a key whose value has lines of its own: called with the place and the key's line."""

    convert: Callable[[Place, int, Any], Any]


Converter = Callable[[Any], Any] | Nested


def first_line(value: Any) -> int:
    """The first line known inside `value` (a block, a list of blocks), or 0 (JSON)."""
    if isinstance(value, list) and value:
        return first_line(value[0])
    if isinstance(value, dict):
        line = hcl.block_line(value)
        if line:
            return line
        return next((first_line(v) for v in value.values() if isinstance(v, dict | list)), 0)
    return 0


def key_line(body: Any, key: str) -> int:
    """The line of `key` in `body`: its `=`, else its first block, else the body's own line."""
    return hcl.assignment_line(body, key) or first_line(body.get(key)) or hcl.block_line(body)


def read_fields(
    place: Place,
    body: Mapping[str, Any],
    what: str,
    table: Mapping[str, Converter],
    ignored: Mapping[str, str] | None = None,
    *,
    strict: bool = False,
) -> dict[str, Any]:
    """The converted values of `body`'s keys; a bad value raises ConfigError at its line. A key in
    `ignored` only adds a notice, and so does an unknown key: Vault Agent's HCL decoding skips keys it does
    not know, so a config it loads must load here too (the notice still points at a misspelling). With
    `strict` an unknown key is refused, as Vault Agent's strict decoding of template, env_template and
    exec stanzas refuses it."""
    values: dict[str, Any] = {}
    for key, value in body.items():
        line = key_line(body, key)
        if ignored and key in ignored:
            place.notice(line, f"{what} {key!r} is accepted and ignored: {ignored[key]}")
            continue
        converter = table.get(key)
        if converter is None and strict:
            raise place.error(line, f"unknown key {key!r} in {what}")
        if converter is None:
            place.notice(line, f"unknown key {key!r} in {what} is ignored, as Vault Agent ignores it")
            continue
        if isinstance(converter, Nested):
            values[key] = converter.convert(place, line, value)
            continue
        try:
            values[key] = converter(value)
        except ValueError as exc:
            raise place.error(line, f"{what} {key!r}: {exc}") from None
    return values


def blocks(place: Place, line: int, value: Any, depth: int) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """`hcl.blocks`, with a refusal placed at `line`."""
    try:
        return hcl.blocks(value, depth)
    except ConfigError as exc:
        raise place.error(line, str(exc)) from None


def single(place: Place, line: int, value: Any, name: str) -> dict[str, Any]:
    """The body of a block that may appear once (`vault`, `retry`, `exec`)."""
    try:
        body = hcl.single_block(value, name)
    except ConfigError as exc:
        raise place.error(line, str(exc)) from None
    return body if body is not None else {}


def labelled(place: Place, line: int, value: Any, what: str) -> list[tuple[str, dict[str, Any]]]:
    """The `(type, body)` pairs of a block written either `what "TYPE" { }` or `what { type = "TYPE" }`.

    A body that names its `type`, or that HCL read as a block body, is unlabelled; anything else is the
    map of label to body that both HCL's labelled form and JSON give. The body is returned as read (with
    its lines), so tables that read it accept a `type` key.
    """
    found: list[tuple[str, dict[str, Any]]] = []
    for _, body in blocks(place, line, value, 0):
        if "type" not in body and not isinstance(body, hcl.HCLObject):
            for labels, labelled_body in blocks(place, line, body, 1):
                # A `type` inside wins over the label, as in Vault Agent.
                inside = labelled_body.get("type")
                kind = inside if isinstance(inside, str) and inside else labels[0]
                found.append((kind.lower(), labelled_body))
            continue
        kind = body.get("type", "")
        if not isinstance(kind, str) or not kind:
            raise place.error(hcl.block_line(body) or line, f"{what} type must be specified")
        found.append((kind.lower(), body))
    return found


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def text_or_number(value: Any) -> str:
    """A user or group: a name, or a numeric ID written either way."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("expected a name or a numeric ID")
    return str(value)


def boolean(value: Any) -> bool:
    """A boolean the way Vault's parseutil.ParseBool reads one (also "true"/"false"/"1"/"0")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "t", "f"):
        return value.lower() in ("true", "1", "t")
    raise ValueError("expected a boolean")


def duration(value: Any) -> int:
    try:
        return parse_duration(value)
    except (ValueError, TypeError):
        raise ValueError(f"invalid duration {value!r}") from None


def integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
        raise ValueError("expected a whole number")
    return int(value)


def file_mode(value: Any) -> int:
    """A file mode: an HCL octal literal (0640, already a number) or an octal string ("0640")."""
    if isinstance(value, bool):
        raise ValueError('expected a file mode such as 0640 or "0640"')
    if isinstance(value, str):
        try:
            mode = int(value, 8)
        except ValueError:
            raise ValueError(f'{value!r} is not an octal file mode such as "0640"') from None
    elif isinstance(value, int):
        mode = value
    else:
        raise ValueError('expected a file mode such as 0640 or "0640"')
    if not 0 <= mode <= 0o7777:
        raise ValueError(f"{oct(mode)} is not a file mode")
    return mode


def choice(*options: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = string(value).lower()
        if text not in options:
            raise ValueError(f"{value!r} is not one of {', '.join(options)}")
        return text

    return check


def command(value: Any) -> tuple[tuple[str, ...], bool]:
    """A command as a list of arguments, or one string for the shell: `(args, shell)`."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("the command is empty")
        return (value,), True
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value), False
    raise ValueError("expected a command: a non-empty list of strings, or one string")


def string_list(value: Any) -> tuple[str, ...]:
    """A list of strings, or one comma-separated string (mapstructure's StringToSliceHook)."""
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError("expected a list of strings")
