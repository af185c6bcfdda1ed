"""How the CLI prints API responses: Vault's table, JSON and YAML formats, and single fields.

Layer: cli. Imports click, PyYAML (when YAML is asked for) and `strongroom.util`; knows nothing of HTTP.

The table format copies the Vault CLI's: columns joined by four spaces, empty cells shown as "n/a", values
printed the way Go's `%v` prints decoded JSON (`map[a:1]`, `[x y]`, `<nil>`), and fields that look like
durations shown as Go durations ("1h", "59m59s"), so scripts that read Vault's output read ours.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from strongroom.util.durations import format_duration

if TYPE_CHECKING:
    import yaml

FORMATS = ("table", "json", "yaml")
_SECRET_FIELDS = ("request_id", "lease_id", "lease_duration", "renewable", "data", "warnings")
_WRAP_INFO_DEFAULTS: tuple[tuple[str, object], ...] = (
    ("token", ""),
    ("accessor", ""),
    ("ttl", 0),
    ("creation_time", ""),
    ("creation_path", ""),
    ("wrapped_accessor", ""),
)
"""The fields of wrap_info in the order the Vault CLI prints them, with the value it shows when absent."""
_WRAP_FIELDS = {
    "wrapping_token": "token",
    "wrapping_accessor": "accessor",
    "wrapping_token_ttl": "ttl",
    "wrapping_token_creation_time": "creation_time",
    "wrapping_token_creation_path": "creation_path",
    "wrapped_accessor": "wrapped_accessor",
}


def go_value(value: object) -> str:
    """A decoded JSON value printed as Go's `%v` prints it."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{go_value(value[key])}" for key in sorted(value)) + "]"
    return str(value)


def go_quoted_list(values: Sequence[object] | None) -> str:
    """A list of strings printed as Go's `%q` prints a []string: `["a" "b"]`."""
    return "[" + " ".join(json.dumps(str(item)) for item in values or ()) + "]"


def go_time_string(timestamp: str) -> str:
    """An RFC 3339 timestamp as Go's time.Time.String() prints it: "2024-01-02 03:04:05.5 +0000 UTC".

    Text that is not such a timestamp is returned unchanged.
    """
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", timestamp)
    if not match:
        return timestamp
    day, clock, fraction, zone = match.groups()
    fraction = (fraction or "").rstrip("0").rstrip(".")
    offset = "+0000 UTC" if zone == "Z" else f"{zone.replace(':', '')} {zone.replace(':', '')}"
    return f"{day} {clock}{fraction} {offset}"


def rfc3339_nano(timestamp: str) -> str:
    """An RFC 3339 timestamp as Go re-marshals a parsed time: trailing zeros of the fraction dropped."""
    return re.sub(r"\.(\d*?)0+(?=\D|$)", lambda m: f".{m.group(1)}" if m.group(1) else "", timestamp, count=1)


def looks_like_duration(key: str) -> bool:
    """Whether the Vault CLI shows a field named `key` as a duration."""
    return key in ("period", "ttl", "duration", "lease_max", "ttl_max") or key.endswith(
        ("_period", "_ttl", "_duration")
    )


def human_duration(value: object) -> object:
    """Whole seconds as a short Go duration ("1h", "1h30m", "59m59s"); other values unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return value
    if isinstance(value, str) and not re.fullmatch(r"\d+", value):
        return value
    text = format_duration(int(value))
    text = text.removesuffix("0s") if text.endswith("m0s") else text
    return text.replace("h0m", "h", 1)


def columns(rows: Iterable[Sequence[str]]) -> str:
    """Rows aligned in columns joined by four spaces; empty cells read "n/a"; the last column is unpadded."""
    table = [[cell if cell != "" else "n/a" for cell in row] for row in rows]
    if not table:
        return ""
    widths = [max(len(row[i]) for row in table if i < len(row)) for i in range(max(map(len, table)))]
    lines = []
    for row in table:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append("    ".join(cells))
    return "\n".join(lines)


def key_value_table(pairs: Iterable[tuple[str, str]]) -> str:
    """A Key/Value table with Vault's header rows."""
    return columns([("Key", "Value"), ("---", "-----"), *pairs])


def map_rows(data: Mapping[str, object]) -> list[tuple[str, str]]:
    """The rows Vault prints for a map: sorted keys, durations humanized."""
    return [
        (key, go_value(human_duration(data[key]) if looks_like_duration(key) else data[key]))
        for key in sorted(data)
    ]


