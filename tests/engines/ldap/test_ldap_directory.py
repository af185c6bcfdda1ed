"""The LDAP method's pure helpers: Vault's escaping of names in filters and DNs, templates, group CNs."""

from __future__ import annotations

import pytest

from strongroom.builtin.auth.ldap.filters import (
    DirectoryError,
    check_template,
    escape_dn_value,
    escape_filter,
    group_cn,
    render,
)


@pytest.mark.parametrize(
    ("value", "escaped"),
    [("alice", "alice"), ("a*)(uid=*", "a\\2a\\29\\28uid=\\2a"), ("back\\slash\x00", "back\\5cslash\\00"),
     ("é", "\\c3\\a9")],
)  # fmt: skip
def test_escape_filter_as_go_ldap(value: str, escaped: str) -> None:
    assert escape_filter(value) == escaped


@pytest.mark.parametrize(
    ("value", "escaped"),
    [(" lead", "\\ lead"), ("trail ", "trail\\ "), ("a#b", "a\\#b"), ('x,y+z"<>;', 'x\\,y\\+z\\"\\<\\>\\;'),
     ("tab\t", "tab\\09"), ("mid dle", "mid dle")],
)  # fmt: skip
def test_escape_dn_value_as_vault(value: str, escaped: str) -> None:
    assert escape_dn_value(value) == escaped


def test_templates() -> None:
    assert check_template("(&(uid={{.Username}})(x={{ .UserDN }}))") is None
    assert check_template("(uid={{.Username)") is not None
    assert check_template("(uid=.Username}})") is not None
    assert render("(member={{.UserDN}})", {"UserDN": "cn=a", "Username": "a"}) == "(member=cn=a)"
    with pytest.raises(DirectoryError, match="can't evaluate field Nope"):
        render("({{.Nope}})", {"Username": "a"})


def test_group_cn() -> None:
    assert group_cn("cn=Devs,ou=groups,dc=example,dc=org") == "Devs"
    assert group_cn("CN=Ops,OU=x") == "Ops"
    assert group_cn("ou=a,cn=second,dc=x") == "second"
    assert group_cn(r"cn=Smith\, J\2c Jr,dc=x") == "Smith, J, Jr"
    assert group_cn("ou=only,dc=x") == "ou=only,dc=x"
    assert group_cn("plain-name") == "plain-name"
    assert group_cn("cn=lower,dc=x", exact_case=True) == "cn=lower,dc=x"
    assert group_cn("CN=Upper,dc=x", exact_case=True) == "Upper"
