"""The database engine's pure parts: statement splitting, templating, allowed-role globs, generated names
and passwords, and the TTL arithmetic behind each user's VALID UNTIL."""

from __future__ import annotations

import base64
import re

import pytest

from strongroom.builtin.secrets.database.models import DatabaseConfig, Role, glob_match
from strongroom.builtin.secrets.database.paths_creds import lease_ttl
from strongroom.builtin.secrets.database.postgresql import USERNAME_SIZES
from strongroom.builtin.secrets.database.statements import (
    expiration_text,
    render,
    split_statements,
    username_from_template,
)
from strongroom.builtin.secrets.database.store import generate_password
from strongroom.logical.backend import StaticSystemView


def test_statements_split_on_semicolons_json_lists_and_base64() -> None:
    assert split_statements(["CREATE ROLE a; GRANT x TO a;", "  ", "DROP ROLE b"]) == [
        "CREATE ROLE a",
        "GRANT x TO a",
        "DROP ROLE b",
    ]
    assert split_statements(['["SELECT 1; SELECT 2", "SELECT 3"]']) == ["SELECT 1; SELECT 2", "SELECT 3"]
    assert split_statements([base64.b64encode(b"SELECT 1;SELECT 2").decode()]) == ["SELECT 1", "SELECT 2"]


def test_templating_replaces_only_the_named_keys() -> None:
    query = "CREATE ROLE \"{{name}}\" PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' {{other}}"
    assert render(query, {"name": "u", "password": "p", "expiration": "e"}) == (
        "CREATE ROLE \"u\" PASSWORD 'p' VALID UNTIL 'e' {{other}}"
    )
    assert expiration_text(0) == "1970-01-01 00:00:00+0000"


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("app", "app", True),
        ("app", "app2", False),
        ("app*", "app2", True),
        ("*-ro", "db-ro", True),
        ("a*b*c", "axxbyyc", True),
        ("a*b*c", "axxc", False),
        ("a?", "ab", False),
    ],
)
def test_allowed_roles_globs(pattern: str, value: str, expected: bool) -> None:
    assert glob_match(pattern, value) is expected


def test_a_config_allows_only_its_roles_and_never_shows_its_password() -> None:
    config = DatabaseConfig("pg", "postgresql-database-plugin", "postgresql://x", "root", "s3cret", ("r*",))
    assert config.allows("read")
    assert not config.allows("write")
    assert "s3cret" not in repr(config)
    assert "s3cret" not in repr(config.read_data())
    assert DatabaseConfig.from_json(config.to_json()) == config


def test_usernames_and_passwords_follow_vaults_defaults() -> None:
    name = username_from_template("token", "a-very-long-role-name", 1_700_000_000, USERNAME_SIZES)
    assert re.fullmatch(r"v-token-a-very-l-[A-Za-z0-9]{20}-1700000000", name)
    long = username_from_template("x" * 50, "y" * 50, 1_700_000_000, USERNAME_SIZES)
    assert long.startswith("v-xxxxxxxx-yyyyyyyy-")
    mysql = username_from_template("token", "a-very-long-role-name", 1_700_000_000, (10, 10, 32))
    assert re.fullmatch(r"v-token-a-very-lon-[A-Za-z0-9]{13}", mysql)
    legacy = username_from_template("token", "a-very-long-role-name", 1_700_000_000, (0, 4, 16))
    assert re.fullmatch(r"v-a-ve-[A-Za-z0-9]{9}", legacy)
    for _ in range(50):
        password = generate_password()
        assert re.fullmatch(r"[A-Za-z0-9-]{20}", password)
        assert all(re.search(c, password) for c in ("[a-z]", "[A-Z]", "[0-9]", "-"))


def test_lease_ttl_takes_increment_then_role_then_mount_default_within_max() -> None:
    system = StaticSystemView(default_ttl=1000, max_ttl=5000)
    role = Role("r", "pg", default_ttl=60, max_ttl=600)
    assert lease_ttl(system, role, 0, 0, 0) == 60
    assert lease_ttl(system, role, 300, 0, 100) == 300
    assert lease_ttl(system, role, 900, 0, 100) == 500
    assert lease_ttl(system, role, 0, 0, 700) == 0
    assert lease_ttl(system, Role("r", "pg"), 0, 0, 0) == 1000
    assert lease_ttl(system, Role("r", "pg", max_ttl=9000), 9000, 0, 0) == 5000
