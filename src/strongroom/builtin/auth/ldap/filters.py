"""The text of LDAP requests: Vault's escaping of a username in a search filter and in a DN, its filter
templates (Go text/template, {{.Field}} actions only), and reading a group's CN out of its DN.

Layer: builtin. Standard library only (pure functions; the directory I/O is directory.py's).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

DEFAULT_USERFILTER = "({{.UserAttr}}={{.Username}})"
DEFAULT_GROUPFILTER = "(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))"

# A Go text/template action as these filters use it: {{.Field}} (spaces allowed inside the braces).
_ACTION = re.compile(r"\{\{-?\s*\.([A-Za-z_]\w*)\s*-?\}\}")


class DirectoryError(Exception):
    """Login failed at the directory; `invalid_credentials` marks a failed user bind (counted for lockout)."""

    def __init__(self, message: str, *, invalid_credentials: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.invalid_credentials = invalid_credentials


def check_template(template: str) -> str | None:
    """Why `template` is not a filter template Vault would parse, or None when it is."""
    rest = _ACTION.sub("", template)
    if "{{" in rest:
        return 'template: queryTemplate:1: unexpected "{{" in filter: only {{.Field}} actions are supported'
    if "}}" in rest:
        return 'template: queryTemplate:1: unexpected "}}" in operand'
    return None


def render(template: str, values: Mapping[str, str]) -> str:
    """The filter `template` with each {{.Field}} replaced by its (already escaped) value."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise DirectoryError(
                "LDAP search failed due to template parsing error: template: queryTemplate:1: "
                f"can't evaluate field {name}"
            )
        return values[name]

    return _ACTION.sub(value, template)


def escape_filter(value: str) -> str:
    """go-ldap's EscapeFilter: NUL, parentheses, "*", backslash and every non-ASCII byte as \\xx."""
    out = []
    for byte in value.encode():
        if byte in b"\x00()*\\" or byte > 0x7F:
            out.append(f"\\{byte:02x}")
        else:
            out.append(chr(byte))
    return "".join(out)


def escape_dn_value(value: str) -> str:
    """Vault's EscapeLDAPValue (RFC 4514 escaping of a username placed in a DN), quirks included."""
    out = []
    data = value.encode()
    for i, byte in enumerate(data):
        char = chr(byte)
        at_edge = (i == 0 or i == len(data) - 1) and char == " "
        if at_edge or char == "#" or char in '"+,;<>\\':
            out.append("\\" + char)
        elif byte < 0x20 or byte > 0x7E:
            out.append(f"\\{byte:02x}")
        else:
            out.append(char)
    return "".join(out)


def group_cn(dn: str, *, exact_case: bool = False) -> str:
    """The first CN value of a group's DN (or the value as it is, when it is not a DN), as Vault's getCN;
    `exact_case` (use_pre111_group_cn_behavior) matches only the attribute type "CN" written in capitals."""
    attributes = parse_dn(dn)
    for attribute, value in attributes or ():
        if attribute == "CN" if exact_case else attribute.lower() == "cn":
            return value
    return dn


def parse_dn(dn: str) -> list[tuple[str, str]] | None:
    """The (type, unescaped value) pairs of an RFC 4514 DN in order, or None when `dn` is not one."""
    pairs: list[tuple[str, str]] = []
    kind, value, in_value = "", bytearray(), False
    i = 0
    while i < len(dn):
        char = dn[i]
        if in_value and char == "\\" and i + 1 < len(dn):
            pair = dn[i + 1 : i + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                value.append(int(pair, 16))
                i += 3
                continue
            value.extend(dn[i + 1].encode())
            i += 2
            continue
        if not in_value and char == "=":
            in_value = True
        elif in_value and char in ",+;":
            pairs.append((kind.strip(), value.decode(errors="replace").strip()))
            kind, value, in_value = "", bytearray(), False
        elif in_value:
            value.extend(char.encode())
        else:
            kind += char
        i += 1
    if not in_value or not kind.strip():
        return None
    pairs.append((kind.strip(), value.decode(errors="replace").strip()))
    return pairs
