"""consul-template's functions that Vault Agent templates use, bound to one render's context.

Layer: agent. Imports stdlib, pyyaml and the sibling modules.

Data functions (`secret`, `secrets`, `pkiCert`) go through the injected `SecretSource` and record each
path they touch in the render's dependencies. The rest are pure, except `env` (the process environment
under the configured overlay), `file` (a local file) and `timestamp` (the injected clock).

Invariant: a FunctionError names the function and the Go types involved, never an argument's value.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

from strongroom.agent.template.encode import to_json, to_yaml
from strongroom.agent.template.errors import FunctionError
from strongroom.agent.template.evaluator import Function
from strongroom.agent.template.gotime import RFC3339, go_format
from strongroom.agent.template.source import Dependency, SecretSource, pem_value, secret_value
from strongroom.agent.template.values import go_type

# A word runs through apostrophes and underscores; its first letter, not digit, is upper-cased: 3rd -> 3Rd.
_TITLE_WORD = re.compile(r"[\w'\u2019]+")
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


@dataclass(slots=True)
class RenderContext:
    """What one render's functions share: the source, the environment, the clock and what was touched."""

    source: SecretSource | None
    env: Mapping[str, str]
    now: Callable[[], datetime]
    dependencies: set[Dependency] = field(default_factory=set)


def _title_word(match: re.Match[str]) -> str:
    word = match.group()
    for i, char in enumerate(word):
        if char.isalpha():
            return word[:i] + char.upper() + word[i + 1 :]
    return word


