"""Fixtures for the injector tests: `strongroom injector` running as a process with a scratch-CA
certificate, and a client that posts AdmissionReviews to it over HTTPS."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.servers import free_port, stop
from tests.tls import ScratchCA

AGENT_IMAGE = "strongroom:test"
VAULT_ADDRESS = "https://strongroom.strongroom.svc:8200"


@dataclass(frozen=True)
class Injector:
    address: str
    ca: Path

    @property
    def verify(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def review(
        self, pod: dict[str, Any], *, operation: str = "CREATE", namespace: str = "apps"
    ) -> httpx.Response:
        """POST an AdmissionReview v1 of `pod` to /mutate."""
        body = {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": str(uuid.uuid4()),
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": namespace,
                "operation": operation,
                "object": pod,
            },
        }
        return httpx.post(f"{self.address}/mutate", json=body, verify=self.verify, timeout=10)


@pytest.fixture(scope="module")
def injector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Injector]:
    directory = tmp_path_factory.mktemp("injector")
    ca = ScratchCA(directory, "injector test CA")
    issued = ca.issue("injector")
    port = free_port()
    log = directory / "injector.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "AGENT_INJECT_"))}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "strongroom", "injector", f"-listen=127.0.0.1:{port}",
             f"-tls-cert-file={issued.cert}", f"-tls-key-file={issued.key}",
             f"-vault-address={VAULT_ADDRESS}", f"-agent-image={AGENT_IMAGE}"],
            env=env, stdout=sink, stderr=sink,
        )  # fmt: skip
    address = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the injector exited:\n{log.read_text()}")
            try:
                if (
                    httpx.get(
                        f"{address}/health/ready",
                        verify=ssl.create_default_context(cafile=str(ca.path)),
                        timeout=1,
                    ).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)
        yield Injector(address, ca.path)
    finally:
        stop(process)
