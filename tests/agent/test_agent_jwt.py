"""`strongroom agent` with jwt auto-auth against the dev server: login with a JWT file, render, and the
file's removal after reading (Vault Agent's `remove_jwt_after_reading`, true by default)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import Agent, Setup, read
from tests.jwks import SigningKey, claims, rsa_key

KEY = rsa_key("agent-jwt")


@pytest.fixture
def jwt_mount(setup: Setup) -> Iterator[str]:
    """A jwt auth mount trusting KEY, with role "app" mapping `sub` to the test's policy."""
    mount = f"jwt-{uuid.uuid4().hex[:8]}"
    root = setup.root
    root.post(f"/v1/sys/auth/{mount}", json={"type": "jwt"}).raise_for_status()
    root.post(
        f"/v1/auth/{mount}/config", json={"jwt_validation_pubkeys": [KEY.public_pem()]}
    ).raise_for_status()
    root.post(
        f"/v1/auth/{mount}/role/app",
        json={
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_subject": "alice",
            "token_policies": [f"agent-{setup.kv[3:]}"],
            "token_ttl": "1h",
        },
    ).raise_for_status()
    yield mount
    root.delete(f"/v1/sys/auth/{mount}").raise_for_status()


def _config(setup: Setup, mount: str, jwt_file: Path, extra: str = "") -> Path:
    config = setup.dir / "agent.hcl"
    config.write_text(
        f'vault {{\n  address = "{setup.server.address}"\n}}\n'
        f'auto_auth {{\n  method "jwt" {{\n    mount_path = "auth/{mount}"\n'
        f'    config = {{\n      role = "app"\n      path = "{jwt_file}"\n{extra}    }}\n  }}\n'
        f'  sink "file" {{\n    config = {{\n      path = "{setup.dir}/token"\n    }}\n  }}\n}}\n'
        f'template {{\n  destination = "{setup.dir}/db.txt"\n'
        f'  contents = "{{{{ with secret \\"{setup.kv}/db\\" }}}}'
        '{{ .Data.data.password }}{{ end }}"\n}\n'
        "exit_after_auth = true\n"
    )
    return config


def _sign(key: SigningKey, subject: str = "alice") -> str:
    return key.sign(claims(subject=subject))


def test_jwt_login_renders_and_removes_the_jwt_file(setup: Setup, jwt_mount: str, run_agent: Agent) -> None:
    setup.put("db", {"password": "from-jwt"})
    jwt_file = setup.dir / "jwt"
    jwt = _sign(KEY)
    jwt_file.write_text(jwt)
    process = run_agent(_config(setup, jwt_mount, jwt_file))
    assert process.wait(timeout=20) == 0, read(setup.dir / "agent.log")
    assert read(setup.dir / "db.txt") == "from-jwt"
    token = read(setup.dir / "token")
    lookup = httpx.get(f"{setup.server.address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token})
    assert lookup.json()["data"]["meta"] == {"role": "app"}
    assert lookup.json()["data"]["path"] == f"auth/{jwt_mount}/login"
    # remove_jwt_after_reading defaults to true.
    assert not jwt_file.exists()
    log = read(setup.dir / "agent.log")
    assert jwt not in log
    assert token not in log


def test_remove_jwt_after_reading_false_keeps_the_file(
    setup: Setup, jwt_mount: str, run_agent: Agent
) -> None:
    setup.put("db", {"password": "kept"})
    jwt_file = setup.dir / "jwt"
    jwt = _sign(KEY)
    jwt_file.write_text(jwt)
    process = run_agent(_config(setup, jwt_mount, jwt_file, "      remove_jwt_after_reading = false\n"))
    assert process.wait(timeout=20) == 0, read(setup.dir / "agent.log")
    assert read(setup.dir / "db.txt") == "kept"
    assert read(jwt_file) == jwt


def test_a_refused_jwt_fails_exit_after_auth_and_the_file_stays(
    setup: Setup, jwt_mount: str, run_agent: Agent
) -> None:
    jwt_file = setup.dir / "jwt"
    jwt_file.write_text(_sign(KEY, subject="mallory"))
    process = run_agent(_config(setup, jwt_mount, jwt_file))
    assert process.wait(timeout=20) == 1
    log = read(setup.dir / "agent.log")
    assert f"auto-auth (jwt) failed: POST auth/{jwt_mount}/login: 400" in log, log
    # Removed only after a successful login, so a retry can use it.
    assert jwt_file.exists()
    assert not (setup.dir / "db.txt").exists()