def _float_numbers(value: object) -> object:
    """Go's json.Unmarshal into interface{} makes every number a float64."""
    if isinstance(value, dict):
        return {k: _float_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_float_numbers(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise FunctionError(f"wrong type for value; expected string; got {go_type(value)}")
    return value


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise FunctionError(f"wrong type for value; expected int; got {go_type(value)}")
    return value


def _strings(value: object) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise FunctionError(f"wrong type for value; expected []string; got {go_type(value)}")
    return list(value)


def _kv_pairs(args: tuple[object, ...]) -> dict[str, str]:
    data: dict[str, str] = {}
    for arg in args:
        text = _str(arg)
        if not text:
            continue
        key, sep, value = text.partition("=")
        if not sep:
            raise FunctionError("argument is not a k=v pair")
        data[key.strip()] = value.strip()
    return data


def _need_source(context: RenderContext, name: str) -> SecretSource:
    if context.source is None:
        raise FunctionError(f"{name} needs a secret source, and this render has none")
    return context.source


async def _secret(context: RenderContext, *args: object) -> object:
    if not args:
        return None
    path = _str(args[0])
    source = _need_source(context, "secret")
    if len(args) == 1:
        context.dependencies.add(Dependency("read", path))
        response = await source.read(path)
        if response is None:
            raise FunctionError(f"no secret exists at {path}")
        return secret_value(response)
    data = _kv_pairs(args[1:])
    context.dependencies.add(Dependency("write", path))
    response = await source.write(path, data)
    return secret_value(response or {})


async def _secrets(context: RenderContext, path: object) -> list[str]:
    text = _str(path)
    if not text:
        return []
    context.dependencies.add(Dependency("list", text))
    return sorted(await _need_source(context, "secrets").list(text))


async def _pki_cert(context: RenderContext, *args: object) -> object:
    if not args:
        return None
    path = _str(args[0])
    source = _need_source(context, "pkiCert")
    context.dependencies.add(Dependency("pki", path))
    response = await source.write(path, _kv_pairs(args[1:]))
    if response is None or not isinstance(response.get("data"), Mapping):
        raise FunctionError(f"no certificate returned from {path}")
    return pem_value(response)


def _b64decode(name: str, urlsafe: bool) -> Callable[[object], str]:
    def decode(value: object) -> str:
        text = _str(value)
        try:
            raw = base64.b64decode(
                text.translate(str.maketrans("-_", "+/")) if urlsafe else text, validate=True
            )
            if urlsafe and any(c in text for c in "+/"):
                raise binascii.Error
        except (binascii.Error, ValueError):
            raise FunctionError(f"{name}: illegal base64 data") from None
        return raw.decode(errors="replace")

    return decode


def _parse_bool(value: object) -> bool:
    text = _str(value)
    if not text or text in _GO_FALSE:
        return False
    if text in _GO_TRUE:
        return True
    raise FunctionError("parseBool: invalid syntax")


def _parse_int(value: object) -> int:
    text = _str(value)
    if not text:
        return 0
    if not re.fullmatch(r"[+-]?\d+", text):
        raise FunctionError("parseInt: invalid syntax")
    result = int(text)
    if not -(2**63) <= result < 2**63:
        raise FunctionError("parseInt: value out of range")
    return result


def _parse_float(value: object) -> float:
    text = _str(value)
    if not text:
        return 0.0
    try:
        if "_" in text:
            raise ValueError
        return float(text)
    except ValueError:
        raise FunctionError("parseFloat: invalid syntax") from None


def _parse_json(value: object) -> object:
    text = _str(value)
    if not text:
        return {}
    try:
        return _float_numbers(orjson.loads(text))
    except orjson.JSONDecodeError:
        raise FunctionError("parseJSON: invalid JSON") from None


def _parse_yaml(value: object) -> object:
    text = _str(value)
    if not text:
        return {}
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise FunctionError("parseYAML: invalid YAML") from None


def _indent(spaces: object, value: object) -> str:
    count, text = _int(spaces), _str(value)
    if count < 0:
        raise FunctionError("indent value must be a positive integer")
    out: list[str] = []
    at_line_start = True
    for char in text:
        if at_line_start and char != "\n":
            out.append(" " * count)
        out.append(char)
        at_line_start = char == "\n"
    return "".join(out)


def _split(sep: object, value: object) -> list[str]:
    separator, text = _str(sep), _str(value).strip()
    if not text:
        return []
    if not separator:
        return list(text)
    return text.split(separator)


def _contained(collection: object, value: object) -> bool:
    """consul-template's `in`: element of a list (same kind), or substring of a string."""
    if isinstance(collection, list | tuple):
        return any(
            type(item) is type(value) and not isinstance(item, bool) and item == value for item in collection
        )
    if isinstance(collection, str) and isinstance(value, str):
        return value in collection
    return False


def _contains_some(any_: bool, invert: bool) -> Callable[[object, object], bool]:
    def check(values: object, collection: object) -> bool:
        if not isinstance(values, list | tuple):
            raise FunctionError(f"wrong type for value; expected []interface {{}}; got {go_type(values)}")
        for item in values:
            if _contained(collection, item) != invert:
                return any_
        return not any_

    return check


def _timestamp(context: RenderContext, *layout: object) -> str:
    if len(layout) > 1:
        raise FunctionError(f"timestamp: wrong number of arguments, expected 0 or 1, but got {len(layout)}")
    moment = context.now()
    if not layout:
        return go_format(moment, RFC3339)
    text = _str(layout[0])
    if text == "unix":
        return str(int(moment.timestamp()))
    return go_format(moment, text)


async def _file(path: object) -> str:
    text = _str(path)
    if not text:
        return ""
    try:
        return await asyncio.to_thread(Path(text).read_text)
    except OSError:
        raise FunctionError(f"file: cannot read {text}") from None


def _env(context: RenderContext, name: object) -> str:
    key = _str(name)
    if key in context.env:
        return context.env[key]
    return os.environ.get(key, "")


def _to_json(value: object) -> str:
    return to_json(value)


def consul_functions(context: RenderContext) -> dict[str, Function]:
    """The consul-template function table, bound to one render."""

    def bound(fn: Callable[..., Any]) -> Callable[..., Any]:
        return lambda *args: fn(context, *args)

    def s1(fn: Callable[[str], object]) -> Function:
        return Function(lambda v: fn(_str(v)), 1, 1)

    return {
        "secret": Function(bound(_secret), 0, None),
        "secrets": Function(bound(_secrets), 1, 1),
        "pkiCert": Function(bound(_pki_cert), 0, None),
        "toJSON": Function(_to_json, 1, 1),
        "toJSONPretty": Function(lambda v: to_json(v, indent="  "), 1, 1),
        "toUnescapedJSON": Function(lambda v: to_json(v, escape_html=False), 1, 1),
        "toUnescapedJSONPretty": Function(lambda v: to_json(v, indent="  ", escape_html=False), 1, 1),
        "toYAML": Function(to_yaml, 1, 1),
        "toLower": s1(str.lower),
        "toUpper": s1(str.upper),
        "toTitle": s1(lambda s: _TITLE_WORD.sub(_title_word, s)),
        "base64Encode": s1(lambda s: base64.b64encode(s.encode()).decode()),
        "base64Decode": Function(_b64decode("base64Decode", urlsafe=False), 1, 1),
        "base64URLEncode": s1(lambda s: base64.urlsafe_b64encode(s.encode()).decode()),
        "base64URLDecode": Function(_b64decode("base64URLDecode", urlsafe=True), 1, 1),
        "env": Function(bound(_env), 1, 1),
        "file": Function(_file, 1, 1),
        "parseJSON": Function(_parse_json, 1, 1),
        "parseYAML": Function(_parse_yaml, 1, 1),
        "parseBool": Function(_parse_bool, 1, 1),
        "parseInt": Function(_parse_int, 1, 1),
        "parseFloat": Function(_parse_float, 1, 1),
        "trimSpace": s1(lambda s: s.strip(" \t\n\r\v\f")),
        "trim": Function(lambda cut, s: _str(s).strip(_str(cut)), 2, 2),
        "trimPrefix": Function(lambda p, s: _str(s).removeprefix(_str(p)), 2, 2),
        "trimSuffix": Function(lambda p, s: _str(s).removesuffix(_str(p)), 2, 2),
        "replaceAll": Function(lambda f, t, s: _str(s).replace(_str(f), _str(t)), 3, 3),
        "split": Function(_split, 2, 2),
        "join": Function(lambda sep, items: _str(sep).join(_strings(items)), 2, 2),
        "indent": Function(_indent, 2, 2),
        "contains": Function(lambda v, coll: _contained(coll, v), 2, 2),
        "in": Function(_contained, 2, 2),
        "containsAny": Function(_contains_some(any_=True, invert=False), 2, 2),
        "containsAll": Function(_contains_some(any_=False, invert=True), 2, 2),
        "containsNone": Function(_contains_some(any_=False, invert=False), 2, 2),
        "containsNotAll": Function(_contains_some(any_=True, invert=True), 2, 2),
        "timestamp": Function(bound(_timestamp), 0, None),
        "sha256Hex": s1(lambda s: hashlib.sha256(s.encode()).hexdigest()),
        "md5sum": s1(lambda s: hashlib.md5(s.encode(), usedforsecurity=False).hexdigest()),
    }


CONSUL_FUNCTION_NAMES = frozenset(
    consul_functions(RenderContext(source=None, env={}, now=datetime.now)).keys()
)
