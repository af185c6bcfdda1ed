"""The MySQL plugins against a real MariaDB over real HTTP: dynamic users created with the role's
statements log in and are dropped by Vault's default revocation, static users' passwords rotate (at
creation, on demand, on schedule), the root password rotates, and errors are 400s without a secret."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import hvac
import hvac.exceptions
import pytest

from tests.mariadb import CREATE_USER, ROOT_PASSWORD, MariaDB
from tests.servers import RunningServer

GRANT = "GRANT SELECT ON *.* TO '{{name}}'@'%';"


@pytest.fixture
def vault(server: RunningServer) -> Iterator[hvac.Client]:
    client = hvac.Client(url=server.address, token=server.root_token)
    yield client
    client.adapter.close()


@pytest.fixture
def account(mariadb: MariaDB) -> Iterator[str]:
    """A MariaDB user with the password "initial-pw", dropped afterwards."""
    name = f"st_{uuid.uuid4().hex[:8]}"
    mariadb.query(f"CREATE USER '{name}'@'%' IDENTIFIED BY 'initial-pw'")
    yield name
    mariadb.query(f"DROP USER IF EXISTS '{name}'@'%'")


def configure(
    vault: hvac.Client, mount: str, mariadb: MariaDB, plugin: str = "mysql-database-plugin"
) -> None:
    vault.secrets.database.configure(
        name="my", plugin_name=plugin, allowed_roles=["*"], connection_url=mariadb.dsn(),
        username="root", password=ROOT_PASSWORD, mount_point=mount,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("plugin", "pattern"),
    [
        ("mysql-database-plugin", r"v-token-app-[A-Za-z0-9]{20}"),
        ("mysql-legacy-database-plugin", r"v-app-[A-Za-z0-9]{10}"),
        ("mysql-aurora-database-plugin", r"v-app-[A-Za-z0-9]{10}"),
    ],
)
def test_dynamic_users_log_in_and_are_dropped_on_revoke(
    vault: hvac.Client, mount: str, mariadb: MariaDB, plugin: str, pattern: str
) -> None:
    configure(vault, mount, mariadb, plugin)
    vault.secrets.database.create_role(
        "app", db_name="my", creation_statements=[CREATE_USER + GRANT], default_ttl="1h", mount_point=mount
    )
    creds = vault.secrets.database.generate_credentials("app", mount_point=mount)
    username, password = creds["data"]["username"], creds["data"]["password"]
    assert re.fullmatch(pattern, username)
    assert creds["lease_duration"] == 3600
    assert mariadb.logs_in(username, password)
    vault.sys.renew_lease(creds["lease_id"])
    assert mariadb.logs_in(username, password)
    vault.sys.revoke_lease(creds["lease_id"])
    assert not mariadb.user_exists(username)


def test_static_users_rotate_at_creation_on_demand_and_on_schedule(
    vault: hvac.Client, mount: str, mariadb: MariaDB, account: str
) -> None:
    configure(vault, mount, mariadb)
    vault.secrets.database.create_static_role(
        "app", db_name="my", username=account, rotation_statements=[], rotation_period="1h", mount_point=mount
    )
    first = vault.secrets.database.get_static_credentials("app", mount_point=mount)["data"]
    assert first["username"] == account
    assert mariadb.logs_in(account, first["password"])
    assert not mariadb.logs_in(account, "initial-pw")
    vault.secrets.database.rotate_static_role_credentials("app", mount_point=mount)
    second = vault.secrets.database.get_static_credentials("app", mount_point=mount)["data"]["password"]
    assert second != first["password"]
    assert mariadb.logs_in(account, second)
    assert not mariadb.logs_in(account, first["password"])
    vault.adapter.post(f"/v1/{mount}/static-roles/app", json={"rotation_period": 5})
    deadline = time.monotonic() + 15
    while (
        vault.secrets.database.get_static_credentials("app", mount_point=mount)["data"]["password"] == second
    ):
        assert time.monotonic() < deadline, "no scheduled rotation"
        time.sleep(0.2)
    third = vault.secrets.database.get_static_credentials("app", mount_point=mount)["data"]["password"]
    assert mariadb.logs_in(account, third)
    assert not mariadb.logs_in(account, second)


def test_the_root_password_rotates_and_the_engine_keeps_working(
    vault: hvac.Client, mount: str, mariadb: MariaDB
) -> None:
    admin = f"ad_{uuid.uuid4().hex[:8]}"
    mariadb.query(f"CREATE USER '{admin}'@'%' IDENTIFIED BY 'admin-pw'")
    mariadb.query(f"GRANT ALL PRIVILEGES ON *.* TO '{admin}'@'%' WITH GRANT OPTION")
    try:
        vault.secrets.database.configure(
            name="my", plugin_name="mysql-database-plugin", allowed_roles=["*"], connection_url=mariadb.dsn(),
            username=admin, password="admin-pw", mount_point=mount,
        )  # fmt: skip
        vault.secrets.database.rotate_root_credentials("my", mount_point=mount)
        assert not mariadb.logs_in(admin, "admin-pw")
        vault.secrets.database.create_role(
            "app", db_name="my", creation_statements=[CREATE_USER], mount_point=mount
        )
        creds = vault.secrets.database.generate_credentials("app", mount_point=mount)["data"]
        assert mariadb.logs_in(creds["username"], creds["password"])
    finally:
        mariadb.query(f"DROP USER IF EXISTS '{admin}'@'%'")


def test_refusals_are_400s_without_secrets(vault: hvac.Client, mount: str, mariadb: MariaDB) -> None:
    body = {"plugin_name": "mysql-database-plugin", "username": "root", "password": "wrong-root-pw"}
    cases = {
        "invalid DSN: missing the slash separating the database name": "{{username}}@tcp(127.0.0.1:1)",
        "invalid DSN: unknown network 'udp'": "{{username}}@udp(127.0.0.1:1)/",
        "error verifying - ping: Error 1045 (28000): Access denied for user 'root'": mariadb.dsn(),
    }
    for message, url in cases.items():
        refused = vault.adapter.post(
            f"/v1/{mount}/config/my", json={**body, "connection_url": url}, raise_exception=False
        )
        assert refused.status_code == 400
        assert message in refused.json()["errors"][0]
        assert "wrong-root-pw" not in refused.text
    configure(vault, mount, mariadb)
    vault.secrets.database.create_role(
        "bad", db_name="my", mount_point=mount,
        creation_statements=["CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}' OOPS"],
    )  # fmt: skip
    with pytest.raises(hvac.exceptions.InvalidRequest) as refused:
        vault.secrets.database.generate_credentials("bad", mount_point=mount)
    assert "Error 1064 (42000): You have an error in your SQL syntax" in str(refused.value)
    assert ROOT_PASSWORD not in str(refused.value)
    read = vault.secrets.database.read_connection("my", mount_point=mount)["data"]
    assert read["connection_details"] == {"connection_url": mariadb.dsn(), "username": "root"}


def test_tls_details_reach_a_user_that_requires_a_client_certificate(
    vault: hvac.Client, mount: str, mariadb: MariaDB
) -> None:
    admin = f"tls_{uuid.uuid4().hex[:8]}"
    mariadb.query(f"CREATE USER '{admin}'@'%' IDENTIFIED BY 'admin-pw' REQUIRE X509")
    mariadb.query(f"GRANT ALL PRIVILEGES ON *.* TO '{admin}'@'%' WITH GRANT OPTION")
    url = f"/v1/{mount}/config/my"
    body = {
        "plugin_name": "mysql-database-plugin", "allowed_roles": "*", "connection_url": mariadb.dsn(),
        "username": admin, "password": "admin-pw",
    }  # fmt: skip
    try:
        plain = vault.adapter.post(url, json=body, raise_exception=False)
        assert plain.status_code == 400
        assert "Access denied" in plain.json()["errors"][0]
        untrusted = vault.adapter.post(
            url, json={**body, "tls_certificate_key": mariadb.client}, raise_exception=False
        )
        assert untrusted.status_code == 400
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.json()["errors"][0]
        vault.adapter.post(url, json={**body, "tls_ca": mariadb.ca, "tls_certificate_key": mariadb.client})
        shown = vault.secrets.database.read_connection("my", mount_point=mount)["data"]["connection_details"]
        assert shown["tls_ca"] == mariadb.ca
        assert "tls_certificate_key" not in shown
        vault.secrets.database.create_role(
            "app", db_name="my", creation_statements=[CREATE_USER], mount_point=mount
        )
        creds = vault.secrets.database.generate_credentials("app", mount_point=mount)["data"]
        assert mariadb.logs_in(creds["username"], creds["password"])
        skip = {**body, "tls_skip_verify": True, "tls_certificate_key": mariadb.client}
        assert vault.adapter.post(f"{url}2", json=skip).status_code == 204
    finally:
        mariadb.query(f"DROP USER IF EXISTS '{admin}'@'%'")
