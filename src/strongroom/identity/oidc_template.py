"""Claims templates of identity tokens: Vault's JSON templating of `{{identity.entity.*}}`,
`{{identity.groups.*}}` and `{{time.now...}}`, each directive replaced by a JSON value.

Layer: identity; stdlib and the identity model only.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from strongroom.identity.model import Entity, Group
from strongroom.util.durations import parse_duration
from strongroom.util.gojson import syntax_error

# Claims a template may not set: the token's own, which Vault fills.
RESERVED_CLAIMS = ("iat", "aud", "exp", "iss", "sub", "namespace", "nonce", "auth_time", "at_hash", "c_hash")


class TemplateError(ValueError):
    """A template that cannot be filled; the message is Vault's."""


@dataclass(frozen=True, slots=True)
class Subject:
    """What a template may name: the entity (None when validating) and its groups, direct then inherited."""

    entity: Entity | None
    groups: Sequence[Group] = ()
    now: float = 0.0


# How Go's encoding/json names a JSON value's kind in its unmarshal errors.
_GO_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "bool"}


def populate(template: str, subject: Subject) -> str:
    """`template` with each `{{...}}` replaced by its value as JSON text."""
    if not template:
        return ""
    pieces = template.split("{{")
    if "}}" in pieces[0]:
        raise TemplateError("unbalanced templating characters")
    out = [pieces[0]]
    for piece in pieces[1:]:
        parts = piece.split("}}")
        if len(parts) != 2:
            raise TemplateError("unbalanced templating characters")
        out.append(_directive(parts[0].strip(), subject))
        out.append(parts[1])
    return "".join(out)


def _json(value: str | Sequence[str] | Mapping[str, str]) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value if isinstance(value, Mapping) else list(value))


def _from_map(values: Mapping[str, str], rest: str) -> str | None:
    if rest == "metadata":
        return _json(dict(values))
    if rest.startswith("metadata."):
        return _json(values.get(rest.removeprefix("metadata."), ""))
    return None


def _directive(name: str, subject: Subject) -> str:
    if name.startswith("identity.entity."):
        if subject.entity is None:
            raise TemplateError("string contains entity template directives but no entity was provided")
        return _entity(name.removeprefix("identity.entity."), subject)
    if name.startswith("identity.groups."):
        if not subject.groups:
            raise TemplateError("string contains groups template directives but no groups were provided")
        return _group(name.removeprefix("identity.groups."), subject.groups)
    if name.startswith("time."):
        return _time(name.removeprefix("time."), subject.now)
    raise TemplateError("no value could be found for one of the template directives")


def _entity(rest: str, subject: Subject) -> str:
    entity = subject.entity
    assert entity is not None
    if rest == "id":
        return _json(entity.id)
    if rest == "name":
        return _json(entity.name)
    # No groups is null, not [], as Vault (Go's nil slice) writes it.
    if rest == "groups.ids":
        return _json([g.id for g in subject.groups]) if subject.groups else "null"
    if rest == "groups.names":
        return _json([g.name for g in subject.groups]) if subject.groups else "null"
    from_metadata = _from_map(entity.metadata, rest)
    if from_metadata is not None:
        return from_metadata
    if rest.startswith("aliases."):
        accessor, _, selector = rest.removeprefix("aliases.").partition(".")
        if not selector:
            raise TemplateError("invalid alias selector")
        alias = next((a for a in entity.aliases if a.mount_accessor == accessor), None)
        # An entity without an alias at that mount fills in empty values, as in Vault's JSON mode.
        if selector == "id":
            return _json(alias.id if alias else "")
        if selector == "name":
            return _json(alias.name if alias else "")
        found = _from_map(alias.metadata if alias else {}, selector)
        if found is None and selector.startswith("custom_"):
            found = _from_map(alias.custom_metadata if alias else {}, selector.removeprefix("custom_"))
        if found is not None:
            return found
    raise TemplateError("no value could be found for one of the template directives")


def _group(rest: str, groups: Sequence[Group]) -> str:
    kind, _, rest = rest.partition(".")
    if kind not in ("ids", "names") or not rest:
        raise TemplateError("invalid groups selector")
    wanted, _, selector = rest.partition(".")
    if not selector:
        raise TemplateError("invalid groups accessor")
    found = next((g for g in groups if (g.id if kind == "ids" else g.name) == wanted), None)
    if found is None:
        raise TemplateError(f'entity is not a member of group "{wanted}"')
    # Vault writes these bare, not as JSON strings: the template supplies any quotes.
    if selector == "id":
        return found.id
    if selector == "name" and found.name:
        return found.name
    if selector.startswith("metadata.") and selector.removeprefix("metadata.") in found.metadata:
        return found.metadata[selector.removeprefix("metadata.")]
    raise TemplateError("no value could be found for one of the template directives")


def _time(rest: str, now: float) -> str:
    parts = rest.split(".", 2)
    if parts[0] != "now":
        raise TemplateError(f'invalid time selector "{parts[0]}"')
    if len(parts) == 1:
        return str(int(now))
    if len(parts) == 2:
        raise TemplateError("missing time operand")
    try:
        seconds = parse_duration(parts[2])
    except ValueError:
        raise TemplateError(f'invalid duration: time: invalid duration "{parts[2]}"') from None
    if parts[1] == "plus":
        return str(int(now) + seconds)
    if parts[1] == "minus":
        return str(int(now) - seconds)
    raise TemplateError(f'invalid time operator "{parts[1]}"')


def claims(populated: str) -> dict[str, Any]:
    """The claims a filled template adds: its top-level keys, the reserved ones left out."""
    try:
        parsed = json.loads(populated) if populated else {}
    except json.JSONDecodeError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {k: v for k, v in parsed.items() if k not in RESERVED_CLAIMS}


def check(template: str) -> None:
    """Vault's checks of a role's template, filled for an empty entity: it parses, it is a JSON object,
    and it sets no reserved claim."""
    if not template:
        return
    try:
        populated = populate(template, Subject(Entity(id="", name="")))
    except TemplateError as exc:
        raise TemplateError(f"error parsing template: {exc}") from None
    try:
        parsed = json.loads(populated)
    except json.JSONDecodeError as exc:
        # Go's words where its grammar and Python's agree on the fault; Python's where only it objects.
        raise TemplateError(f"error parsing template JSON: {syntax_error(populated) or exc.msg}") from None
    if parsed is None:  # Go decodes null into an empty map: nothing to check
        return
    if not isinstance(parsed, dict):
        raise TemplateError(
            f"error parsing template JSON: json: cannot unmarshal {_GO_KINDS[type(parsed)]} into Go value "
            "of type map[string]interface {}"
        )
    for key in parsed:
        if key in RESERVED_CLAIMS:
            raise TemplateError(
                f'top level key "{key}" not allowed. Restricted keys: {", ".join(RESERVED_CLAIMS)}'
            )


def decoded(template: str) -> str:
    """The template as given, or what it decodes to when it is base64 (Vault accepts either)."""
    try:
        raw = base64.b64decode(template, validate=True)
    except (binascii.Error, ValueError):
        return template
    # As Go: whatever the bytes are ("null" is base64 too); what is not text then fails the JSON check.
    return raw.decode("utf-8", errors="surrogateescape")


def claim_names(template: str) -> list[str]:
    """The top-level claims a (checked) template sets, filled for an empty entity."""
    try:
        return list(claims(populate(template, Subject(Entity(id="", name="")))))
    except TemplateError:
        return []
