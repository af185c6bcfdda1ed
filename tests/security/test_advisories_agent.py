"""Advisories about the agent.

GHSA-444v-8vxr-p36h (OpenBao 2.6.0): when templates kept failing and the agent reloaded its template
runner (with an `exec` child), the reload rendered the templates in dry mode to the agent's stdout, so
secrets rendered before reached stdout and whatever collects it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.agent.conftest import agent_world, read, wait_for
from tests.servers import RunningServer

SECRET = "agent-sentinel-5b1d7e"


def test_ghsa_444v_8vxr_p36h_failing_templates_never_print_secrets(
    server: RunningServer, tmp_path: Path
) -> None:
    with agent_world(server, tmp_path) as setup:
        setup.put("db", {"password": SECRET})
        lookup = f'{{{{ with secret \\"{setup.kv}/data/db\\" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}'
        child = tmp_path / "child.sh"
        # The child keeps its secret to itself: it writes it to a file, never to the shared stdout.
        child.write_text(f'printf %s "$DB_PASSWORD" > {tmp_path}/rendered\nwhile :; do sleep 0.05; done\n')
        config = setup.approle_config(
            "template_config {\n  exit_on_retry_failure = true\n}\n"
            f'env_template "DB_PASSWORD" {{\n  contents = "{lookup}"\n  error_on_missing_key = true\n}}\n'
            f'exec {{\n  command = ["/bin/sh", "{child}"]\n}}\n'
        )
        out, err = tmp_path / "stdout", tmp_path / "stderr"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
        with out.open("w") as stdout, err.open("w") as stderr:
            agent = subprocess.Popen(
                [sys.executable, "-m", "strongroom", "agent", f"-config={config}"],
                env=env | {"HOME": str(tmp_path)}, stdout=stdout, stderr=stderr,
            )  # fmt: skip
        try:
            wait_for(lambda: read(tmp_path / "rendered") == SECRET, 15, "the first render", err)
            # From now on every render fails: the secret's key is gone.
            setup.put("db", {"other": "value"})
            deadline = time.monotonic() + 20
            while agent.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            if agent.poll() is None:
                agent.terminate()
                agent.wait(timeout=10)
        for stream in (out, err):
            assert SECRET not in stream.read_text(), stream.name