def secret_rows(secret: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The rows of Vault's table for a whole API response: lease, auth, wrap info, then the data."""
    rows: list[tuple[str, str]] = []
    lease_duration = secret.get("lease_duration") or 0
    if lease_duration:
        if secret.get("lease_id"):
            rows += [
                ("lease_id", str(secret["lease_id"])),
                ("lease_duration", go_value(human_duration(lease_duration))),
                ("lease_renewable", go_value(bool(secret.get("renewable")))),
            ]
        else:
            rows.append(("refresh_interval", go_value(human_duration(lease_duration))))
    auth = secret.get("auth")
    if isinstance(auth, dict):
        duration = auth.get("lease_duration") or 0
        rows += [
            ("token", str(auth.get("client_token", ""))),
            ("token_accessor", str(auth.get("accessor", ""))),
            ("token_duration", go_value(human_duration(duration)) if duration else "∞"),
            ("token_renewable", go_value(bool(auth.get("renewable")))),
            ("token_policies", go_quoted_list(auth.get("token_policies"))),
            ("identity_policies", go_quoted_list(auth.get("identity_policies"))),
            ("policies", go_quoted_list(auth.get("policies"))),
        ]
        rows += [
            (f"token_meta_{key}", go_value(value)) for key, value in (auth.get("metadata") or {}).items()
        ]
    wrap = secret.get("wrap_info")
    if isinstance(wrap, dict):
        rows += [
            ("wrapping_token:", str(wrap.get("token", ""))),
            ("wrapping_accessor:", str(wrap.get("accessor", ""))),
            ("wrapping_token_ttl:", go_value(human_duration(wrap.get("ttl", 0)))),
            ("wrapping_token_creation_time:", go_time_string(str(wrap.get("creation_time", "")))),
            ("wrapping_token_creation_path:", str(wrap.get("creation_path", ""))),
        ]
        if wrap.get("wrapped_accessor"):
            rows.append(("wrapped_accessor:", str(wrap["wrapped_accessor"])))
    data = secret.get("data")
    if isinstance(data, dict):
        rows += map_rows(data)
    return rows


def secret_field(secret: Mapping[str, Any], field: str) -> object:
    """One field of a response as `-field` finds it: auth and wrap fields by their table names, then data.

    Raises KeyError when the response has no such field.
    """
    auth = secret.get("auth")
    if isinstance(auth, dict):
        auth_fields = {
            "token": "client_token",
            "token_accessor": "accessor",
            "token_duration": "lease_duration",
            "token_renewable": "renewable",
            "token_policies": "token_policies",
            "identity_policies": "identity_policies",
            "policies": "policies",
        }
        if field in auth_fields:
            return auth.get(auth_fields[field])
    wrap = secret.get("wrap_info")
    if isinstance(wrap, dict) and field in _WRAP_FIELDS:
        return wrap.get(_WRAP_FIELDS[field], "")
    data = secret.get("data")
    if isinstance(data, dict) and field in data:
        return data[field]
    raise KeyError(field)


GoField = tuple[str, object, bool]
"""One field of a Go struct the Vault CLI decodes a response into: (JSON name, zero value, omitempty)."""


def go_struct(value: Mapping[str, Any], fields: Sequence[GoField]) -> dict[str, Any]:
    """`value` as the Vault CLI re-encodes it after decoding it into a Go struct: only the struct's
    fields, in the struct's order, zero values for missing ones, and omitempty fields left out when empty."""
    document: dict[str, Any] = {}
    for name, zero, omitempty in fields:
        item = value.get(name, zero)
        if item is None:
            item = zero
        if omitempty and not item:
            continue
        document[name] = _sorted_deep(item)
    return document


def _sorted_deep(value: object) -> object:
    if isinstance(value, dict):
        return {key: _sorted_deep(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_deep(item) for item in value]
    return value


def secret_document(secret: Mapping[str, Any]) -> dict[str, Any]:
    """A response as the Vault CLI prints it: fixed top-level order; auth and wrap_info only when set."""
    document = {name: _sorted_deep(secret.get(name)) for name in _SECRET_FIELDS}
    document["lease_id"] = document["lease_id"] or ""
    document["lease_duration"] = document["lease_duration"] or 0
    document["renewable"] = bool(document["renewable"])
    wrap = secret.get("wrap_info")
    if isinstance(wrap, dict):
        wrap_info = {key: wrap.get(key, default) for key, default in _WRAP_INFO_DEFAULTS}
        wrap_info["creation_time"] = rfc3339_nano(str(wrap_info["creation_time"]))
        document["wrap_info"] = wrap_info
    auth = secret.get("auth")
    if isinstance(auth, dict):
        document["auth"] = {key: _sorted_deep(item) for key, item in auth.items()}
    return document


def _go_yaml_key_less(a: str, b: str) -> bool:
    """Go's yaml.v2 key order (its sorter.go), which the Vault CLI's YAML output uses: runs of digits
    compare as numbers ("t9" before "t10"), a letter sorts after a non-letter, anything else by code point.
    """
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x == y:
            continue
        x_letter, y_letter = x.isalpha(), y.isalpha()
        if x_letter and y_letter:
            return x < y
        if x_letter or y_letter:
            return y_letter
        a_number = b_number = 0
        if x == "0" or y == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    a_number = b_number = 1
                    break
                j -= 1
        a_end = i
        while a_end < len(a) and a[a_end].isdecimal():
            a_number = _int64(a_number * 10 + ord(a[a_end]) - ord("0"))
            a_end += 1
        b_end = i
        while b_end < len(b) and b[b_end].isdecimal():
            b_number = _int64(b_number * 10 + ord(b[b_end]) - ord("0"))
            b_end += 1
        if a_number != b_number:
            return a_number < b_number
        if a_end != b_end:
            return a_end < b_end
        return x < y
    return len(a) < len(b)


def _int64(value: int) -> int:
    """`value` wrapped to a signed 64-bit integer, as Go's arithmetic on int64 overflows."""
    return (value + 2**63) % 2**64 - 2**63


def _go_yaml_compare(a: str, b: str) -> int:
    return -1 if _go_yaml_key_less(a, b) else 1 if _go_yaml_key_less(b, a) else 0


_go_yaml_key = functools.cmp_to_key(_go_yaml_compare)


@functools.cache
def _dumper() -> type[yaml.SafeDumper]:
    """YAML as Go's yaml package writes it: maps in its key order, and strings that need quoting get
    double quotes, not single. Built on first use, so commands that print no YAML never import PyYAML."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def choose_scalar_style(self) -> str:
            style = super().choose_scalar_style()
            return '"' if style == "'" else style

    def represent_map(dumper: yaml.SafeDumper, data: dict[str, object]) -> yaml.MappingNode:
        return dumper.represent_mapping(
            "tag:yaml.org,2002:map", sorted(data.items(), key=lambda item: _go_yaml_key(str(item[0])))
        )

    Dumper.add_representer(dict, represent_map)
    return Dumper


def render(value: object, fmt: str) -> str:
    """`value` as JSON (two-space indent) or YAML (sorted keys); JSON keeps the order it is given."""
    if fmt == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    import yaml

    return yaml.dump(
        value, Dumper=_dumper(), sort_keys=False, allow_unicode=True, default_flow_style=False
    ).rstrip("\n")


def print_secret(secret: Mapping[str, Any], fmt: str) -> None:
    """A whole API response: Vault's table, or the raw response as JSON or YAML."""
    if fmt == "table":
        rows = secret_rows(secret)
        if rows:
            click.echo(key_value_table(rows))
        return
    click.echo(render(secret_document(secret), fmt))


def print_map(data: Mapping[str, object], fmt: str) -> None:
    """A plain map (not a whole response) in the chosen format."""
    if fmt == "table":
        if data:
            click.echo(key_value_table(map_rows(data)))
        return
    click.echo(render(_sorted_deep(dict(data)), fmt))


def print_list(keys: Sequence[object], fmt: str) -> None:
    """The keys of a LIST response: a "Keys" column, or the array as JSON or YAML."""
    if fmt == "table":
        click.echo(columns([("Keys",), ("----",), *((str(key),) for key in keys)]))
        return
    click.echo(render(list(keys), fmt))


def print_field(value: object, fmt: str) -> None:
    """One field's raw value. No trailing newline when stdout is not a terminal, as the Vault CLI does."""
    if fmt != "table":
        click.echo(render(_sorted_deep(value), fmt))
        return
    text = value if isinstance(value, str) else go_value(value)
    click.echo(text, nl=sys.stdout.isatty())


def padded_header(title: str, width: int) -> str:
    """A section title centred in equal signs to `width`, as the Vault CLI's kv commands print it."""
    signs = width - (len(title) + 2)
    if signs <= 0:
        signs = 4
    if signs % 2:
        signs += 1
    return f"{'=' * (signs // 2)} {title} {'=' * (signs // 2)}"


def map_header(title: str, data: Mapping[str, object]) -> str:
    """A section title sized to the Key/Value table of `data` that follows it."""
    return padded_header(title, max((len(key) for key in data), default=0) + 4 + 5)
