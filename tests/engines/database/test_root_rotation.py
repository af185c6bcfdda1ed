"""rotate-root writes ahead, against a real PostgreSQL and a real MariaDB: the new password is stored before
the database is touched and the config takes it once the database has; a failing rotation statement keeps
the old password (or adopts the new one, when MariaDB committed it before the failure), and a server killed
between the database's change and the confirm settles it at unseal, so the engine still reaches its database.
The root users here have their passwords checked (the PostgreSQL fixture trusts everyone else)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.engines.database.conftest import CHECKED_GROUP, PLUGIN, logs_in, require_passwords, templated_url
from tests.mariadb import CREATE_USER, MariaDB
from tests.postgres import CREATE_ROLE, Postgres
from tests.servers import RunningServer, free_port, init_and_unseal, sqlite_config, strongroom_config_server

PG_ALTER = "ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}'"
MY_ALTER = "ALTER USER '{{username}}'@'%' IDENTIFIED BY '{{password}}'"
FIRST = "admin-pw"


@pytest.fixture
def pg_admin(postgres: Postgres) -> Iterator[str]:
    """A PostgreSQL superuser with the password FIRST, checked, dropped afterwards (tests ask for it before
    `mount`, so the mount, revoking its leases as this user, goes first)."""
    require_passwords(postgres)
    name = f"ra_{uuid.uuid4().hex[:8]}"
    postgres.query(f"CREATE ROLE {name} WITH LOGIN SUPERUSER PASSWORD '{FIRST}' IN ROLE {CHECKED_GROUP}")
    yield name
    postgres.query(f"DROP ROLE IF EXISTS {name}")


@pytest.fixture
def my_admin(mariadb: MariaDB) -> Iterator[str]:
    """A MariaDB user with every privilege and the password FIRST, dropped afterwards (after `mount`)."""
    name = f"ad_{uuid.uuid4().hex[:8]}"
    mariadb.query(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{FIRST}'")
    mariadb.query(f"GRANT ALL PRIVILEGES ON *.* TO '{name}'@'%' WITH GRANT OPTION")
    yield name
    mariadb.query(f"DROP USER IF EXISTS '{name}'@'%'")


def pg_config(postgres: Postgres, admin: str, **extra: object) -> dict[str, object]:
    url = templated_url(postgres)
    return {"plugin_name": PLUGIN, "connection_url": url, "username": admin, "password": FIRST, **extra}


def my_config(mariadb: MariaDB, admin: str, **extra: object) -> dict[str, object]:
    plugin = "mysql-database-plugin"
    return {
        "plugin_name": plugin,
        "connection_url": mariadb.dsn(),
        "username": admin,
        "password": FIRST,
        **extra,
    }


def set_up(root: httpx.Client, mount: str, config: dict[str, object], creation: str) -> None:
    root.post(f"/v1/{mount}/config/db", json={**config, "allowed_roles": "*"}).raise_for_status()
    root.post(f"/v1/{mount}/roles/app", json={"db_name": "db", "creation_statements": [creation]})


def issues_creds(root: httpx.Client, mount: str) -> bool:
    """Whether the engine still reaches its database as root (a new connection, after a reset)."""
    root.post(f"/v1/{mount}/reset/db").raise_for_status()
    return root.get(f"/v1/{mount}/creds/app").status_code == 200


def use_statements(root: httpx.Client, mount: str, *statements: str) -> None:
    root.post(
        f"/v1/{mount}/config/db", json={"root_rotation_statements": list(statements)}
    ).raise_for_status()


def test_postgresql_rotation_and_a_failing_statement(
    server: RunningServer, postgres: Postgres, pg_admin: str, mount: str
) -> None:
    with server.client() as root:
        set_up(root, mount, pg_config(postgres, pg_admin), CREATE_ROLE)
        # The statements run in one transaction: the failure rolls the ALTER ROLE back.
        use_statements(root, mount, PG_ALTER, "SELECT no_such_function()")
        refused = root.post(f"/v1/{mount}/rotate-root/db")
        assert refused.status_code == 400
        assert refused.json() == {
            "errors": [
                "failed to update user: ERROR: function no_such_function() does not exist (SQLSTATE 42883)"
            ]
        }
        assert logs_in(postgres, pg_admin, FIRST)
        assert issues_creds(root, mount)
        use_statements(root, mount)
        assert root.post(f"/v1/{mount}/rotate-root/db").status_code == 204
        assert not logs_in(postgres, pg_admin, FIRST)
        assert issues_creds(root, mount)
        assert root.post(f"/v1/{mount}/rotate-root/db").status_code == 204
        assert issues_creds(root, mount)


def test_mariadb_rotation_and_failing_statements(
    server: RunningServer, mariadb: MariaDB, my_admin: str, mount: str
) -> None:
    with server.client() as root:
        set_up(root, mount, my_config(mariadb, my_admin), CREATE_USER)
        # Failing before the ALTER USER: nothing changed, the old password stays.
        use_statements(root, mount, "SELECT * FROM mysql.no_such_table", MY_ALTER)
        refused = root.post(f"/v1/{mount}/rotate-root/db")
        assert refused.status_code == 400
        assert refused.json()["errors"][0].startswith("failed to update user: Error 1146 (42S02): Table")
        assert mariadb.logs_in(my_admin, FIRST)
        assert issues_creds(root, mount)
        # Failing after it: MariaDB committed the new password at once, and the engine adopts it.
        use_statements(root, mount, MY_ALTER, "SELECT * FROM mysql.no_such_table")
        assert root.post(f"/v1/{mount}/rotate-root/db").status_code == 400
        assert not mariadb.logs_in(my_admin, FIRST)
        assert issues_creds(root, mount)
        use_statements(root, mount)
        assert root.post(f"/v1/{mount}/rotate-root/db").status_code == 204
        assert issues_creds(root, mount)


def crash_during_rotation(
    tmp_path: Path,
    config: dict[str, object],
    creation: str,
    sleeping: Callable[[], bool],
    after_kill: Callable[[], None],
) -> tuple[httpx.Client, Callable[[], None]]:
    """Start a strongroom server, configure `config` (whose rotation statements end in a long sleep), start
    rotate-root and SIGKILL the server once `sleeping()` sees the sleep running in the database; call
    `after_kill`, restart and unseal. Returns a root client on the restarted server and a stopper."""
    port = free_port()
    text = sqlite_config(tmp_path, port)
    with strongroom_config_server(tmp_path, text, port) as first:
        unseal_key, token = init_and_unseal(first.address)
        with httpx.Client(base_url=first.address, headers={"X-Vault-Token": token}, timeout=60) as root:
            root.post("/v1/sys/mounts/db", json={"type": "database"}).raise_for_status()
            set_up(root, "db", config, creation)

            def rotate() -> None:
                with contextlib.suppress(httpx.TransportError):  # the server dies under it, as meant
                    root.post("/v1/db/rotate-root/db")

            rotation = threading.Thread(target=rotate)
            rotation.start()
            deadline = time.monotonic() + 15
            while not sleeping():
                assert time.monotonic() < deadline, "the rotation statement never ran"
                time.sleep(0.05)
            first.process.send_signal(signal.SIGKILL)
            first.process.wait()
            rotation.join()
    after_kill()
    second = strongroom_config_server(tmp_path, text, port)
    running = second.__enter__()
    httpx.put(f"{running.address}/v1/sys/unseal", json={"key": unseal_key}).raise_for_status()
    client = httpx.Client(base_url=running.address, headers={"X-Vault-Token": token}, timeout=60)

    def stop() -> None:
        client.close()
        second.__exit__(None, None, None)

    return client, stop


def test_mariadb_server_killed_after_the_password_changed(
    tmp_path: Path, mariadb: MariaDB, my_admin: str
) -> None:
    # ALTER USER commits at once; the server dies while the next statement sleeps, before any confirm.
    config = my_config(mariadb, my_admin, root_rotation_statements=[MY_ALTER, "DO SLEEP(30)"])

    def sleeping() -> bool:
        return bool(
            mariadb.query("SELECT id FROM information_schema.processlist WHERE info = 'DO SLEEP(30)'")
        )

    def after_kill() -> None:
        assert not mariadb.logs_in(
            my_admin, FIRST
        )  # the database has the new password, only strongroom knows it
        for (orphan,) in mariadb.query(
            "SELECT id FROM information_schema.processlist WHERE info = 'DO SLEEP(30)'"
        ):
            mariadb.query(f"KILL {orphan}")

    root, stop = crash_during_rotation(tmp_path, config, CREATE_USER, sleeping, after_kill)
    try:
        assert issues_creds(root, "db")
        use_statements(root, "db")
        assert root.post("/v1/db/rotate-root/db").status_code == 204
        assert issues_creds(root, "db")
    finally:
        stop()


def test_postgresql_server_killed_before_the_password_committed(
    tmp_path: Path, postgres: Postgres, pg_admin: str
) -> None:
    # PostgreSQL runs the statements in one transaction: killed while it sleeps, the ALTER ROLE never commits.
    config = pg_config(postgres, pg_admin, root_rotation_statements=[PG_ALTER, "SELECT pg_sleep(30)"])
    probe = "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND usename = %s"

    def sleeping() -> bool:
        return bool(postgres.query(probe, pg_admin))

    def after_kill() -> None:
        for (orphan,) in postgres.query(probe, pg_admin):
            postgres.query("SELECT pg_terminate_backend(%s)", orphan)
        assert logs_in(postgres, pg_admin, FIRST)

    root, stop = crash_during_rotation(tmp_path, config, CREATE_ROLE, sleeping, after_kill)
    try:
        assert issues_creds(root, "db")
        use_statements(root, "db")
        assert root.post("/v1/db/rotate-root/db").status_code == 204
        assert not logs_in(postgres, pg_admin, FIRST)
        assert issues_creds(root, "db")
    finally:
        stop()
