"""Where secrets hide in a built image: its environment, labels, and the ENV, ARG and RUN lines of its
history, read through the podman or docker command (no daemon API).

Layer: scan. Imports the standard library and `strongroom.scan.rules` and `strongroom.scan.sources`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from strongroom.scan.rules import Finding, scan_lines
from strongroom.scan.sources import ScanError, instruction_pairs, named


def engine() -> str:
    """The container engine's command: podman, else docker."""
    for name in ("podman", "docker"):
        found = shutil.which(name)
        if found:
            return found
    raise ScanError("scanning an image needs podman or docker, and neither is installed")


def scan_image(image: str) -> Iterator[Finding]:
    """The secrets in a built image's environment, labels and build history (ENV, ARG, RUN lines)."""
    command = engine()
    inspected = _run_json([command, "image", "inspect", image], image)
    history = _run_json([command, "history", "--no-trunc", "--format", "json", image], image)
    yield from image_findings(image, inspected, history)


def _run_json(argv: list[str], image: str) -> Any:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScanError(f"{Path(argv[0]).name} failed: {exc}") from None
    if done.returncode != 0:
        raise ScanError(f"cannot read image {image}: {done.stderr.strip() or done.returncode}")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        # docker prints one JSON object a line for `--format json`.
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def image_findings(image: str, inspected: Any, history: Any) -> Iterator[Finding]:
    """Findings from `image inspect` and `history --format json` output, as podman and docker print it.

    Places are `IMAGE#env`, `IMAGE#labels` and `IMAGE#history`; the line is the 1-based position in
    that list (history from the base layer up).
    """
    document = inspected[0] if isinstance(inspected, list) and inspected else inspected or {}
    config = document.get("Config") or {}
    for index, entry in enumerate(config.get("Env") or [], 1):
        name, _, value = str(entry).partition("=")
        found = named(f"{image}#env", index, "image-env", name, value)
        if found:
            yield found
    for index, (name, value) in enumerate(sorted((config.get("Labels") or {}).items()), 1):
        found = named(f"{image}#labels", index, "image-label", str(name), str(value))
        if found:
            yield found
    layers = list(history or [])
    layers.reverse()  # both engines list the newest layer first
    place = f"{image}#history"
    for index, layer in enumerate(layers, 1):
        created_by = str(layer.get("CreatedBy") or layer.get("created_by") or "")
        specific = list(_history_findings(place, index, created_by))
        yield from specific
        yield from (
            Finding(f.file, index, f.rule, f.value, f.name)
            for f in scan_lines(place, [created_by], {(1, f.value) for f in specific})
        )


def _history_findings(place: str, index: int, created_by: str) -> Iterator[Finding]:
    command = re.sub(r"^/bin/sh -c (#\(nop\)\s*)?", "", created_by.strip())
    keyword, _, rest = command.partition(" ")
    pairs: list[tuple[str, str]] = []
    rule = f"image-{keyword.lower()}"
    if keyword.upper() in ("ENV", "ARG"):
        pairs = instruction_pairs(keyword.upper(), rest)
    elif keyword.upper() == "RUN" or keyword.startswith("|"):
        # Build arguments used by a RUN are recorded before it: `|2 NAME=value NAME=value /bin/sh -c ...`.
        words = rest.split() if keyword.upper() == "RUN" else command.split()
        if words and words[0].startswith("|") and words[0][1:].isdigit():
            count = int(words[0][1:])
            pairs = [w.partition("=")[::2] for w in words[1 : 1 + count]]
        rule = "image-run-arg"
    for name, value in pairs:
        found = named(place, index, rule, name, value)
        if found:
            yield found
