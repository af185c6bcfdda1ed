"""Fixtures for the container tests: the image, built once per session. Every module here is marked
`containers` (slow: scripts/test runs them beside the rest of the suite)."""

from __future__ import annotations

import pytest

from tests.containers.podman import MEASURED, build_image


@pytest.fixture(scope="session")
def image() -> str:
    """The image built from the Dockerfile on the Debian base (see tests/containers/podman.py)."""
    return build_image()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for what, how_much in MEASURED.items():
        terminalreporter.write_line(f"containers: {what}: {how_much}")
