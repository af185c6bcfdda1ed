"""What a secret looks like: known token formats, secret-looking names, and Shannon entropy.

Layer: scan. Imports only the standard library.

Two kinds of evidence. A *known format* (a Vault token, an AWS access key, a PEM private key header, ...)
is a secret wherever it appears. A *name* (PASSWORD, API_KEY, ...) makes the value assigned to it a
secret in places built to hold configuration (Dockerfile ENV/ARG, compose `environment:`, `.env`); in any
other text file the value must also look random (entropy) before it is reported, so prose and examples
("password: changeme") stay quiet.

Invariant: a Finding's value never reaches its repr; only `masked()` is meant for output.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Finding:
    """A secret at `file`:`line`, found by `rule`; `name` is the variable it is assigned to, if any."""

    file: str
    line: int
    rule: str
    value: str = field(repr=False)
    name: str = ""

    def masked(self) -> str:
        """The value with all but its first 4 characters hidden (all of it when it is short)."""
        return mask(self.value)


def mask(value: str) -> str:
    """`value` reduced to its first 4 characters and a fixed `****`, so neither the rest nor the length
    leaks; values under 12 characters are hidden entirely, since 4 of them would be too much of them."""
    return f"{value[:4]}****" if len(value) >= 12 else "****"


# Known formats: (rule, pattern). Each is a secret wherever it appears.
KNOWN_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private-key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("vault-token", re.compile(r"\b(?:hvs|hvb|hvr)\.[A-Za-z0-9_-]{20,}")),
    # Legacy service and batch tokens: s. or b. and 24 base62 characters; a digit is required so that
    # dotted identifiers ("s.ProcessingInstructions") are not taken for tokens.
    ("vault-token", re.compile(r"(?<![\w.])[sb]\.(?=[A-Za-z0-9]*[0-9])[A-Za-z0-9]{24}(?![\w.])")),
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    ("github-token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("github-token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}\b")),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("slack-webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}")),
    # A password written into a URL between `user:` and `@`; a ${VAR} in its place is a reference.
    ("url-password", re.compile(r"\b[a-z][a-z0-9+.-]*://[^:/@\s]+:[^@/\s${}<>]{3,}@[^\s\"']+")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
)

_PEM_BODY = re.compile(r"^([A-Za-z0-9+/=]{16,}|Proc-Type:)")
_ESCAPED_PEM_BODY = re.compile(r"-----(\\r)?\\n([A-Za-z0-9+/=]{16,}|Proc-Type:)")

# An AWS secret access key has no prefix: 40 base64 characters, reported when an access key or the word
# "aws" and "secret" is near.
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_AWS_SECRET_NAME = re.compile(r"(?i)aws.{0,20}secret|secret.{0,20}access.{0,5}key")
AWS_NEARBY_LINES = 3

_SECRET_NAME = re.compile(
    r"(?i)(passw(or)?d|passwd|\bpwd\b|_pwd\b|secret|token|api[_-]?key|apikey|private[_-]?key|"
    r"access[_-]?key|client[_-]?key|credential|auth[_-]?key|signing[_-]?key|encryption[_-]?key)"
)
# A name with one of these endings holds where a secret is, not the secret: DB_PASSWORD_FILE is the
# `*_FILE` convention this scanner recommends.
_NOT_A_VALUE_SUFFIX = re.compile(
    r"(?i)[_.-](file|path|dir|filename|length|min|max|ttl|timeout|expiry|type|name|endpoint|header|"
    r"algorithm|alg|method|mode|policy|enabled|required|format|version)$"
)

# Compose and shell references stand for a value kept elsewhere: ${VAR}, ${VAR:-default}, $VAR.
_REFERENCE = re.compile(r"^(\$\{[A-Za-z_][A-Za-z0-9_]*(?:[:?+-][^}]*)?\}|\$[A-Za-z_][A-Za-z0-9_]*)+$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^/@\s]+@")
_PLACEHOLDER = re.compile(r"(?i)^(<[^>]*>|x+|\*+|\.+|changeme|none|null|true|false|empty|redacted)$")

ENTROPY_THRESHOLD = 3.5
ENTROPY_MIN_LENGTH = 16
# `name = value`, `name: "value"`, `"name": "value"`: a value of token characters that ends there, so
# code (`token = self.read(path)`) is not taken for one.
_ASSIGNMENT = re.compile(
    r"""(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)["']?\s*(?::=|=|:)\s*(?P<quote>["']?)"""
    r"""(?P<value>[A-Za-z0-9+/=_.~-]+)(?=["'\s,;)}\]]|$)"""
)
ALLOW_MARKER = "strongroom:allow"
"""A line holding this text is not reported (a test fixture, a documented example)."""


