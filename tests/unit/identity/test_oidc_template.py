"""Claims templates fill Vault's identity and time directives with JSON values, and refuse what Vault
refuses when a role or scope is written."""

from __future__ import annotations

import json

import pytest

from strongroom.identity.model import Alias, Entity, Group
from strongroom.identity.oidc_template import RESERVED_CLAIMS, Subject, TemplateError, check, claims, populate

ALIAS = Alias(
    id="al-1", canonical_id="e-1", name="ann", mount_accessor="auth_userpass_1", mount_type="userpass",
    mount_path="auth/userpass/", metadata={"k": "v"}, custom_metadata={"c": "d"},
)  # fmt: skip
ENTITY = Entity(id="e-1", name="ann-entity", metadata={"team": "blue"}, aliases=(ALIAS,))
GROUPS = (Group(id="g-1", name="readers", metadata={"tier": "1"}), Group(id="g-2", name="writers"))


def _filled(template: str, subject: Subject = Subject(ENTITY, GROUPS, 1000.0)) -> dict[str, object]:  # noqa: B008
    return dict(json.loads(populate(template, subject)))


def test_entity_alias_group_and_time_directives() -> None:
    template = (
        '{"id": {{identity.entity.id}}, "name": {{identity.entity.name}},'
        ' "meta": {{identity.entity.metadata}},'
        ' "team": {{identity.entity.metadata.team}}, "none": {{identity.entity.metadata.nope}},'
        ' "alias": {{identity.entity.aliases.auth_userpass_1.name}},'
        ' "alias_meta": {{identity.entity.aliases.auth_userpass_1.metadata.k}},'
        ' "custom": {{identity.entity.aliases.auth_userpass_1.custom_metadata.c}},'
        ' "no_alias": {{identity.entity.aliases.other.name}},'
        ' "groups": {{identity.entity.groups.names}}, "ids": {{identity.entity.groups.ids}},'
        ' "tier": "{{identity.groups.names.readers.metadata.tier}}",'
        ' "gid": "{{identity.groups.names.writers.id}}",'
        ' "exp": {{time.now.plus.1h}}, "nbf": {{time.now.minus.10s}}}'
    )
    assert _filled(template) == {
        "id": "e-1",
        "name": "ann-entity",
        "meta": {"team": "blue"},
        "team": "blue",
        "none": "",
        "alias": "ann",
        "alias_meta": "v",
        "custom": "d",
        "no_alias": "",
        "groups": ["readers", "writers"],
        "ids": ["g-1", "g-2"],
        "tier": "1",
        "gid": "g-2",
        "exp": 4600,
        "nbf": 990,
    }


def test_no_groups_is_null() -> None:
    assert _filled('{"g": {{identity.entity.groups.names}}}', Subject(ENTITY)) == {"g": None}


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ('{"a": {{identity.entity.id}', "unbalanced templating characters"),
        ('{"a": {{identity.entity.bogus}}}', "no value could be found for one of the template directives"),
        ('{"a": {{identity.groups.names.x.id}}}', 'entity is not a member of group "x"'),
        ('{"a": {{time.later}}}', 'invalid time selector "later"'),
        ('{"a": {{time.now.plus}}}', "missing time operand"),
        ('{"a": {{time.now.times.1h}}}', 'invalid time operator "times"'),
    ],
)
def test_directives_that_cannot_be_filled(template: str, error: str) -> None:
    with pytest.raises(TemplateError, match=error):
        populate(template, Subject(ENTITY, GROUPS))


def test_reserved_claims_never_come_from_a_template() -> None:
    assert claims('{"sub": "x", "iss": "y", "ok": 1}') == {"ok": 1}
    assert claims("not json") == {}
    for reserved in RESERVED_CLAIMS:
        with pytest.raises(TemplateError, match=f'top level key "{reserved}" not allowed'):
            check(json.dumps({reserved: 1}))


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("[1]", "json: cannot unmarshal array into Go value of type map"),
        ('{"a": {{identity.groups.ids.x.name}}}', "no groups were provided"),
        ("{not json", "error parsing template JSON: "),
    ],
)
def test_role_template_checks(template: str, error: str) -> None:
    with pytest.raises(TemplateError, match=error):
        check(template)
