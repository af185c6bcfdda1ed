"""PostgreSQL specifics beyond the shared contract: options, OpenBao's table shape, lost connections, and
the password kept out of every error."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from tests.postgres import Postgres
from tests.servers import free_port

from strongroom.errors import ConfigError, StorageError
from strongroom.physical.postgresql import (
    DEFAULT_TABLE,
    PostgreSQLBackend,
    PostgreSQLOptions,
    _Secret,
    open_postgresql,
    parse_options,
    split_key,
)

PASSWORD = "pw-Sekrit-4711"


@pytest.fixture
async def database(postgres: Postgres) -> AsyncIterator[str]:
    """The URL of a fresh database of this test's own (so it can be switched off without harm)."""
    with postgres.database(f"db_{uuid.uuid4().hex}", password=PASSWORD) as url:
        yield url


async def _admin(database: str, statement: str) -> None:
    """Run `statement` from the `postgres` database, about the test's database."""
    name = database.rsplit("/", 1)[1].partition("?")[0]
    async with await psycopg.AsyncConnection.connect(
        database.replace(f"/{name}?", "/postgres?"), autocommit=True
    ) as admin:
        await admin.execute(statement.replace("{db}", name))


async def _rows(database: str, table: str) -> list[tuple[str, str, str, bytes]]:
    async with await psycopg.AsyncConnection.connect(database) as connection:
        cursor = await connection.execute(
            f'SELECT parent_path, path, key, value FROM "{table}" ORDER BY path, key'
        )
        return [(a, b, c, bytes(d)) for a, b, c, d in await cursor.fetchall()]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("a", ("", "/", "a")),
        ("b/c", ("/", "/b/", "c")),
        ("b/d/e", ("/b/", "/b/d/", "e")),
        ("/x", ("/", "//", "x")),
        ("sys/token/id/h", ("/sys/token/", "/sys/token/id/", "h")),
    ],
)
def test_keys_split_as_openbao_does(key: str, expected: tuple[str, str, str]) -> None:
    assert split_key(key) == expected


def test_defaults_follow_openbao() -> None:
    options = parse_options({"connection_url": "postgres://u@h/db"}, {})
    assert options == PostgreSQLOptions(
        conninfo=options.conninfo,
        table="openbao_kv_store",
        max_parallel=128,
        max_idle=2,
        skip_create_table=False,
        max_connect_retries=1,
    )
    assert DEFAULT_TABLE == "openbao_kv_store"
    assert "connect_timeout=10" in options.conninfo
    assert "postgres://" not in repr(options)


