"""Serialisers with Go's output: encoding/json (toJSON, toJSONPretty) and YAML (toYAML).

Layer: agent. Imports stdlib, pyyaml and the sibling `errors` and `values` modules.

JSON follows Go's encoding/json byte for byte: map keys sorted, struct fields in declaration order,
`<`, `>` and `&` escaped as \\u003c, \\u003e, \\u0026 unless `escape_html` is off, Go's shortest floats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

import yaml

from strongroom.agent.template.errors import FunctionError
from strongroom.agent.template.gofmt import format_float
from strongroom.agent.template.values import MISSING, Struct

_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def _string(text: str, escape_html: bool) -> str:
    out = ['"']
    for char in text:
        if char in _SHORT:
            out.append(_SHORT[char])
        elif escape_html and char in _HTML:
            out.append(_HTML[char])
        elif ord(char) < 0x20 or char in "\u2028\u2029":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise FunctionError("json: unsupported value")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = repr(value)
        mantissa, _, exponent = text.partition("e")
        if exponent.startswith("-0"):
            exponent = "-" + exponent[2:]
        return f"{mantissa.removesuffix('.0')}e{exponent}"
    return format(Decimal(repr(value)).normalize(), "f")


def to_json(value: object, *, indent: str | None = None, escape_html: bool = True) -> str:
    """json.Marshal (or json.MarshalIndent with two-space `indent`) of a template value."""

    def encode(item: object, level: int) -> str:
        if item is None or item is MISSING:
            return "null"
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, int):
            return str(item)
        if isinstance(item, float):
            return _float(item)
        if isinstance(item, str):
            return _string(item, escape_html)
        pairs: list[tuple[str, object]] | None = None
        if isinstance(item, Struct):
            pairs = list(item.fields.items())
        elif isinstance(item, Mapping):
            pairs = [(str(k), item[k]) for k in sorted(item, key=str)]
        if pairs is not None:
            members = [(_string(k, escape_html), encode(v, level + 1)) for k, v in pairs]
            return _wrap("{", "}", [f"{k}:{' ' if indent else ''}{v}" for k, v in members], level)
        if isinstance(item, list | tuple):
            return _wrap("[", "]", [encode(v, level + 1) for v in item], level)
        raise FunctionError("json: unsupported type")

    def _wrap(open_: str, close: str, parts: list[str], level: int) -> str:
        if not parts:
            return open_ + close
        if indent is None:
            return open_ + ",".join(parts) + close
        inner = "\n" + indent * (level + 1)
        return open_ + inner + ("," + inner).join(parts) + "\n" + indent * level + close

    return encode(value, 0)


def _plain(value: object) -> object:
    if value is MISSING:
        return None
    if isinstance(value, Struct):
        return {k: _plain(v) for k, v in value.fields.items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# yaml.v2 reads these as booleans (YAML 1.1); PyYAML's resolver does not, so they are listed here.
_V2_BOOLS = frozenset({"y", "Y", "n", "N"})


class _GoYamlDumper(yaml.SafeDumper):
    """yaml.v2's string styles: double quotes for what would read back as another type, `|` for multi-line."""


def _resolve(dumper: _GoYamlDumper, text: str) -> str:
    tag: str = dumper.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag


def _represent_float(dumper: _GoYamlDumper, value: float) -> yaml.ScalarNode:
    if math.isnan(value):
        text = ".nan"
    elif math.isinf(value):
        text = ".inf" if value > 0 else "-.inf"
    else:
        text = format_float(value)
    # Tag the text as PyYAML would read it ("1" as an int), so it is emitted plain like yaml.v2 does.
    return dumper.represent_scalar(_resolve(dumper, text), text)


def _represent_str(dumper: _GoYamlDumper, text: str) -> yaml.ScalarNode:
    style: str | None = None
    if "\n" in text:
        style = "|"
    elif text in _V2_BOOLS or _resolve(dumper, text) != "tag:yaml.org,2002:str":
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_GoYamlDumper.add_representer(str, _represent_str)
_GoYamlDumper.add_representer(float, _represent_float)


def to_yaml(value: object) -> str:
    """yaml.Marshal of a template value, without the trailing newline (as consul-template trims it)."""
    text = yaml.dump(
        _plain(value), Dumper=_GoYamlDumper, default_flow_style=False, sort_keys=True, allow_unicode=True
    )
    return text.removesuffix("...\n").strip()
