"""`strongroom scan -fix`: move the secrets of compose files into strongroom and make the services read
them as files (the `*_FILE` convention and compose `secrets:`).

Layer: scan. Imports yaml, `strongroom.scan.sources`, and `strongroom.client` (only to store values).

`FOO: value` in a service's environment becomes `FOO_FILE: /run/secrets/foo`; the service gets `foo` in its
`secrets:` list, and the file's top-level `secrets:` defines `foo` as `./secrets/foo`, which an agent or
`strongroom kv get -field=foo MOUNT/PREFIX/STEM` renders. The rewrite edits only the text of the nodes
concerned, so comments and layout survive, and the result must parse before it replaces the file.

Invariant: values go only to the server; descriptions carry them masked.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from strongroom.scan.rules import Finding
from strongroom.scan.sources import ComposeEntry, compose_entries, is_compose, mapping_value, read_text

if TYPE_CHECKING:
    from strongroom.client import Client


class FixError(Exception):
    """A compose file cannot be rewritten safely, or the target mount is not KV version 2."""


@dataclass(frozen=True, slots=True)
class Move:
    """One variable moved: its compose entry and the secret (and KV key) name it becomes."""

    entry: ComposeEntry
    secret: str


@dataclass(frozen=True, slots=True)
class ComposeFix:
    """Everything -fix does to one compose file."""

    path: Path
    shown: str
    mount: str
    kv_path: str
    moves: tuple[Move, ...]
    new_text: str
    """The rewritten file, made when planning so that a dry run already fails where -apply would."""

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(move.entry.finding for move in self.moves)

    def describe(self, *, applied: bool) -> str:
        """One line per moved variable, values masked."""
        verb = "moved" if applied else "would move"
        return "".join(
            f"{self.shown}:{m.entry.finding.line}: {m.entry.finding.rule}: {verb} {m.entry.finding.name}="
            f"{m.entry.finding.masked()} to {self.mount}/{self.kv_path} key {m.secret}; the service "
            f"{m.entry.service} reads {m.entry.finding.name}_FILE=/run/secrets/{m.secret}\n"
            for m in self.moves
        )

    def store(self, client: Client) -> None:
        """Write the values into the KV version 2 mount, beside what the path already holds."""
        mount, version = client.kv_mount_info(f"{self.mount}/{self.kv_path}")
        if version != 2 or mount.strip("/") != self.mount.strip("/"):
            raise FixError(f"{self.mount}/ is not a KV version 2 mount")
        api_path = f"{self.mount.strip('/')}/data/{self.kv_path}"
        existing = ((client.read(api_path) or {}).get("data") or {}).get("data") or {}
        values = dict(existing) | {move.secret: move.entry.finding.value for move in self.moves}
        client.write(api_path, {"data": values})

    def rewrite(self) -> None:
        """Replace the compose file with its rewritten text, atomically and with its mode kept."""
        write_atomically(self.path, self.new_text)


def plan_fixes(root: Path, findings: Sequence[Finding], *, mount: str, prefix: str) -> list[ComposeFix]:
    """A ComposeFix for each compose file among `findings` (the rest stay reported, not fixed)."""
    wanted = set(findings)
    plans = []
    for shown in dict.fromkeys(f.file for f in findings):
        path = root if root.is_file() else root / shown
        if not is_compose(path):
            continue
        text = read_text(path)
        if text is None:
            continue
        # Build arguments are not the running service's environment: they stay reported, not moved.
        entries = [
            e
            for e in compose_entries(shown, text)
            if e.finding in wanted and e.finding.rule != "compose-build-arg"
        ]
        if entries:
            kv_path = "/".join(p for p in (prefix.strip("/"), path.stem) if p)
            moves = _name(entries)
            plans.append(ComposeFix(path, shown, mount.strip("/"), kv_path, moves, rewritten(text, moves)))
    return plans


def _name(entries: list[ComposeEntry]) -> tuple[Move, ...]:
    # The same variable with different values in two services needs two secrets.
    values: dict[str, str] = {}
    moves = []
    for entry in entries:
        secret = entry.finding.name.lower()
        if values.setdefault(secret, entry.finding.value) != entry.finding.value:
            secret = f"{entry.service.lower()}_{secret}"
            values[secret] = entry.finding.value
        moves.append(Move(entry, secret))
    return tuple(moves)


def rewritten(text: str, moves: Sequence[Move]) -> str:
    """`text` with each move's variable read from a file and the secrets declared."""
    edits: list[tuple[int, int, str]] = []
    for move in moves:
        name, value = move.entry.finding.name, move.entry.value_node
        target = f"/run/secrets/{move.secret}"
        if move.entry.key_node is None:
            edits.append((value.start_mark.index, value.end_mark.index, f"{name}_FILE={target}"))
        else:
            start, end = move.entry.key_node.start_mark.index, value.end_mark.index
            # A block scalar (`|`, `>`) ends after its newlines; they stay to end the new line.
            end = len(text[:end].rstrip("\n")) if text[end - 1 : end] == "\n" else end
            edits.append((start, end, f"{name}_FILE: {target}"))
    services: dict[str, tuple[yaml.MappingNode, list[str]]] = {}
    for move in moves:
        node, names = services.setdefault(move.entry.service, (move.entry.service_node, []))
        if move.secret not in names:
            names.append(move.secret)
    # First in the list: at the end of the file it must land after any service's insertion there.
    edits.insert(0, _top_level_secrets(text, [m.secret for m in moves]))
    for node, names in services.values():
        edits.append(_service_secrets(text, node, names))
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0], reverse=True):
        text = text[:start] + replacement + text[end:]
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # The parser's message quotes the offending text, which may hold other values: only the line.
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise FixError(f"the rewritten compose file would not parse{where}; it was left unchanged") from None
    return text


