"""`strongroom scan -fix`: a dry run that changes nothing, and -apply against the dev server, which stores
the values (read back with hvac) and leaves a compose file that parses and holds no secret."""

from __future__ import annotations

import uuid
from pathlib import Path

import hvac
import yaml

from strongroom.scan.fix import plan_fixes
from strongroom.scan.sources import scan_path
from tests.scan.conftest import PLANTED, Run
from tests.servers import RunningServer

COMPOSE_SECRETS = {
    "db_password": "p4ssw0rd-in-compose",
    "database_url": "postgres://app:Pg-pass-in-url@db:5432/app",
    "stripe_api_key": "sk_live_abcdefghijklmnop",
}


def _server_env(server: RunningServer) -> dict[str, str]:
    return {"STRONGROOM_ADDR": server.address, "STRONGROOM_TOKEN": server.root_token}


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_dry_run_plans_and_changes_nothing(planted: Path, scan: Run) -> None:
    before = _snapshot(planted)
    result = scan("-fix", str(planted))
    assert result.returncode == 1, result.stderr
    assert _snapshot(planted) == before
    assert (
        "compose.yaml:6: compose-environment: would move DB_PASSWORD=p4ss**** to secret/scan/compose key "
        "db_password; the service app reads DB_PASSWORD_FILE=/run/secrets/db_password"
    ) in result.stdout.splitlines()
    assert "Dry run: nothing was changed; run again with -apply to do it." in result.stdout
    for _, _, _, value in PLANTED:
        assert value not in result.stdout + result.stderr


def test_apply_stores_the_values_and_rewrites_the_compose_file(
    planted: Path, scan: Run, server: RunningServer
) -> None:
    compose = planted / "compose.yaml"
    compose.chmod(0o640)
    prefix = f"scan-{uuid.uuid4().hex[:8]}"
    result = scan("-fix", "-apply", f"-path-prefix={prefix}", str(planted), env=_server_env(server))
    # The Dockerfile, .env and config secrets are still there, and still reported.
    assert result.returncode == 1, result.stderr
    assert "moved DB_PASSWORD=p4ss****" in result.stdout
    assert "Dockerfile:4: dockerfile-env: hunt****" in result.stdout
    for _, _, _, value in PLANTED:
        assert value not in result.stdout + result.stderr

    vault = hvac.Client(url=server.address, token=server.root_token)
    stored = vault.secrets.kv.v2.read_secret_version(
        path=f"{prefix}/compose", mount_point="secret", raise_on_deleted_version=True
    )
    assert stored["data"]["data"] == COMPOSE_SECRETS

    assert compose.stat().st_mode & 0o777 == 0o640
    text = compose.read_text()
    assert text.startswith("# the demo stack\n")
    assert "DB_PASSWORD_FILE: /run/secrets/db_password  # keep quoted\n" in text
    document = yaml.safe_load(text)
    app, worker = document["services"]["app"], document["services"]["worker"]
    assert app["environment"] == {
        "DB_PASSWORD_FILE": "/run/secrets/db_password",
        "DB_HOST": "db",
        "API_TOKEN": "${API_TOKEN}",
        "DATABASE_URL_FILE": "/run/secrets/database_url",
    }
    assert app["secrets"] == ["db_password", "database_url"]
    assert worker["environment"] == ["LOG_LEVEL=debug", "STRIPE_API_KEY_FILE=/run/secrets/stripe_api_key"]
    assert worker["secrets"] == ["stripe_api_key"]
    assert document["secrets"] == {name: {"file": f"./secrets/{name}"} for name in COMPOSE_SECRETS}
    for value in COMPOSE_SECRETS.values():
        assert value not in text
    again = scan(str(compose))
    assert (again.returncode, again.stdout) == (0, "")


def test_existing_secrets_lists_are_extended(tmp_path: Path, scan: Run, server: RunningServer) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(
        "services:\n  api:\n    secrets:\n      - tls_cert\n    environment:\n"
        "      API_TOKEN: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"
        "  web:\n    secrets: [tls_cert]\n    environment: {WEB_PASSWORD: Zx9qL2mW8vR4tY7u}\n"
        "secrets:\n  tls_cert:\n    file: ./tls.pem\n"
    )
    prefix = f"scan-{uuid.uuid4().hex[:8]}"
    result = scan("-fix", "-apply", f"-path-prefix={prefix}", str(tmp_path), env=_server_env(server))
    assert (result.returncode, result.stderr) == (0, "")
    document = yaml.safe_load(compose.read_text())
    assert document["services"]["api"]["secrets"] == ["tls_cert", "api_token"]
    assert document["services"]["web"]["secrets"] == ["tls_cert", "web_password"]
    assert document["services"]["web"]["environment"] == {"WEB_PASSWORD_FILE": "/run/secrets/web_password"}
    assert set(document["secrets"]) == {"tls_cert", "api_token", "web_password"}
    vault = hvac.Client(url=server.address, token=server.root_token)
    stored = vault.secrets.kv.v2.read_secret_version(
        path=f"{prefix}/docker-compose", mount_point="secret", raise_on_deleted_version=True
    )
    assert stored["data"]["data"]["api_token"] == "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    assert scan(str(tmp_path)).returncode == 0


def test_a_refused_write_leaves_the_files_alone(planted: Path, scan: Run, server: RunningServer) -> None:
    before = _snapshot(planted)
    denied = scan("-fix", "-apply", str(planted), env=_server_env(server) | {"STRONGROOM_TOKEN": "nope"})
    assert denied.returncode == 2
    assert denied.stderr.startswith("Error writing to strongroom")
    not_kv2 = scan("-fix", "-apply", "-mount=cubbyhole", str(planted), env=_server_env(server))
    assert (not_kv2.returncode, not_kv2.stderr) == (2, "Error: cubbyhole/ is not a KV version 2 mount\n")
    assert _snapshot(planted) == before


def test_block_scalars_files_without_a_final_newline_and_build_args_left_alone(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text(
        "services:\n  app:\n    environment:\n      SIGNING_KEY: |\n        Zx9qL2mW8vR4tY7u\n"
        "      MODE: prod\n    image: app\n    build:\n      args:\n        NPM_TOKEN: npm_abc123def456ghi"
    )
    found = list(scan_path(tmp_path))
    assert [f.rule for f in found] == ["compose-environment", "compose-build-arg"]
    [plan] = plan_fixes(tmp_path, found, mount="secret", prefix="scan")
    assert [move.secret for move in plan.moves] == ["signing_key"]
    assert plan.new_text == (
        "services:\n  app:\n    environment:\n      SIGNING_KEY_FILE: /run/secrets/signing_key\n"
        "      MODE: prod\n    image: app\n    build:\n      args:\n        NPM_TOKEN: npm_abc123def456ghi\n"
        "    secrets:\n      - signing_key\n"
        "secrets:\n  signing_key:\n    file: ./secrets/signing_key\n"
    )