def test_the_environment_overrides_the_config() -> None:
    config = {"connection_url": "host=from-config connect_timeout=3"}
    assert parse_options(config, {}).conninfo == "host=from-config connect_timeout=3"
    vault = {"VAULT_PG_CONNECTION_URL": "host=vault connect_timeout=3"}
    assert parse_options(config, vault).conninfo == "host=vault connect_timeout=3"
    both = {**vault, "BAO_PG_CONNECTION_URL": "host=bao connect_timeout=3"}
    assert parse_options(config, both).conninfo == "host=bao connect_timeout=3"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"ha_enabled": "yes"}, 'storage "postgresql": ha_enabled must be true or false'),
        ({"ha_table": ""}, 'storage "postgresql": ha_table must be a non-empty name'),
        ({"max_parallel": "0"}, 'storage "postgresql": max_parallel must be a whole number of at least 1'),
        ({"max_parallel": "lots"}, 'storage "postgresql": max_parallel must be a whole number of at least 1'),
        ({"max_idle_connections": "-1"}, "max_idle_connections must be a whole number of at least 0"),
        ({"skip_create_table": "maybe"}, 'storage "postgresql": skip_create_table must be true or false'),
        ({"tabel": "x"}, "storage \"postgresql\": unknown option 'tabel'"),
        ({"table": ""}, 'storage "postgresql": table must be a non-empty name'),
    ],
)
def test_bad_options_are_config_errors(config: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_options(config, {})
    assert message in str(caught.value)


def test_ha_and_known_options_are_accepted() -> None:
    options = parse_options(
        {
            "ha_enabled": "true",
            "ha_table": "locks",
            "max_idle_connections": "0",
            "transaction_max_parallel": "4",
        },
        {},
    )
    assert (options.max_idle, options.ha_enabled, options.ha_table) == (0, True, "locks")
    assert parse_options({}, {}).ha_table == "openbao_ha_locks"


def test_an_unreadable_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_options({"connection_url": f"host=h password={PASSWORD} port"}, {})
    assert str(caught.value) == 'storage "postgresql": connection_url is not a valid connection string'


def test_the_password_is_masked_in_plain_and_url_encoded_form() -> None:
    secret = _Secret("postgresql://u:p%40ss%2Fword@h/db")
    assert secret.mask("a p@ss/word b p%40ss%2Fword c") == "a *** b *** c"
    assert "p@ss" not in repr(secret)


async def test_an_unreachable_server_fails_in_one_line_without_the_password() -> None:
    url = f"postgresql://bob:{PASSWORD}@127.0.0.1:{free_port()}/db?sslmode=disable"
    with pytest.raises(StorageError) as caught:
        await open_postgresql({"connection_url": url, "max_connect_retries": "1"}, {})
    message = str(caught.value)
    assert message.startswith("postgresql: connection failed:")
    assert "Connection refused" in message
    assert PASSWORD not in message
    assert "\n" not in message


async def test_rows_have_openbaos_shape(database: str) -> None:
    backend = await open_postgresql({"connection_url": database}, {})
    try:
        await backend.put("b/d/e", b"\x00v")
        await backend.put("a", b"w")
        await backend.put("a", b"x")
    finally:
        await backend.close()
    assert await _rows(database, "openbao_kv_store") == [
        ("", "/", "a", b"x"),
        ("/b/", "/b/d/", "e", b"\x00v"),
    ]


async def test_a_table_made_from_openbaos_documented_schema_is_used(database: str) -> None:
    # The SQL from OpenBao's documentation, for operators who create the table themselves.
    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as connection:
        await connection.execute(
            'CREATE TABLE openbao_kv_store (parent_path TEXT COLLATE "C" NOT NULL, path TEXT COLLATE "C", '
            'key TEXT COLLATE "C", value BYTEA, CONSTRAINT pkey PRIMARY KEY (path, key))'
        )
        await connection.execute("CREATE INDEX parent_path_idx ON openbao_kv_store (parent_path)")
    backend = await open_postgresql({"connection_url": database, "skip_create_table": "true"}, {})
    try:
        await backend.put("x/y", b"1")
        assert await backend.list("x/") == ["y"]
    finally:
        await backend.close()


async def test_skip_create_table_needs_the_table(database: str) -> None:
    config = {"connection_url": database, "skip_create_table": "true", "table": "absent"}
    with pytest.raises(StorageError) as caught:
        await open_postgresql(config, {})
    assert str(caught.value) == "postgresql: table 'absent' does not exist (skip_create_table is set)"


async def test_a_database_in_another_encoding_is_refused(postgres: Postgres) -> None:
    async with await psycopg.AsyncConnection.connect(postgres.url(), autocommit=True) as admin:
        await admin.execute(
            "CREATE DATABASE latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        )
        try:
            url = postgres.url().replace("/postgres?", "/latin?")
            with pytest.raises(StorageError) as caught:
                await open_postgresql({"connection_url": url}, {})
            assert str(caught.value) == "postgresql: the database encoding must be UTF8, not LATIN1"
        finally:
            await admin.execute("DROP DATABASE latin")


async def test_connections_killed_while_idle_are_replaced(database: str) -> None:
    backend = await open_postgresql({"connection_url": database}, {})
    try:
        await asyncio.gather(*(backend.put(f"k{i}", b"v") for i in range(4)))
        await _admin(
            database, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
        )
        assert await backend.get("k1") == b"v"
        assert await backend.list("") == ["k0", "k1", "k2", "k3"]
    finally:
        await backend.close()


async def test_an_unavailable_database_fails_requests_then_recovers(database: str) -> None:
    backend = await open_postgresql({"connection_url": database}, {})
    try:
        await backend.put("k", b"v")
        await _admin(database, "ALTER DATABASE {db} ALLOW_CONNECTIONS false")
        await _admin(
            database, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
        )
        with pytest.raises(StorageError) as caught:
            await backend.get("k")
        assert PASSWORD not in str(caught.value)
        with pytest.raises(StorageError):
            await backend.put("k", b"w")
        await _admin(database, "ALTER DATABASE {db} ALLOW_CONNECTIONS true")
        assert await backend.get("k") == b"v"
    finally:
        await backend.close()


async def test_parallel_operations_share_a_bounded_pool(database: str) -> None:
    backend = await open_postgresql({"connection_url": database, "max_parallel": "3"}, {})
    try:
        await asyncio.gather(*(backend.put(f"p/{i:02d}", bytes([i])) for i in range(30)))
        values = await asyncio.gather(*(backend.get(f"p/{i:02d}") for i in range(30)))
        assert values == [bytes([i]) for i in range(30)]
        assert len(await backend.list("p/")) == 30
    finally:
        await backend.close()


async def test_repr_names_only_the_table(database: str) -> None:
    backend = await open_postgresql({"connection_url": database, "table": "kv"}, {})
    try:
        assert repr(backend) == "PostgreSQLBackend(table='kv')"
        assert isinstance(backend, PostgreSQLBackend)
    finally:
        await backend.close()
