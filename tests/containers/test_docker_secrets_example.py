"""examples/docker-secrets as written, with podman-compose: `strongroom run` as the app's entrypoint gives
the app /run/secrets/db_password as uid 1000, on a tmpfs nobody else in the container can see."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import hvac
import pytest

from tests.containers.podman import compose_project, podman, wait_for
from tests.servers import free_port

pytestmark = pytest.mark.containers

LINE = re.compile(r"app: uid=(\d+) DB_PASSWORD_FILE=(\S+) mode=(\d+ \d+) sha256=([0-9a-f]{64})")


def test_strongroom_run_delivers_the_secret_as_a_file_to_the_app_alone(image: str, tmp_path: Path) -> None:
    port = free_port()
    env = {"STRONGROOM_PORT": str(port), "STRONGROOM_DEV_ROOT_TOKEN_ID": "ds-root"}
    with compose_project("docker-secrets", image, tmp_path, env) as (project, _):
        wait_for(lambda: bool(LINE.search(project.logs("app"))), 60, "the app", project.all_logs)
        found = LINE.search(project.logs("app"))
        assert found is not None
        client = hvac.Client(url=f"http://127.0.0.1:{port}", token="ds-root")
        stored = client.secrets.kv.v2.read_secret_version(
            path="db_password", mount_point="docker-secrets", raise_on_deleted_version=True
        )
        value = stored["data"]["data"]["value"]
        digest = hashlib.sha256(value.encode()).hexdigest()
        assert found.groups() == ("1000", "/run/secrets/db_password", "400 1000", digest)

        app = project.container("app")
        # Outside the app's own mount namespace there is no secret, and no process's environment holds it.
        assert podman("exec", app, "ls", "-A", "/run/secrets", check=False).stdout == ""
        environments = podman("exec", app, "sh", "-c", "cat /proc/[0-9]*/environ | tr '\\0' '\\n'").stdout
        assert "DB_PASSWORD_FILE=/run/secrets/db_password" in environments
        assert value not in environments
