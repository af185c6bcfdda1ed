"""Fixtures shared by every test: real servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.mariadb import MariaDB, mariadb_server
from tests.postgres import Postgres, postgres_server
from tests.servers import RunningServer, bao_dev_server, strongroom_dev_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One strongroom dev server for the session (in memory, root token "root")."""
    with strongroom_dev_server(tmp_path_factory.mktemp("strongroom")) as running:
        yield running


@pytest.fixture(scope="session")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One OpenBao dev server for the session: the reference for differential tests."""
    with bao_dev_server(tmp_path_factory.mktemp("bao")) as running:
        yield running


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One real PostgreSQL for the session; tests that switch a database off or kill connections create a
    database of their own for it."""
    with postgres_server() as running:
        yield running


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDB]:
    """One real MariaDB for the session (started only by the tests that ask for it)."""
    with mariadb_server() as running:
        yield running


@pytest.fixture
def root(server: RunningServer) -> Iterator[httpx.Client]:
    """An HTTP client of the strongroom server with its root token."""
    with server.client() as client:
        yield client
