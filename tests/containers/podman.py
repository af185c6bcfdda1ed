"""Running the image and the compose examples with podman, for the container tests.

The image is built from the Dockerfile on a base that scripts/container-base makes from Debian's packages
(no container registry is reachable from CI); both stay in podman's storage, so only the first run on a
machine pays for debootstrap. A compose project is torn down with its containers' anonymous volumes (the
image's VOLUMEs), its named volumes and its network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PODMAN_COMPOSE = str(Path(sys.executable).parent / "podman-compose")
# What the summary at the end of the run reports: what was measured -> how much.
MEASURED: dict[str, str] = {}


def seconds(value: float) -> str:
    return f"{value:.2f}s"


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run podman; on failure the test fails with podman's stderr."""
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"podman {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def build_image() -> str:
    """Build the image on the Debian base; returns its name, one of this session's own (a run beside this
    one builds from its own tree). The layers stay cached in podman's storage for the next build."""
    began = time.monotonic()
    base = subprocess.run(
        ["bash", str(REPO / "scripts" / "container-base")],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    if base.returncode != 0:
        pytest.fail(f"scripts/container-base failed:\n{base.stdout}\n{base.stderr}")
    MEASURED["base image (debootstrap once per machine, else a lookup)"] = seconds(time.monotonic() - began)
    image = f"localhost/strongroom:test-{uuid.uuid4().hex[:8]}"
    began = time.monotonic()
    podman(
        "build", "--format", "docker", "--build-arg", f"BASE={base.stdout.strip()}", "-t", image, str(REPO),
        timeout=1200,
    )  # fmt: skip
    MEASURED["image build"] = seconds(time.monotonic() - began)
    return image


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, detail: Callable[[], str]) -> float:
    """Poll `predicate` until true; the seconds it took. Fails the test after `timeout` with `detail()`."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():
            return time.monotonic() - began
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{detail()}")


def logs(container: str) -> str:
    result = podman("logs", container, check=False)
    return result.stdout + result.stderr


@dataclass(frozen=True)
class Project:
    """One compose project brought up from a copy of an example directory."""

    name: str
    directory: Path

    def container(self, service: str) -> str:
        return f"{self.name}_{service}_1"

    def logs(self, service: str) -> str:
        return logs(self.container(service))

    def all_logs(self) -> str:
        names = podman("ps", "-a", "--filter", f"label=io.podman.compose.project={self.name}",
                       "--format", "{{.Names}}").stdout.split()  # fmt: skip
        return "\n".join(f"== {name}\n{logs(name)}" for name in names)


@contextmanager
def compose_project(
    example: str,
    image: str,
    tmp_path: Path,
    env: dict[str, str],
    prepare: Callable[[Path], None] = lambda _: None,
) -> Iterator[tuple[Project, float]]:
    """Copy examples/EXAMPLE to `tmp_path`, run `prepare` on it, `podman-compose up -d` it with `image`;
    yields the project and the seconds `up -d` took. Torn down afterwards, whatever happened."""
    directory = tmp_path / example
    shutil.copytree(REPO / "examples" / example, directory)
    prepare(directory)
    project = Project(f"srtest{uuid.uuid4().hex[:8]}", directory)
    compose = [PODMAN_COMPOSE, "-p", project.name]
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    environ |= {"STRONGROOM_IMAGE": image, **env}
    try:
        began = time.monotonic()
        up = subprocess.run([*compose, "up", "-d"], cwd=directory, env=environ, capture_output=True,
                            text=True, timeout=300, check=False)  # fmt: skip
        took = time.monotonic() - began
        if up.returncode != 0:
            pytest.fail(f"podman-compose up exited {up.returncode}:\n{up.stdout}\n{up.stderr}")
        yield project, took
    finally:
        label = f"label=io.podman.compose.project={project.name}"
        ids = podman("ps", "-aq", "--filter", label).stdout.split()
        if ids:
            podman("rm", "-f", "-v", "--depend", *ids, check=False)
        subprocess.run([*compose, "down", "-v"], cwd=directory, env=environ, capture_output=True,
                       timeout=120, check=False)  # fmt: skip
