"""Where secrets hide in files: Dockerfiles, compose files, .env files, and any other text.

Layer: scan. Imports yaml, the standard library and `strongroom.scan.rules`.

Skipped, to keep hashes and noise out: version-control and virtualenv directories, lockfiles (full of
digests that look random), files over 1 MB, and binary files (a NUL byte, or not UTF-8).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from strongroom.scan.rules import (
    ALLOW_MARKER,
    Finding,
    known_format,
    literal_value,
    scan_lines,
    secret_name,
)

MAX_FILE_BYTES = 1024 * 1024
SKIPPED_DIRECTORIES = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__"})
LOCKFILES = frozenset(
    {
        "uv.lock", "poetry.lock", "pipfile.lock", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock",
        "pnpm-lock.yaml", "cargo.lock", "go.sum", "composer.lock", "gemfile.lock", "flake.lock",
        "pdm.lock", "bun.lockb", "packages.lock.json", "requirements.lock",
    }
)  # fmt: skip
# Source code, where an unquoted value after `=` is an expression, not a secret.
CODE_SUFFIXES = frozenset(
    {".py", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".go", ".rs", ".java", ".kt", ".scala", ".rb", ".php",
     ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".swift", ".lua", ".pl", ".ex", ".exs", ".hcl", ".tf"}
)  # fmt: skip
_COMPOSE_NAME = re.compile(r"^(docker-)?compose([.-][\w.-]+)?\.ya?ml$")


class ScanError(Exception):
    """A source could not be read (a missing path; for images, no container engine or an unknown image)."""


def is_dockerfile(path: Path) -> bool:
    """Whether `path` is named as a Dockerfile or Containerfile (also `Dockerfile.dev` and the like)."""
    name = path.name.lower()
    return name in ("dockerfile", "containerfile") or name.startswith(("dockerfile.", "containerfile."))


def is_compose(path: Path) -> bool:
    """Whether `path` is named as a compose file (`compose.yaml`, `docker-compose.override.yml`, ...)."""
    return bool(_COMPOSE_NAME.match(path.name.lower()))


def is_dotenv(path: Path) -> bool:
    """Whether `path` is a dotenv file (`.env`, `.env.production`, `app.env`)."""
    name = path.name.lower()
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


def scan_path(root: Path) -> Iterator[Finding]:
    """Every finding in the file `root`, or in every file under the directory `root` (names relative)."""
    if not root.exists():
        raise ScanError(f"no such file or directory: {root}")
    if root.is_file():
        yield from scan_file(root, str(root))
        return
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRECTORIES)
        for name in sorted(files):
            path = Path(directory, name)
            yield from scan_file(path, str(path.relative_to(root)))


def read_text(path: Path) -> str | None:
    """The text of `path`, or None when it is to be skipped (lockfile, too large, binary, unreadable)."""
    if path.name.lower() in LOCKFILES or path.is_symlink() or not path.is_file():
        return None
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def scan_file(path: Path, shown: str) -> Iterator[Finding]:
    """The findings in one file, reported under the name `shown`."""
    text = read_text(path)
    if text is None:
        return
    lines = text.splitlines()
    if is_dockerfile(path):
        specific = list(dockerfile_findings(shown, lines))
    elif is_compose(path):
        specific = [entry.finding for entry in compose_entries(shown, text)]
    elif is_dotenv(path):
        specific = list(dotenv_findings(shown, lines))
    else:
        specific = []
    taken = {(f.line, f.value) for f in specific}
    found = [*specific, *scan_lines(shown, lines, taken, quoted_only=path.suffix.lower() in CODE_SUFFIXES)]
    yield from (f for f in found if ALLOW_MARKER not in lines[f.line - 1])


def named(file: str, line: int, rule: str, name: str, value: str) -> Finding | None:
    """A finding for `name=value` under `rule` when the value is a literal under a secret name, under its
    format's rule when it is a known format; None otherwise."""
    value = value.strip()
    if not literal_value(value):
        return None
    kind = known_format(value)
    if kind:
        return Finding(file, line, kind, value, name)
    if secret_name(name):
        return Finding(file, line, rule, value, name)
    return None


