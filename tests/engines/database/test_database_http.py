"""The database engine over real HTTP on the shared server, against a real PostgreSQL: hvac configures it,
the credentials it hands out log in, leases renew and revoke the PostgreSQL users, errors are 400s that
carry no secret."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import hvac
import hvac.exceptions
import psycopg
import pytest

from tests.engines.database.conftest import (
    PLUGIN,
    templated_url,
)
from tests.postgres import CREATE_ROLE, Postgres
from tests.servers import RunningServer


@pytest.fixture
def vault(server: RunningServer) -> Iterator[hvac.Client]:
    client = hvac.Client(url=server.address, token=server.root_token)
    yield client
    client.adapter.close()


def configure(vault: hvac.Client, mount: str, postgres: Postgres, **extra: object) -> None:
    vault.secrets.database.configure(
        name="pg",
        plugin_name=PLUGIN,
        allowed_roles=["app*"],
        connection_url=templated_url(postgres),
        username="postgres",
        password="root-secret-pw",
        mount_point=mount,
        **extra,
    )


def valid_until(postgres: Postgres, user: str) -> float:
    ((when,),) = postgres.query("SELECT rolvaliduntil FROM pg_roles WHERE rolname = %s", user)
    assert isinstance(when, datetime)
    return when.timestamp()


def test_hvac_configures_and_the_credentials_log_in(
    vault: hvac.Client, mount: str, postgres: Postgres
) -> None:
    configure(vault, mount, postgres, max_open_connections=4)
    connection = vault.secrets.database.read_connection("pg", mount_point=mount)["data"]
    assert connection == {
        "allowed_roles": ["app*"],
        "connection_details": {
            "connection_url": templated_url(postgres),
            "max_open_connections": 4,
            "username": "postgres",
        },
        "password_policy": "",
        "plugin_name": PLUGIN,
        "plugin_version": "",
        "root_credentials_rotate_statements": [],
    }
    assert vault.secrets.database.list_connections(mount_point=mount)["data"]["keys"] == ["pg"]
    vault.secrets.database.create_role(
        "app", "pg", [CREATE_ROLE], default_ttl="1h", max_ttl="2h", mount_point=mount
    )
    assert vault.secrets.database.read_role("app", mount_point=mount)["data"] == {
        "creation_statements": [CREATE_ROLE],
        "credential_type": "password",
        "db_name": "pg",
        "default_ttl": 3600,
        "max_ttl": 7200,
        "renew_statements": [],
        "revocation_statements": [],
        "rollback_statements": [],
    }
    assert vault.secrets.database.list_roles(mount_point=mount)["data"]["keys"] == ["app"]

    before = time.time()
    creds = vault.secrets.database.generate_credentials("app", mount_point=mount)
    username, password = creds["data"]["username"], creds["data"]["password"]
    assert creds["lease_duration"] == 3600
    assert creds["renewable"] is True
    assert creds["lease_id"].startswith(f"{mount}/creds/app/")
    assert username.startswith("v-root-app-") or username.startswith("v-token-app-")
    assert len(password) == 20
    with psycopg.connect(postgres.url(username, password)) as connection:
        assert connection.execute(b"SELECT current_user").fetchone() == (username,)
    # The user expires with its lease (plus Vault's 5 s of slack), not later.
    assert before + 3600 <= valid_until(postgres, username) <= time.time() + 3600 + 6


def test_renew_moves_valid_until_within_max_ttl_and_revoke_drops_the_user(
    server: RunningServer, vault: hvac.Client, mount: str, postgres: Postgres
) -> None:
    configure(vault, mount, postgres)
    vault.secrets.database.create_role(
        "app", "pg", [CREATE_ROLE], default_ttl=60, max_ttl=900, mount_point=mount
    )
    creds = vault.secrets.database.generate_credentials("app", mount_point=mount)
    lease_id, username = creds["lease_id"], creds["data"]["username"]
    first = valid_until(postgres, username)

    renewed = vault.sys.renew_lease(lease_id, increment=600)
    assert renewed["lease_duration"] == 600
    assert valid_until(postgres, username) >= first + 500

    clamped = vault.sys.renew_lease(lease_id, increment=7200)
    assert 890 <= clamped["lease_duration"] <= 900
    assert valid_until(postgres, username) <= first + 900

    vault.sys.revoke_lease(lease_id)
    assert not postgres.role_exists(username)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(postgres.url(username, creds["data"]["password"])).close()
    with server.client() as root:
        assert root.put("/v1/sys/leases/lookup", json={"lease_id": lease_id}).status_code == 400


def test_custom_statements_run_and_a_deleted_role_still_revokes(
    vault: hvac.Client, mount: str, postgres: Postgres
) -> None:
    configure(vault, mount, postgres)
    vault.secrets.database.create_role(
        "app2",
        "pg",
        [
            "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';"
            "COMMENT ON ROLE \"{{name}}\" IS 'made'"
        ],
        renew_statements=["COMMENT ON ROLE \"{{name}}\" IS 'renewed'"],
        revocation_statements=['DROP ROLE "{{name}}"'],
        mount_point=mount,
    )
    creds = vault.secrets.database.generate_credentials("app2", mount_point=mount)
    username = creds["data"]["username"]
    comment = "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s"
    assert postgres.query(comment, username) == [("made",)]
    vault.sys.renew_lease(creds["lease_id"])
    assert postgres.query(comment, username) == [("renewed",)]
    vault.secrets.database.delete_role("app2", mount_point=mount)
    vault.sys.revoke_lease(creds["lease_id"])
    assert not postgres.role_exists(username)


def test_refusals_are_400s_without_secrets(server: RunningServer, mount: str, postgres: Postgres) -> None:
    base = {"connection_url": templated_url(postgres), "username": "postgres", "password": "root-secret-pw"}
    with server.client() as root:
        other = root.post(f"/v1/{mount}/config/my", json={**base, "plugin_name": "mongodb-database-plugin"})
        assert other.status_code == 400
        assert 'plugin "mongodb-database-plugin" is not available' in other.json()["errors"][0]
        assert root.post(f"/v1/{mount}/config/x", json=base).json() == {"errors": ["empty plugin name"]}
        unreachable = {
            **base,
            "plugin_name": PLUGIN,
            "connection_url": base["connection_url"].replace(f":{postgres.port}/", ":1/"),
        }
        refused = root.post(f"/v1/{mount}/config/down", json=unreachable)
        assert refused.status_code == 400
        assert refused.json()["errors"][0].startswith(
            "error creating database object: error verifying connection"
        )
        assert root.get(f"/v1/{mount}/config/down").status_code == 404
        unverified = root.post(f"/v1/{mount}/config/down", json={**unreachable, "verify_connection": False})
        assert unverified.status_code == 204

        root.post(f"/v1/{mount}/config/pg", json={**base, "plugin_name": PLUGIN, "allowed_roles": "app"})
        assert "root-secret-pw" not in root.get(f"/v1/{mount}/config/pg").text
        root.post(
            f"/v1/{mount}/roles/leaky",
            json={"db_name": "pg", "creation_statements": "SELECT '{{password}}'::int"},
        )
        root.post(f"/v1/{mount}/roles/app", json={"db_name": "pg", "creation_statements": CREATE_ROLE})
        leaky = root.get(f"/v1/{mount}/creds/leaky")
        assert leaky.json() == {"errors": ['"leaky" is not an allowed role']}
        root.post(f"/v1/{mount}/config/pg", json={"allowed_roles": "*"})
        leaky = root.get(f"/v1/{mount}/creds/leaky")
        assert leaky.status_code == 400
        assert leaky.json()["errors"][0].startswith(
            'failed to execute query: ERROR: invalid input syntax for type integer: "[redacted]"'
        )
        assert root.get(f"/v1/{mount}/creds/none").json() == {"errors": ["unknown role: none"]}
        assert root.post(f"/v1/{mount}/roles/r", json={"creation_statements": "x"}).json() == {
            "errors": ["database name is required"]
        }
        # An update keeps what it does not name: the stored root password still connects.
        assert root.get(f"/v1/{mount}/creds/app").status_code == 200


def test_rotate_root_changes_the_stored_password_and_never_shows_it(
    server: RunningServer, mount: str, postgres: Postgres
) -> None:
    postgres.query("DROP ROLE IF EXISTS rotator")
    postgres.query("CREATE ROLE rotator WITH LOGIN SUPERUSER PASSWORD 'first-root-pw'")
    password_hash = "SELECT rolpassword FROM pg_authid WHERE rolname = 'rotator'"
    before = postgres.query(password_hash)
    with server.client() as root:
        config = {
            "plugin_name": PLUGIN,
            "connection_url": templated_url(postgres),
            "username": "rotator",
            "password": "first-root-pw",
            "allowed_roles": "*",
        }
        assert root.post(f"/v1/{mount}/config/pg", json=config).status_code == 204
        rotated = root.post(f"/v1/{mount}/rotate-root/pg")
        assert rotated.status_code == 204
        assert postgres.query(password_hash) != before
        assert "password" not in root.get(f"/v1/{mount}/config/pg").json()["data"]["connection_details"]
        assert root.post(f"/v1/{mount}/reset/pg").status_code == 204
        root.post(f"/v1/{mount}/roles/app", json={"db_name": "pg", "creation_statements": CREATE_ROLE})
        creds = root.get(f"/v1/{mount}/creds/app")
        assert creds.status_code == 200
        # Revoked over the connection made with the rotated password, before the root user goes.
        root.put("/v1/sys/leases/revoke", json={"lease_id": creds.json()["lease_id"]}).raise_for_status()
        assert not postgres.role_exists(creds.json()["data"]["username"])
        missing = root.post(f"/v1/{mount}/rotate-root/nope")
        assert missing.json() == {"errors": ['failed to find entry for connection with name: "nope"']}
    postgres.query("DROP ROLE IF EXISTS rotator")


def test_disabling_the_mount_revokes_its_users(server: RunningServer, postgres: Postgres) -> None:
    with server.client() as root:
        root.post("/v1/sys/mounts/db-gone", json={"type": "database"}).raise_for_status()
        config = {"plugin_name": PLUGIN, "connection_url": templated_url(postgres), "allowed_roles": "*"}
        root.post("/v1/db-gone/config/pg", json={**config, "username": "postgres", "password": "x"})
        root.post("/v1/db-gone/roles/app", json={"db_name": "pg", "creation_statements": CREATE_ROLE})
        username = root.get("/v1/db-gone/creds/app").json()["data"]["username"]
        assert postgres.role_exists(username)
        root.delete("/v1/sys/mounts/db-gone").raise_for_status()
    assert not postgres.role_exists(username)
