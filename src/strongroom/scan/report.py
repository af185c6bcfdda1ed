"""How findings are printed: `file:line: rule: masked value` lines, or a JSON list.

Layer: scan. Imports the standard library and `strongroom.scan.rules`.

Invariant: only masked values are printed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from strongroom.scan.rules import Finding


def as_text(findings: Sequence[Finding]) -> str:
    """One `file:line: rule: masked` line per finding."""
    return "".join(f"{f.file}:{f.line}: {f.rule}: {f.masked()}\n" for f in findings)


def as_json(findings: Sequence[Finding]) -> str:
    """A JSON list of {file, line, rule, masked}, indented as the CLI's other JSON output."""
    records = [{"file": f.file, "line": f.line, "rule": f.rule, "masked": f.masked()} for f in findings]
    return json.dumps(records, indent=2) + "\n"
