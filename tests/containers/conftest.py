"""Fixtures for the container tests: the image, built once per session. Every module here is marked
`containers` (slow: scripts/test runs them beside the rest of the suite)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.containers.podman import MEASURED, build_image, podman


@pytest.fixture(scope="session")
def image() -> Iterator[str]:
    """The image built from the Dockerfile on the Debian base (see tests/containers/podman.py); its tag is
    removed afterwards."""
    built = build_image()
    yield built
    podman("rmi", built, check=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for what, how_much in MEASURED.items():
        terminalreporter.write_line(f"containers: {what}: {how_much}")