def shannon_entropy(text: str) -> float:
    """Bits of Shannon entropy per character of `text`."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def secret_name(name: str) -> bool:
    """Whether a variable called `name` is meant to hold a secret value."""
    return bool(_SECRET_NAME.search(name)) and not _NOT_A_VALUE_SUFFIX.search(name)


def literal_value(value: str) -> bool:
    """Whether `value` is written out (so a secret), rather than empty, a reference or a placeholder.

    Absolute paths and URLs without a password are left out: they say where a value is kept, not what
    it is.
    """
    value = value.strip()
    return bool(
        value
        and not _REFERENCE.match(value)
        and not _PLACEHOLDER.match(value)
        and not (value.startswith("/") and " " not in value)
        and not (_URL.match(value) and not _URL_PASSWORD.match(value))
    )


def known_format(value: str) -> str | None:
    """The rule of the known format `value` is entirely, or None."""
    for rule, pattern in KNOWN_FORMATS:
        if pattern.fullmatch(value):
            return rule
    return None


def known_formats(text: str) -> Iterator[tuple[str, str]]:
    """Every (rule, value) of a known format in `text`."""
    for rule, pattern in KNOWN_FORMATS:
        for match in pattern.finditer(text):
            yield rule, match.group(0)


def scan_lines(
    file: str, lines: list[str], taken: set[tuple[int, str]], *, quoted_only: bool = False
) -> Iterator[Finding]:
    """Known formats, AWS secret keys and high-entropy secret assignments in the `lines` of any text file.

    `taken` holds (line, value) pairs already reported by a format-specific reader; they are not
    reported twice, and neither is a value inside one of them. With `quoted_only` (source code, where an
    unquoted value is an expression) only string literals count as assigned values.
    """
    access_key_lines: list[int] = []
    for number, line in enumerate(lines, 1):
        for rule, value in known_formats(line):
            if rule == "aws-access-key":
                access_key_lines.append(number)
            if rule == "private-key" and not _pem_body(line, lines[number] if number < len(lines) else ""):
                continue
            if not _covered(taken, number, value):
                taken.add((number, value))
                yield Finding(file, number, rule, value)
    for number, line in enumerate(lines, 1):
        named = bool(_AWS_SECRET_NAME.search(line))
        near = any(abs(number - key_line) <= AWS_NEARBY_LINES for key_line in access_key_lines)
        if not (named or near):
            continue
        for match in _AWS_SECRET.finditer(line):
            value = match.group(0)
            if _mixed(value) and not _covered(taken, number, value):
                taken.add((number, value))
                yield Finding(file, number, "aws-secret-key", value)
    for number, line in enumerate(lines, 1):
        for match in _ASSIGNMENT.finditer(line):
            name, value, quote = match.group("name"), match.group("value"), match.group("quote")
            if (quote and line[match.end() : match.end() + 1] != quote) or (quoted_only and not quote):
                continue
            if secret_name(name) and high_entropy(value) and not _covered(taken, number, value):
                taken.add((number, value))
                yield Finding(file, number, "high-entropy", value, name.rsplit(".", 1)[-1])


def high_entropy(value: str) -> bool:
    """Whether `value` is long and random enough to be a generated secret: generated secrets mix letters
    and digits, where identifiers, paths and names rarely do."""
    return (
        len(value) >= ENTROPY_MIN_LENGTH
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
        and literal_value(value)
        and shannon_entropy(value) >= ENTROPY_THRESHOLD
    )


def _pem_body(line: str, next_line: str) -> bool:
    # A header alone (code checking that some output starts with one) is not a key: the key's base64
    # body, or an encrypted key's Proc-Type, follows on the next line or after an escaped newline.
    after = line.split("PRIVATE KEY", 1)[1]
    return bool(_PEM_BODY.match(next_line.strip()) or _ESCAPED_PEM_BODY.search(after))


def _mixed(value: str) -> bool:
    # A 40-character run of one letter class (a word, a path, a hex digest) is not a base64 key.
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() or c in "/+" for c in value)
    )


def _covered(taken: set[tuple[int, str]], line: int, value: str) -> bool:
    return any(number == line and value in known for number, known in taken)
