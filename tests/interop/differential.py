"""Differential testing: run one scripted sequence of HTTP requests against two servers and compare.

A Step is one request described as data. Placeholders `${name}` in its path, body, headers and token are
filled from what earlier steps saved from the SAME server's answers (a created token, an accessor), so each
server is driven with its own values. Answers are normalized (volatile values masked) and compared key by
key; every mismatch is reported with the step name and the JSON path where the answers part.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from tests.servers import RunningServer

_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
ABSENT = "<absent>"


@dataclass(frozen=True)
class Step:
    """One request of the script.

    token: "root" by default; "" sends none; anything else is sent as is after placeholder filling.
    body: a JSON value (sent as JSON) or bytes (sent raw). target: a raw request target sent unnormalized
    (for paths with `..`, which httpx would otherwise resolve before sending).
    save: variable name -> dotted path into the JSON answer, for later steps.
    """

    name: str
    method: str
    path: str
    body: Any = None
    token: str = "root"
    headers: Mapping[str, str] = field(default_factory=dict)
    save: Mapping[str, str] = field(default_factory=dict)
    target: str = ""


@dataclass(frozen=True)
class Answer:
    """What a server answered to one step, normalized."""

    status: int
    body: Any


@dataclass(frozen=True)
class Mismatch:
    """One place where the two servers' answers to a step differ."""

    step: str
    where: str
    ours: Any
    theirs: Any

    def __str__(self) -> str:
        return f"[{self.step}] {self.where}: ours={_short(self.ours)} bao={_short(self.theirs)}"


@dataclass(frozen=True)
class Intended:
    """A difference we keep on purpose: the step and JSON path it concerns (fnmatch globs), and why."""

    step: str
    where: str
    reason: str

    def covers(self, mismatch: Mismatch) -> bool:
        where = self.where.replace("[", "[[]")  # list indexes in paths are literal, not character sets
        return fnmatch.fnmatchcase(mismatch.step, self.step) and fnmatch.fnmatchcase(mismatch.where, where)


def _short(value: Any) -> str:
    text = value if value == ABSENT else orjson.dumps(value).decode()
    return text if len(text) <= 300 else text[:300] + "..."


def _fill(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: variables[m.group(1)], value)
    if isinstance(value, dict):
        return {_fill(k, variables): _fill(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, variables) for v in value]
    return value


def _dig(body: Any, dotted: str) -> str:
    for part in dotted.split("."):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return str(body)


def run(server: RunningServer, steps: Sequence[Step]) -> list[Answer]:
    """Send every step to `server` in order; the raw (unmasked) answers."""
    variables: dict[str, str] = {}
    answers: list[Answer] = []
    with httpx.Client(base_url=server.address, timeout=10) as client:
        for step in steps:
            headers = dict(_fill(dict(step.headers), variables))
            token = _fill(step.token, variables)
            if token:
                headers["X-Vault-Token"] = token
            content: bytes | None = None
            if isinstance(step.body, bytes):
                content = step.body
            elif step.body is not None:
                content = orjson.dumps(_fill(step.body, variables))
                headers.setdefault("Content-Type", "application/json")
            extensions = {"target": step.target.encode()} if step.target else None
            path = _fill(step.path, variables)
            response = client.request(
                step.method, path, content=content, headers=headers, extensions=extensions
            )
            try:
                body: Any = response.json() if response.content else None
            except ValueError:
                body = response.text
            answers.append(Answer(response.status_code, body))
            for name, dotted in step.save.items():
                try:
                    variables[name] = _dig(body, dotted)
                except (KeyError, IndexError, TypeError):
                    variables[name] = f"<{step.name}: no {dotted}>"
    return answers


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_TOKEN = re.compile(r"^(s|hvs|b|hvb)\.[A-Za-z0-9_-]{20,}$")
# Keys whose (non-empty) values are random or server-specific by nature.
VOLATILE_KEYS = frozenset(
    {
        "request_id", "accessor", "client_token", "cluster_name", "cluster_id", "server_time_utc",
        "build_date", "nonce", "running_plugin_version", "mount_accessor", "creation_time",
        "last_renewal_time",
    }
)  # fmt: skip
# Build version strings ("2.7.2" vs ours) under these keys; a KV mount's {"version": "2"} is not one.
VERSION_KEYS = frozenset({"version"})
_BUILD_VERSION = re.compile(r"^v?\d+\.\d+\.\d+")
# Remaining lifetimes, counted down between the request and the answer: equal within a few seconds.
COUNTDOWN_KEYS = frozenset({"ttl"})
COUNTDOWN_SLACK = 3


def mask(value: Any, key: str = "") -> Any:
    """`value` with volatile parts replaced by placeholders (empty values stay, so "" vs set is seen)."""
    if isinstance(value, dict):
        return {k: mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, str) and value:
        if key in VOLATILE_KEYS:
            return f"<{key}>"
        if key in VERSION_KEYS and _BUILD_VERSION.match(value):
            return "<version>"
        if _UUID.match(value):
            return "<uuid>"
        if _TIME.match(value):
            return "<time>"
        if _TOKEN.match(value):
            return "<token>"
    if key in VOLATILE_KEYS and isinstance(value, int) and not isinstance(value, bool):
        return f"<{key}>"
    return value


def _diff(step: str, where: str, ours: Any, theirs: Any, key: str = "") -> Iterable[Mismatch]:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for name in sorted(ours.keys() | theirs.keys()):
            inner = f"{where}.{name}" if where else name
            yield from _diff(step, inner, ours.get(name, ABSENT), theirs.get(name, ABSENT), name)
        return
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            yield from _diff(step, f"{where}[{index}]", a, b)
        return
    if (
        key in COUNTDOWN_KEYS
        and isinstance(ours, int)
        and isinstance(theirs, int)
        and abs(ours - theirs) <= COUNTDOWN_SLACK
    ):
        return
    if ours != theirs or type(ours) is not type(theirs):
        yield Mismatch(step, where or "body", ours, theirs)


def compare(steps: Sequence[Step], ours: Sequence[Answer], theirs: Sequence[Answer]) -> list[Mismatch]:
    """Every mismatch between the two servers' answers, step by step."""
    found: list[Mismatch] = []
    for step, a, b in zip(steps, ours, theirs, strict=True):
        if a.status != b.status:
            found.append(Mismatch(step.name, "status", a.status, b.status))
        found.extend(_diff(step.name, "", mask(a.body), mask(b.body)))
    return found


def assert_alike(
    steps: Sequence[Step], ours: Sequence[Answer], theirs: Sequence[Answer], intended: Sequence[Intended]
) -> None:
    """Fail with a readable report on any difference `intended` does not explain, and on any entry of
    `intended` that no longer happens (so the table never outlives the difference it excuses)."""
    mismatches = compare(steps, ours, theirs)
    unexpected = [m for m in mismatches if not any(i.covers(m) for i in intended)]
    stale = [i for i in intended if not any(i.covers(m) for m in mismatches)]
    assert not unexpected, report(unexpected, stale)
    assert not stale, report(unexpected, stale)


def report(unexpected: Sequence[Mismatch], stale: Sequence[Intended]) -> str:
    """A readable failure message."""
    lines = [f"{len(unexpected)} unexpected difference(s) between strongroom and OpenBao:"]
    lines += [f"  {m}" for m in unexpected]
    if stale:
        lines.append("intended differences that no longer occur (remove them from the table):")
        lines += [f"  [{i.step}] {i.where}: {i.reason}" for i in stale]
    return "\n".join(lines)
