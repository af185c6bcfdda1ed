"""Fixtures for the scan tests: a runner for `python -m strongroom scan`, and the planted repository."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]

# Every planted secret: (file, line, rule, value). Values are made up, shaped like the real thing.
PLANTED = (
    ("Dockerfile", 2, "github-token", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
    ("Dockerfile", 4, "dockerfile-env", "hunter2-correct-horse"),
    ("Dockerfile", 6, "dockerfile-env", "super-secret-session-value"),
    ("compose.yaml", 6, "compose-environment", "p4ssw0rd-in-compose"),
    ("compose.yaml", 14, "compose-environment", "sk_live_abcdefghijklmnop"),
    (".env", 1, "slack-token", "xoxb-1234567890-abcdefghij"),
    (".env", 3, "dotenv", "Zx9qL2mW8vR4tY7u"),
    ("config/app.ini", 3, "vault-token", "hvs.CAESIJz8yN0dXkQmZk1lYm9zaGlkZW5vdGFyZWFs"),
    ("config/app.ini", 4, "vault-token", "s.a1B2c3D4e5F6g7H8i9J0k1L2"),
    ("config/app.ini", 6, "aws-access-key", "AKIAIOSFODNN7EXAMPLE"),
    ("config/app.ini", 7, "aws-secret-key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("config/app.ini", 8, "high-entropy", "q8Zr3LmX0vB7nK2pW9sT4yF6"),
    (
        "settings.py",
        2,
        "jwt",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFU",
    ),
    ("compose.yaml", 9, "url-password", "postgres://app:Pg-pass-in-url@db:5432/app"),
    ("keys/deploy.pem", 1, "private-key", "-----BEGIN RSA PRIVATE KEY-----"),
)

FILES = {
    "Dockerfile": """FROM busybox
ARG GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789
ARG BUILD_VERSION=1.2.3
ENV DB_PASSWORD=hunter2-correct-horse \\
    APP_NAME=demo
ENV SESSION_SECRET super-secret-session-value
ARG NPM_TOKEN
RUN echo hello
""",
    "compose.yaml": """# the demo stack
services:
  app:
    image: demo
    environment:
      DB_PASSWORD: "p4ssw0rd-in-compose"  # keep quoted
      DB_HOST: db
      API_TOKEN: ${API_TOKEN}
      DATABASE_URL: postgres://app:Pg-pass-in-url@db:5432/app
  worker:
    image: demo
    environment:
      - LOG_LEVEL=debug
      - STRIPE_API_KEY=sk_live_abcdefghijklmnop
""",
    ".env": "export SLACK_TOKEN=xoxb-1234567890-abcdefghij\nPORT=8080\nADMIN_PASSWORD='Zx9qL2mW8vR4tY7u'\n",
    "config/app.ini": """[vault]
address = https://vault.example.com
token = hvs.CAESIJz8yN0dXkQmZk1lYm9zaGlkZW5vdGFyZWFs
legacy = s.a1B2c3D4e5F6g7H8i9J0k1L2
[aws]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
client_secret = q8Zr3LmX0vB7nK2pW9sT4yF6
""",
    "settings.py": "DEBUG = True\n"
    'HEADER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFU"\n',
    "keys/deploy.pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAx\n-----END RSA PRIVATE KEY-----\n",
}


def plant(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A repository with every PLANTED secret in it."""
    return plant(tmp_path / "planted", FILES)


@pytest.fixture
def scan(tmp_path: Path) -> Run:
    """Run `strongroom scan ARGS...` as a subprocess, with `env` added to a clean environment."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
        return subprocess.run(
            [sys.executable, "-m", "strongroom", "scan", *args],
            capture_output=True,
            text=True,
            env=base | {"HOME": str(tmp_path)} | (env or {}),
            timeout=60,
            check=False,
        )

    return run