def dockerfile_findings(file: str, lines: list[str]) -> Iterator[Finding]:
    """ENV and ARG instructions (with their continuation lines) that set secrets."""
    number = 0
    while number < len(lines):
        start = number
        instruction = lines[number]
        while instruction.rstrip().endswith("\\") and number + 1 < len(lines):
            number += 1
            instruction = instruction.rstrip()[:-1] + " " + lines[number]
        number += 1
        keyword, _, rest = instruction.strip().partition(" ")
        if keyword.upper() in ("ENV", "ARG"):
            rule = f"dockerfile-{keyword.lower()}"
            for name, value in instruction_pairs(keyword.upper(), rest):
                line = _line_of(lines, start, number, value)
                found = named(file, line, rule, name, value)
                if found:
                    yield found


def instruction_pairs(keyword: str, rest: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of an ENV or ARG instruction's arguments; an ARG without default has none."""
    try:
        words = shlex.split(rest, comments=False, posix=True)
    except ValueError:
        words = rest.split()
    if keyword == "ENV" and words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]  # the legacy `ENV NAME value` form
    return [(name, value) for name, sep, value in (w.partition("=") for w in words) if sep]


def _line_of(lines: list[str], start: int, end: int, value: str) -> int:
    for index in range(start, end):
        if value and value in lines[index]:
            return index + 1
    return start + 1


def dotenv_findings(file: str, lines: list[str]) -> Iterator[Finding]:
    """`NAME=value` lines of a .env file (optionally `export`ed, optionally quoted)."""
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        name, _, value = stripped.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].strip()
        found = named(file, number, "dotenv", name.strip(), value)
        if found:
            yield found


@dataclass(frozen=True, slots=True)
class ComposeEntry:
    """A secret in a compose service's `environment:` (or build `args:`), with the YAML nodes that hold
    it, so `--fix` can rewrite exactly that text."""

    finding: Finding
    service: str
    service_node: yaml.MappingNode
    key_node: yaml.ScalarNode | None
    """The mapping key (`NAME: value`), or None for the list form (`- NAME=value`)."""
    value_node: yaml.ScalarNode


def compose_entries(file: str, text: str) -> Iterator[ComposeEntry]:
    """The secrets set in the services of a compose file; a file YAML cannot parse yields none here
    (it is still scanned as text)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return
    services = mapping_value(root, "services")
    if not isinstance(services, yaml.MappingNode):
        return
    for service_key, service in services.value:
        if not isinstance(service, yaml.MappingNode):
            continue
        build = mapping_value(service, "build")
        for holder, rule in ((service, "compose-environment"), (build, "compose-build-arg")):
            section = mapping_value(holder, "environment" if rule == "compose-environment" else "args")
            for name, key, node in _variables(section):
                found = named(file, node.start_mark.line + 1, rule, name, _value_of(node, key))
                if found:
                    yield ComposeEntry(found, str(service_key.value), service, key, node)


def mapping_value(node: Any, key: str) -> Any:
    """The value node of `key` in the YAML mapping `node`, or None."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return value_node
    return None


def _variables(section: Any) -> Iterator[tuple[str, yaml.ScalarNode | None, yaml.ScalarNode]]:
    if isinstance(section, yaml.MappingNode):
        for key, value in section.value:
            if isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode):
                yield str(key.value), key, value
    elif isinstance(section, yaml.SequenceNode):
        for item in section.value:
            if isinstance(item, yaml.ScalarNode) and "=" in str(item.value):
                yield str(item.value).partition("=")[0], None, item


def _value_of(node: yaml.ScalarNode, key: yaml.ScalarNode | None) -> str:
    text = str(node.value)
    if key is None:
        return text.partition("=")[2]
    return "" if node.tag.endswith(":null") else text
