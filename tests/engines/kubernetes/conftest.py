"""Fixtures for the kubernetes auth tests: the stand-in API server (tests/kubeapi.py; no cluster here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.kubeapi import KubeAPI, kube_api_server


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeAPI]:
    with kube_api_server(tmp_path_factory.mktemp("kubeapi")) as api:
        yield api