def _service_secrets(text: str, service: yaml.MappingNode, names: list[str]) -> tuple[int, int, str]:
    existing = mapping_value(service, "secrets")
    indent = service.value[0][0].start_mark.column
    if existing is None:
        lines = [f"{' ' * indent}secrets:", *(f"{' ' * (indent + 2)}- {n}" for n in names)]
        return _insert_after(text, service.value[-1][1], lines)
    if not isinstance(existing, yaml.SequenceNode):
        raise FixError("a service's secrets: is not a list")
    known = [str(item.value) for item in existing.value if isinstance(item, yaml.ScalarNode)]
    new = [n for n in names if n not in known]
    if existing.flow_style or not existing.value:
        if len(known) != len(existing.value):
            raise FixError("a flow-style secrets: list with long-syntax entries")
        flow = "[" + ", ".join([*known, *new]) + "]"
        return existing.start_mark.index, existing.end_mark.index, flow
    dash = max(existing.value[-1].start_mark.column - 2, 0)
    return _insert_after(text, existing.value[-1], [f"{' ' * dash}- {n}" for n in new])


def _top_level_secrets(text: str, names: list[str]) -> tuple[int, int, str]:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    existing = mapping_value(root, "secrets")
    if existing is None:
        body = ["secrets:", *_definitions(list(dict.fromkeys(names)), 2)]
        ending = "" if text.endswith("\n") else "\n"
        return len(text), len(text), ending + "\n".join(body) + "\n"
    if not isinstance(existing, yaml.MappingNode) or existing.flow_style or not existing.value:
        raise FixError("the top-level secrets: is not a block mapping")
    known = {str(key.value) for key, _ in existing.value}
    indent = existing.value[0][0].start_mark.column
    new = [n for n in dict.fromkeys(names) if n not in known]
    return _insert_after(text, existing.value[-1][1], _definitions(new, indent))


def _definitions(names: Sequence[str], indent: int) -> list[str]:
    return [
        line for n in names for line in (f"{' ' * indent}{n}:", f"{' ' * (indent + 2)}file: ./secrets/{n}")
    ]


def _insert_after(text: str, node: yaml.Node, lines: list[str]) -> tuple[int, int, str]:
    # After the line of the last scalar under `node`: a block collection's own end mark lies on the next
    # line, after that line's indentation.
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    index = node.end_mark.index
    if not lines:
        return index, index, ""
    if index > 0 and text[index - 1] == "\n":
        return index, index, "\n".join(lines) + "\n"
    newline = text.find("\n", index)
    at = len(text) if newline < 0 else newline
    return at, at, "\n" + "\n".join(lines)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` through a temporary file in its directory, keeping its mode."""
    mode = path.stat().st_mode & 0o7777
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
