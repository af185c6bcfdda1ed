"""Database static roles over real HTTP against a real PostgreSQL: creating one rotates the user's password
at once, rotations run on schedule and on demand, the password hvac reads logs in and the old one no
longer does, a failing rotation keeps the old password and shows its error on the role, a database that
refuses connections is retried until it is back, and the connection's password policy shapes passwords."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import hvac
import hvac.exceptions
import pytest

from tests.engines.database.conftest import PLUGIN, logs_in, templated_url
from tests.postgres import Postgres
from tests.servers import RunningServer, bao_binary


@pytest.fixture
def vault(server: RunningServer) -> Iterator[hvac.Client]:
    client = hvac.Client(url=server.address, token=server.root_token)
    yield client
    client.adapter.close()


def configure(vault: hvac.Client, mount: str, url: str, **extra: object) -> None:
    vault.secrets.database.configure(
        name="pg",
        plugin_name=PLUGIN,
        allowed_roles=["*"],
        connection_url=url,
        username="postgres",
        password="unused",
        mount_point=mount,
        **extra,
    )


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def creds(vault: hvac.Client, mount: str, name: str = "app") -> dict[str, object]:
    data: dict[str, object] = vault.secrets.database.get_static_credentials(name, mount_point=mount)["data"]
    return data


def test_creating_rotates_at_once_and_the_new_password_logs_in(
    vault: hvac.Client, mount: str, postgres: Postgres, user: str
) -> None:
    configure(vault, mount, templated_url(postgres))
    before = time.time()
    vault.secrets.database.create_static_role(
        "app", db_name="pg", username=user, rotation_statements=[], rotation_period="1h", mount_point=mount
    )
    got = creds(vault, mount)
    assert set(got) == {"last_vault_rotation", "password", "rotation_period", "ttl", "username"}
    assert got["username"] == user
    assert got["rotation_period"] == 3600
    assert 3590 <= int(got["ttl"]) <= 3600  # type: ignore[call-overload]
    rotated = datetime.fromisoformat(str(got["last_vault_rotation"]).replace("Z", "+00:00")).timestamp()
    assert before - 1 <= rotated <= time.time() + 1
    password = str(got["password"])
    assert len(password) == 20
    assert logs_in(postgres, user, password)
    assert not logs_in(postgres, user, "initial-pw")
    role = vault.secrets.database.read_static_role("app", mount_point=mount)["data"]
    assert role == {
        "credential_type": "password",
        "db_name": "pg",
        "last_vault_rotation": got["last_vault_rotation"],
        "rotation_period": 3600,
        "rotation_statements": [],
        "username": user,
    }
    assert vault.secrets.database.list_static_roles(mount_point=mount)["data"]["keys"] == ["app"]
    assert creds(vault, mount)["password"] == password  # the same until it rotates

    vault.secrets.database.rotate_static_role_credentials("app", mount_point=mount)
    again = str(creds(vault, mount)["password"])
    assert again != password
    assert logs_in(postgres, user, again)
    assert not logs_in(postgres, user, password)

    vault.secrets.database.delete_static_role("app", mount_point=mount)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="unknown role: app"):
        creds(vault, mount)
    assert logs_in(postgres, user, again)  # deleting the role leaves the user as it was


def test_rotations_run_on_schedule(vault: hvac.Client, mount: str, postgres: Postgres, user: str) -> None:
    configure(vault, mount, templated_url(postgres))
    vault.secrets.database.create_static_role(
        "app", db_name="pg", username=user, rotation_statements=[], rotation_period=5, mount_point=mount
    )
    first = creds(vault, mount)
    wait_for(lambda: creds(vault, mount)["password"] != first["password"], timeout=15)
    second = creds(vault, mount)
    assert str(second["last_vault_rotation"]) > str(first["last_vault_rotation"])
    assert logs_in(postgres, user, str(second["password"]))
    assert not logs_in(postgres, user, str(first["password"]))


def test_a_failing_rotation_keeps_the_old_password_and_records_the_error(
    vault: hvac.Client, mount: str, postgres: Postgres, user: str
) -> None:
    configure(vault, mount, templated_url(postgres))
    with pytest.raises(hvac.exceptions.InvalidRequest, match="error setting credentials"):
        vault.secrets.database.create_static_role(
            "broken", db_name="pg", username=user, rotation_period="1h",
            rotation_statements=["ALTER ROLE nobody_here WITH PASSWORD '{{password}}'"],
            mount_point=mount,
        )  # fmt: skip
    with pytest.raises(hvac.exceptions.InvalidPath):  # an empty list is a 404, as in Vault
        vault.secrets.database.list_static_roles(mount_point=mount)
    assert logs_in(postgres, user, "initial-pw")

    vault.secrets.database.create_static_role(
        "app", db_name="pg", username=user, rotation_statements=[], rotation_period="1h", mount_point=mount
    )
    password = str(creds(vault, mount)["password"])
    vault.adapter.post(
        f"/v1/{mount}/static-roles/app",
        json={"rotation_statements": ["ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}'", "SELECT 1/0"]},
    )
    with pytest.raises(hvac.exceptions.InvalidRequest) as refused:
        vault.secrets.database.rotate_static_role_credentials("app", mount_point=mount)
    message = str(refused.value)
    assert "unable to finish rotating credentials" in message
    assert "division by zero" in message
    assert password not in message
    role = vault.secrets.database.read_static_role("app", mount_point=mount)["data"]
    assert "division by zero" in role["last_rotation_error"]
    assert creds(vault, mount)["password"] == password
    assert logs_in(postgres, user, password)

    vault.adapter.post(f"/v1/{mount}/static-roles/app", json={"rotation_statements": []})
    vault.secrets.database.rotate_static_role_credentials("app", mount_point=mount)
    fixed = str(creds(vault, mount)["password"])
    assert fixed != password
    assert logs_in(postgres, user, fixed)
    assert (
        "last_rotation_error" not in vault.secrets.database.read_static_role("app", mount_point=mount)["data"]
    )


def test_a_database_that_refuses_connections_is_retried_until_it_is_back(
    vault: hvac.Client, mount: str, postgres: Postgres, user: str
) -> None:
    database = f"off_{uuid.uuid4().hex[:8]}"
    with postgres.database(database, password="{{password}}") as url:
        configure(vault, mount, url.replace("postgres:{{password}}@", "{{username}}:{{password}}@"))
        vault.secrets.database.create_static_role(
            "app", db_name="pg", username=user, rotation_statements=[], rotation_period=5, mount_point=mount
        )
        password = str(creds(vault, mount)["password"])
        postgres.query(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
        postgres.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", database)

        def failed() -> bool:
            role = vault.secrets.database.read_static_role("app", mount_point=mount)["data"]
            return "last_rotation_error" in role

        wait_for(failed, timeout=15)
        assert creds(vault, mount)["password"] == password
        assert logs_in(postgres, user, password)
        postgres.query(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        wait_for(lambda: not failed(), timeout=30)
        recovered = str(creds(vault, mount)["password"])
        assert recovered != password
        assert logs_in(postgres, user, recovered)
        assert not logs_in(postgres, user, password)
        vault.secrets.database.delete_static_role("app", mount_point=mount)


def test_the_connections_password_policy_shapes_static_and_dynamic_passwords(
    vault: hvac.Client, mount: str, postgres: Postgres, user: str
) -> None:
    policy = f"digits-{uuid.uuid4().hex[:6]}"
    vault.adapter.put(
        f"/v1/sys/policies/password/{policy}",
        json={"policy": 'length = 32\nrule "charset" {\n  charset = "0123456789"\n  min-chars = 1\n}\n'},
    )
    configure(vault, mount, templated_url(postgres), password_policy=policy)
    connection = vault.secrets.database.read_connection("pg", mount_point=mount)["data"]
    assert connection["password_policy"] == policy
    vault.secrets.database.create_static_role(
        "app", db_name="pg", username=user, rotation_statements=[], rotation_period="1h", mount_point=mount
    )
    password = str(creds(vault, mount)["password"])
    assert len(password) == 32
    assert password.isdigit()
    assert logs_in(postgres, user, password)
    vault.secrets.database.create_role(
        "dyn", db_name="pg", mount_point=mount,
        creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}'"],
    )  # fmt: skip
    dynamic = vault.secrets.database.generate_credentials("dyn", mount_point=mount)["data"]
    assert len(dynamic["password"]) == 32
    assert dynamic["password"].isdigit()
    letters = f"letters-{uuid.uuid4().hex[:6]}"
    vault.adapter.put(
        f"/v1/sys/policies/password/{letters}",
        json={"policy": 'length = 12\nrule "charset" {\n  charset = "abc"\n}\n'},
    )
    own = {"credential_config": {"password_policy": letters}}
    vault.adapter.post(f"/v1/{mount}/static-roles/app", json=own)
    vault.adapter.post(f"/v1/{mount}/roles/dyn", json=own)
    vault.secrets.database.rotate_static_role_credentials("app", mount_point=mount)
    password = str(creds(vault, mount)["password"])
    assert re.fullmatch("[abc]{12}", password)
    assert logs_in(postgres, user, password)
    dynamic = vault.secrets.database.generate_credentials("dyn", mount_point=mount)["data"]
    assert re.fullmatch("[abc]{12}", dynamic["password"])
    role = vault.secrets.database.read_static_role("app", mount_point=mount)["data"]
    assert role["credential_config"] == {"password_policy": letters}
    vault.adapter.delete(f"/v1/sys/policies/password/{letters}")
    with pytest.raises(
        hvac.exceptions.InvalidRequest, match="failed to generate password: no password policy"
    ):
        vault.secrets.database.rotate_static_role_credentials("app", mount_point=mount)
    assert logs_in(postgres, user, password)


def test_static_and_dynamic_roles_never_share_a_name(
    vault: hvac.Client, mount: str, postgres: Postgres, user: str
) -> None:
    configure(vault, mount, templated_url(postgres))
    vault.secrets.database.create_role("both", db_name="pg", creation_statements=[], mount_point=mount)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="Role and Static Role names must be unique"):
        vault.secrets.database.create_static_role(
            "both",
            db_name="pg",
            username=user,
            rotation_statements=[],
            rotation_period="1h",
            mount_point=mount,
        )
    vault.secrets.database.create_static_role(
        "app", db_name="pg", username=user, rotation_statements=[], rotation_period="1h", mount_point=mount
    )
    with pytest.raises(hvac.exceptions.InvalidRequest, match="Role and Static Role names must be unique"):
        vault.secrets.database.create_role("app", db_name="pg", creation_statements=[], mount_point=mount)


def test_a_cron_schedule_sets_the_ttl_and_its_rules_are_vaults(
    vault: hvac.Client, mount: str, postgres: Postgres, user: str
) -> None:
    configure(vault, mount, templated_url(postgres))
    url = f"/v1/{mount}/static-roles/app"
    base = {"db_name": "pg", "username": user}
    refusals = {
        "one of rotation_schedule or rotation_period must be provided to create a static account": {},
        "mutually exclusive fields rotation_period and rotation_schedule were both specified; only one of "
        "them can be provided": {"rotation_period": "1h", "rotation_schedule": "0 * * * *"},
        "rotation_window is invalid with use of rotation_period": {
            "rotation_period": "1h",
            "rotation_window": "2h",
        },
        "could not parse rotation_schedule: expected exactly 5 fields, found 1: [hourly]": {
            "rotation_schedule": "hourly"
        },
        "rotation_window is invalid: rotation_window must be 3600 seconds or more": {
            "rotation_schedule": "0 * * * *",
            "rotation_window": "10m",
        },
    }
    for message, body in refusals.items():
        refused = vault.adapter.post(url, json={**base, **body}, raise_exception=False)
        assert (refused.status_code, refused.json()) == (400, {"errors": [message]})
    vault.adapter.post(url, json={**base, "rotation_schedule": "*/5 * * * *", "rotation_window": "1h"})
    got = creds(vault, mount)
    assert set(got) == {
        "last_vault_rotation",
        "password",
        "rotation_schedule",
        "rotation_window",
        "ttl",
        "username",
    }
    assert (got["rotation_schedule"], got["rotation_window"]) == ("*/5 * * * *", 3600)
    assert 0 <= int(got["ttl"]) <= 300  # type: ignore[call-overload]
    assert logs_in(postgres, user, str(got["password"]))
    vault.adapter.post(url, json={"rotation_period": "2h"})
    role = vault.secrets.database.read_static_role("app", mount_point=mount)["data"]
    assert role["rotation_period"] == 7200
    assert "rotation_schedule" not in role
    assert 7190 <= int(creds(vault, mount)["ttl"]) <= 7200  # type: ignore[call-overload]


def test_the_bao_cli_reads_static_creds_and_rotates(
    server: RunningServer, mount: str, postgres: Postgres, user: str, tmp_path: Path, vault: hvac.Client
) -> None:
    configure(vault, mount, templated_url(postgres))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env |= {"HOME": str(tmp_path), "BAO_ADDR": server.address, "BAO_TOKEN": server.root_token}

    def bao(*args: str) -> str:
        done = subprocess.run(
            [bao_binary(), *args], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    bao("write", f"{mount}/static-roles/app", "db_name=pg", f"username={user}", "rotation_period=1h")
    got = json.loads(bao("read", "-format=json", f"{mount}/static-creds/app"))["data"]
    assert got["username"] == user
    assert logs_in(postgres, user, got["password"])
    assert bao("read", "-field=password", f"{mount}/static-creds/app") == got["password"]
    bao("write", "-f", f"{mount}/rotate-role/app")
    assert bao("read", "-field=password", f"{mount}/static-creds/app") != got["password"]
    assert bao("list", "-format=json", f"{mount}/static-roles").strip() == '[\n  "app"\n]'
