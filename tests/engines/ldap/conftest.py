"""Fixtures for the LDAP auth tests: one real slapd (tests/slapd.py) for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.slapd import Slapd, running_slapd


@pytest.fixture(scope="session")
def slapd() -> Iterator[Slapd]:
    with running_slapd() as running:
        yield running
