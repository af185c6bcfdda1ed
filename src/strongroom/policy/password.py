"""Password policies (Vault's sys/policies/password): HCL naming a length and "charset" rules, parsed,
checked, kept and used to generate passwords.

Layer: policy. Imports hcl, errors, logical.storage and the standard library.

A policy reads::

    length = 20
    rule "charset" {
      charset   = "abcdefghijklmnopqrstuvwxyz"
      min-chars = 1
    }

A password is `length` characters drawn uniformly from the union of the rules' charsets, redrawn until
every rule's min-chars is met (Vault's generator, so the distribution is the same).

Invariant: generated passwords come only from `secrets` (the OS's CSPRNG) and never reach an error message.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

from strongroom import hcl
from strongroom.errors import ConfigError
from strongroom.logical.storage import Storage, get_json, put_json

MIN_LENGTH = 4
MAX_LENGTH = 100
# Vault gives a generation one second before it gives up on a policy its rules make unlikely.
GENERATE_TIMEOUT = 1.0


class PasswordPolicyError(ConfigError):
    """A password policy that cannot be used; the message is Vault's."""


@dataclass(frozen=True, slots=True)
class CharsetRule:
    """At least `min_chars` of the password's characters come from `charset`."""

    charset: str
    min_chars: int = 0

    def passes(self, candidate: str) -> bool:
        if self.min_chars <= 0:
            return True
        return sum(1 for c in candidate if c in self.charset) >= self.min_chars


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """A parsed policy: its length and rules, and the alphabet they make (deduplicated, sorted)."""

    length: int
    rules: tuple[CharsetRule, ...]

    @property
    def alphabet(self) -> str:
        return "".join(sorted({c for rule in self.rules for c in rule.charset}))

    def generate(self) -> str:
        """A password that passes every rule (PasswordPolicyError when none turns up within a second)."""
        alphabet = self.alphabet
        deadline = time.monotonic() + GENERATE_TIMEOUT
        while time.monotonic() < deadline:
            candidate = "".join(secrets.choice(alphabet) for _ in range(self.length))
            if all(rule.passes(candidate) for rule in self.rules):
                return candidate
        raise PasswordPolicyError("timed out generating string")


DEFAULT_POLICY = PasswordPolicy(
    length=20,
    rules=tuple(
        CharsetRule(charset, 1)
        for charset in (string.ascii_lowercase, string.ascii_uppercase, string.digits, "-")
    ),
)
"""Vault's default for generated credentials: 20 characters, at least one of each class."""


def multierror_text(messages: list[str]) -> str:
    """Go's multierror text, which Vault nests inside its policy errors."""
    count = "1 error occurred" if len(messages) == 1 else f"{len(messages)} errors occurred"
    return count + ":\n" + "".join(f"\t* {m}\n" for m in messages) + "\n"


def decode_policy_text(raw: str) -> str:
    """The policy as given, or decoded when it is base64 (Vault accepts both)."""
    try:
        return base64.b64decode(raw, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return raw


def parse(text: str) -> PasswordPolicy:
    """The policy `text` describes; PasswordPolicyError with Vault's words when it is not usable."""
    try:
        document = hcl.loads(text)
    except ConfigError as exc:
        raise PasswordPolicyError(f"unable to decode: {exc}") from None
    length = document.get("length", 0)
    if isinstance(length, bool) or not isinstance(length, int):
        raise PasswordPolicyError(
            "failed to decode configuration: decoding failed due to the following error(s):\n\n"
            f"'length' expected type 'int', got unconvertible type '{_go_type(length)}'"
        )
    rules = tuple(_rules(document.get("rule")))
    problems: list[str] = []
    needed = sum(rule.min_chars for rule in rules)
    if length <= 0:
        problems.append("length must be > 0")
    elif length < needed:
        problems.append(f"specified rules require at least {needed} characters but {length} is specified")
    policy = PasswordPolicy(length=length, rules=rules)
    if not policy.alphabet:
        problems.append("no charset specified")
    elif not all(c.isprintable() for c in policy.alphabet):
        problems.append("non-printable character in charset")
    if problems:
        raise PasswordPolicyError(multierror_text(problems))
    return policy


def checked(raw: str) -> tuple[str, PasswordPolicy]:
    """What sys/policies/password stores for `raw` (decoded from base64 when it is), and the policy; the
    errors are the ones Vault answers a write with."""
    text = decode_policy_text(raw)
    try:
        policy = parse(text)
    except PasswordPolicyError as exc:
        raise PasswordPolicyError(f"invalid password policy: {exc}") from None
    if not MIN_LENGTH <= policy.length <= MAX_LENGTH:
        raise PasswordPolicyError(f"passwords must be between {MIN_LENGTH} and {MAX_LENGTH} characters")
    return text, policy


def _rules(value: Any) -> list[CharsetRule]:
    rules: list[CharsetRule] = []
    try:
        found = hcl.blocks(value, 1)
    except ConfigError as exc:
        raise PasswordPolicyError(f"unable to retrieve rules: {exc}") from None
    for (kind,), body in found:
        if kind != "charset":
            raise PasswordPolicyError(
                f"unable to parse rules: unable to parse rule {kind}: unrecognized rule type {kind}"
            )
        charset, min_chars = body.get("charset", ""), body.get("min-chars", 0)
        if not isinstance(charset, str) or isinstance(min_chars, bool) or not isinstance(min_chars, int):
            raise PasswordPolicyError(
                "unable to parse rules: unable to parse rule charset: failed to parse charset restriction"
            )
        rules.append(CharsetRule(charset, min_chars))
    return rules


def _go_type(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, float):
        return "float64"
    return type(value).__name__


class PasswordPolicyStore:
    """Password policies at rest, one JSON record per policy ({"policy": <HCL>}, as Vault stores it)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def get(self, name: str) -> str | None:
        """The HCL text of policy `name`, or None."""
        raw = await get_json(self._storage, name)
        return None if raw is None else str(raw.get("policy", ""))

    async def put(self, name: str, raw: str) -> None:
        """Check `raw` (HCL, or base64 of it) and keep it; PasswordPolicyError when it is not usable."""
        text, _ = checked(raw)
        await put_json(self._storage, name, {"policy": text})

    async def delete(self, name: str) -> None:
        await self._storage.delete(name)

    async def list(self) -> list[str]:
        return await self._storage.list("")

    async def generate(self, name: str) -> str:
        """A password from policy `name`; PasswordPolicyError when there is none (Vault's words)."""
        text = await self.get(name)
        if text is None:
            raise PasswordPolicyError("no password policy found")
        return parse(text).generate()
