"""The static seal: a restarted container comes back unsealed from a key file or variable, unattended."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx

from tests.servers import UNAUTHED_KEYHOLDERS, free_port, sqlite_config, strongroom_config_server


def static_stanza(current_id: str, current: str, previous_id: str = "", previous: str = "") -> str:
    lines = [f'  current_key_id = "{current_id}"', f'  current_key = "{current}"']
    if previous_id:
        lines += [f'  previous_key_id = "{previous_id}"', f'  previous_key = "{previous}"']
    return 'seal "static" {\n' + "\n".join(lines) + "\n}\n"


def key_file(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_bytes(secrets.token_bytes(32))
    path.chmod(0o600)
    return path


def seal_status(address: str) -> dict[str, object]:
    return dict(httpx.get(f"{address}/v1/sys/seal-status").json())


def test_restart_comes_back_unsealed_and_the_key_can_rotate(tmp_path: Path) -> None:
    port = free_port()
    first = key_file(tmp_path, "unseal-1.key")
    config = sqlite_config(tmp_path, port, static_stanza("k1", f"file://{first}"))
    with strongroom_config_server(tmp_path, config, port) as server:
        status = seal_status(server.address)
        assert (status["type"], status["initialized"], status["recovery_seal"]) == ("static", False, True)
        init = httpx.put(
            f"{server.address}/v1/sys/init", json={"recovery_shares": 3, "recovery_threshold": 2}
        )
        body = init.json()
        assert (body["keys"], body["keys_base64"], len(body["recovery_keys"])) == ([], [], 3)
        root = body["root_token"]
        assert seal_status(server.address)["sealed"] is False
        headers = {"X-Vault-Token": root}
        httpx.post(f"{server.address}/v1/sys/mounts/secret", json={"type": "kv-v2"}, headers=headers)
        httpx.post(f"{server.address}/v1/secret/data/db", json={"data": {"pw": "v1"}}, headers=headers)
        refused = httpx.put(f"{server.address}/v1/sys/unseal", json={"key": body["recovery_keys"][0]})
        assert refused.json() == {"errors": ["this server is unsealed by its static seal, not by key shares"]}

    with strongroom_config_server(tmp_path, config, port) as server:
        assert seal_status(server.address)["sealed"] is False
        read = httpx.get(f"{server.address}/v1/secret/data/db", headers=headers)
        assert read.json()["data"]["data"] == {"pw": "v1"}

    os.environ["TEST_UNSEAL_KEY_B64"] = base64.b64encode(secrets.token_bytes(32)).decode()
    try:
        rotated = sqlite_config(
            tmp_path, port, static_stanza("k2", "env://TEST_UNSEAL_KEY_B64", "k1", f"file://{first}")
        )
        with strongroom_config_server(tmp_path, rotated, port) as server:
            assert seal_status(server.address)["sealed"] is False
        only_new = sqlite_config(tmp_path, port, static_stanza("k2", "env://TEST_UNSEAL_KEY_B64"))
        with strongroom_config_server(tmp_path, only_new, port) as server:
            assert seal_status(server.address)["sealed"] is False
            read = httpx.get(f"{server.address}/v1/secret/data/db", headers=headers)
            assert read.json()["data"]["data"] == {"pw": "v1"}
    finally:
        del os.environ["TEST_UNSEAL_KEY_B64"]


def test_a_wrong_key_leaves_the_server_up_and_sealed(tmp_path: Path) -> None:
    port = free_port()
    config = sqlite_config(tmp_path, port, static_stanza("k1", f"file://{key_file(tmp_path, 'a.key')}"))
    with strongroom_config_server(tmp_path, config, port) as server:
        httpx.put(f"{server.address}/v1/sys/init", json={"recovery_shares": 1, "recovery_threshold": 1})
    wrong = sqlite_config(tmp_path, port, static_stanza("k1", f"file://{key_file(tmp_path, 'b.key')}"))
    with strongroom_config_server(tmp_path, wrong, port) as server:
        assert seal_status(server.address)["sealed"] is True
        assert 'static key "k1" does not open the root key' in server.log.read_text()
    unknown = sqlite_config(tmp_path, port, static_stanza("k9", f"file://{key_file(tmp_path, 'c.key')}"))
    with strongroom_config_server(tmp_path, unknown, port) as server:
        assert seal_status(server.address)["sealed"] is True
        assert 'wrapped by static key "k1", which is not configured' in server.log.read_text()


def test_recovery_shares_authorize_generate_root(tmp_path: Path) -> None:
    port = free_port()
    config = sqlite_config(
        tmp_path,
        port,
        static_stanza("k1", f"file://{key_file(tmp_path, 'a.key')}"),
        listener=UNAUTHED_KEYHOLDERS,
    )
    with strongroom_config_server(tmp_path, config, port) as server:
        body = httpx.put(
            f"{server.address}/v1/sys/init", json={"recovery_shares": 3, "recovery_threshold": 2}
        ).json()
        shares = body["recovery_keys"]
        base = f"{server.address}/v1/sys/generate-root"
        started = httpx.put(f"{base}/attempt", json={}).json()
        httpx.put(f"{base}/update", json={"key": shares[0], "nonce": started["nonce"]}).raise_for_status()
        done = httpx.put(f"{base}/update", json={"key": shares[2], "nonce": started["nonce"]}).json()
        encoded = done["encoded_token"]
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
        token = bytes(a ^ b for a, b in zip(raw, started["otp"].encode(), strict=True)).decode()
        looked = httpx.get(f"{server.address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token})
        assert looked.json()["data"]["policies"] == ["root"]


def test_bad_static_key_configs_are_refused(tmp_path: Path) -> None:
    port = free_port()
    short = tmp_path / "short.key"
    short.write_text("abcd")
    config = tmp_path / "server.hcl"
    config.write_text(sqlite_config(tmp_path, port, static_stanza("k1", f"file://{short}")))
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", "server", f"-config={config}"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "the key must be 32 bytes" in done.stderr
    assert "abcd" not in done.stderr
