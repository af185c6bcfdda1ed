"""Production mode over HTTP: init, unseal, seal and restart a server on SQLite; data encrypted at rest."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.servers import UNAUTHED_KEYHOLDERS, free_port, sqlite_config, strongroom_config_server


def init(address: str, shares: int = 3, threshold: int = 2) -> dict[str, object]:
    answer = httpx.put(
        f"{address}/v1/sys/init", json={"secret_shares": shares, "secret_threshold": threshold}
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def unseal(address: str, key: str) -> httpx.Response:
    return httpx.put(f"{address}/v1/sys/unseal", json={"key": key})


def status(address: str) -> dict[str, object]:
    return dict(httpx.get(f"{address}/v1/sys/seal-status").json())


def test_init_unseal_seal_and_restart_keep_data(tmp_path: Path) -> None:
    port = free_port()
    config = sqlite_config(tmp_path, port)
    with strongroom_config_server(tmp_path, config, port) as server:
        assert status(server.address)["initialized"] is False
        assert httpx.get(f"{server.address}/v1/sys/health").status_code == 501
        keys = init(server.address)
        hex_keys, b64_keys = keys["keys"], keys["keys_base64"]
        assert isinstance(hex_keys, list)
        assert isinstance(b64_keys, list)
        assert len(hex_keys) == 3
        assert [base64.b64decode(k).hex() for k in b64_keys] == hex_keys
        root = str(keys["root_token"])
        assert (status(server.address)["sealed"], status(server.address)["progress"]) == (True, 0)
        assert httpx.get(f"{server.address}/v1/sys/health").status_code == 503
        sealed = httpx.get(f"{server.address}/v1/secret/data/x", headers={"X-Vault-Token": root})
        assert (sealed.status_code, sealed.json()) == (503, {"errors": ["Vault is sealed"]})

        first = unseal(server.address, str(hex_keys[0])).json()
        assert (first["sealed"], first["progress"], first["t"], first["n"]) == (True, 1, 2, 3)
        assert unseal(server.address, str(b64_keys[2])).json()["sealed"] is False
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": root}) as client:
            assert client.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}).status_code == 204
            assert client.post("/v1/secret/data/db", json={"data": {"password": "pw-1"}}).status_code == 200
            assert httpx.put(f"{server.address}/v1/sys/seal").status_code == 403
            assert client.put("/v1/sys/seal").status_code == 204
            assert status(server.address)["sealed"] is True
            assert client.get("/v1/secret/data/db").status_code == 503

    with strongroom_config_server(tmp_path, config, port) as server:
        assert status(server.address)["sealed"] is True
        assert unseal(server.address, str(hex_keys[1])).json()["progress"] == 1
        assert unseal(server.address, str(hex_keys[2])).json()["sealed"] is False
        read = httpx.get(f"{server.address}/v1/secret/data/db", headers={"X-Vault-Token": root})
        assert read.json()["data"]["data"] == {"password": "pw-1"}


def test_bad_shares_fail_clearly_and_leave_the_server_sealed(tmp_path: Path) -> None:
    port, other_port = free_port(), free_port()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        strongroom_config_server(tmp_path / "a", sqlite_config(tmp_path / "a", port), port) as server,
        strongroom_config_server(
            tmp_path / "b", sqlite_config(tmp_path / "b", other_port), other_port
        ) as other,
    ):
        keys = [str(k) for k in init(server.address)["keys"]]  # type: ignore[attr-defined]
        foreign = [str(k) for k in init(other.address)["keys"]]  # type: ignore[attr-defined]

        wrong = secrets.token_bytes(33).hex()
        assert unseal(server.address, keys[0]).json()["progress"] == 1
        refused = unseal(server.address, wrong)
        assert refused.status_code == 400
        assert "unable to retrieve stored keys" in refused.json()["errors"][0]
        assert (status(server.address)["sealed"], status(server.address)["progress"]) == (True, 0)

        assert unseal(server.address, keys[0]).status_code == 200
        assert unseal(server.address, foreign[1]).status_code == 400
        assert (status(server.address)["sealed"], status(server.address)["progress"]) == (True, 0)

        assert unseal(server.address, keys[1]).json()["progress"] == 1
        assert status(server.address)["sealed"] is True

        garbage = unseal(server.address, "not a key!")
        assert garbage.json() == {"errors": ["'key' must be a valid hex or base64 string"]}
        missing = httpx.put(f"{server.address}/v1/sys/unseal", json={})
        assert missing.json() == {
            "errors": ["'key' must be specified in request body as JSON, or 'reset' set to true"]
        }
        assert status(server.address)["progress"] == 1
        reset = httpx.put(f"{server.address}/v1/sys/unseal", json={"reset": True}).json()
        assert (reset["sealed"], reset["progress"]) == (True, 0)
        assert unseal(server.address, keys[2]).json()["progress"] == 1

        again = httpx.put(f"{server.address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1})
        assert again.json() == {"errors": ["Vault is already initialized"]}


def test_init_refuses_a_threshold_above_the_shares(tmp_path: Path) -> None:
    port = free_port()
    with strongroom_config_server(tmp_path, sqlite_config(tmp_path, port), port) as server:
        answer = httpx.put(f"{server.address}/v1/sys/init", json={"secret_shares": 2, "secret_threshold": 3})
        assert answer.status_code == 400
        assert answer.json() == {
            "errors": ["invalid seal configuration: threshold cannot be larger than shares"]
        }
        assert status(server.address)["initialized"] is False


def test_secrets_tokens_and_policies_are_encrypted_at_rest(tmp_path: Path) -> None:
    port = free_port()
    secret_value = "plaintext-" + secrets.token_hex(8)
    policy_text = f'path "secret/data/{secrets.token_hex(6)}" {{ capabilities = ["read"] }}'
    with strongroom_config_server(tmp_path, sqlite_config(tmp_path, port), port) as server:
        keys = init(server.address, 1, 1)
        root = str(keys["root_token"])
        unseal(server.address, str(keys["keys"][0]))  # type: ignore[index]
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": root}) as client:
            client.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}).raise_for_status()
            client.post("/v1/secret/data/app", json={"data": {"password": secret_value}}).raise_for_status()
            client.put("/v1/sys/policies/acl/app", json={"policy": policy_text}).raise_for_status()
            created = client.post("/v1/auth/token/create", json={"policies": ["app"]}).json()["auth"]
            client.post("/v1/cubbyhole/note", json={"note": secret_value}).raise_for_status()
        stored = b"".join(p.read_bytes() for p in tmp_path.glob("strongroom.db*"))
        assert len(stored) > 0
        for plain in (secret_value, root, created["client_token"], created["accessor"], policy_text):
            assert plain.encode() not in stored, plain[:12]


def test_sigterm_exits_cleanly_and_removes_the_pid_file(tmp_path: Path) -> None:
    port = free_port()
    pid_file = tmp_path / "strongroom.pid"
    config = sqlite_config(tmp_path, port, f'pid_file = "{pid_file}"\n')
    with strongroom_config_server(tmp_path, config, port) as server:
        assert pid_file.read_text().strip() == str(server.process.pid)
        assert oct(pid_file.stat().st_mode & 0o777) == "0o600"
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=15) == 0
    assert not pid_file.exists()


def test_a_bad_config_is_refused_with_file_line_and_exit_code_1(tmp_path: Path) -> None:
    config = tmp_path / "server.hcl"
    config.write_text(sqlite_config(tmp_path, free_port(), 'colour = "red"\n'))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", "server", f"-config={config}"],
        capture_output=True, text=True, env=env, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error loading configuration: {config}:6: unknown key 'colour'"


def test_rotate_adds_a_term_and_old_values_stay_readable_across_restart(tmp_path: Path) -> None:
    port = free_port()
    config = sqlite_config(tmp_path, port)
    with strongroom_config_server(tmp_path, config, port) as server:
        keys = init(server.address, 1, 1)
        key, root = str(keys["keys"][0]), str(keys["root_token"])  # type: ignore[index]
        unseal(server.address, key)
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": root}) as client:
            client.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}).raise_for_status()
            client.post("/v1/secret/data/old", json={"data": {"v": "before"}}).raise_for_status()
            assert client.get("/v1/sys/key-status").json()["data"]["term"] == 1
            user = client.post("/v1/auth/token/create", json={"policies": ["default"]}).json()["auth"]
            refused = httpx.put(
                f"{server.address}/v1/sys/rotate", headers={"X-Vault-Token": user["client_token"]}
            )
            assert refused.status_code == 403
            assert client.put("/v1/sys/rotate").status_code == 204
            status_after = client.get("/v1/sys/key-status").json()["data"]
            assert status_after["term"] == 2
            client.post("/v1/secret/data/new", json={"data": {"v": "after"}}).raise_for_status()
            assert client.put("/v1/sys/step-down").status_code == 204
    with strongroom_config_server(tmp_path, config, port) as server:
        unseal(server.address, key)
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": root}) as client:
            assert client.get("/v1/sys/key-status").json()["data"]["term"] == 2
            assert client.get("/v1/secret/data/old").json()["data"]["data"] == {"v": "before"}
            assert client.get("/v1/secret/data/new").json()["data"]["data"] == {"v": "after"}


def test_rotate_root_replaces_the_unseal_shares(tmp_path: Path) -> None:
    """OpenBao's authenticated sys/rotate/root/*: the token's ACL and a quorum of the current shares."""
    port = free_port()
    with strongroom_config_server(tmp_path, sqlite_config(tmp_path, port), port) as server:
        keys = init(server.address, 3, 2)
        old, root = [str(k) for k in keys["keys"]], str(keys["root_token"])  # type: ignore[attr-defined]
        unseal(server.address, old[0])
        unseal(server.address, old[1])
        sudo = {"X-Vault-Token": root}
        base = f"{server.address}/v1/sys/rotate/root"
        assert httpx.put(f"{base}/init", json={"secret_shares": 2}).status_code == 403
        started = httpx.put(
            f"{base}/init",
            json={"secret_shares": 2, "secret_threshold": 2},
            headers=sudo,
        ).json()["data"]
        assert (started["started"], started["n"], started["t"], started["required"]) == (True, 2, 2, 2)
        nonce = started["nonce"]
        wrong_nonce = httpx.put(f"{base}/update", json={"key": old[2], "nonce": "nope"}, headers=sudo)
        assert wrong_nonce.json() == {"errors": ["incorrect nonce"]}
        step = httpx.put(f"{base}/update", json={"key": old[2], "nonce": nonce}, headers=sudo).json()["data"]
        assert step["progress"] == 1
        done = httpx.put(f"{base}/update", json={"key": old[0], "nonce": nonce}, headers=sudo).json()["data"]
        assert done["complete"] is True
        new = [str(k) for k in done["keys"]]
        assert len(new) == 2
        assert httpx.get(f"{base}/init", headers=sudo).json()["data"]["started"] is False
        assert httpx.put(f"{server.address}/v1/sys/seal", headers=sudo).status_code == 204
        assert status(server.address)["n"] == 2
        assert unseal(server.address, old[0]).status_code == 200
        assert unseal(server.address, old[1]).status_code == 400
        assert unseal(server.address, new[0]).json()["progress"] == 1
        assert unseal(server.address, new[1]).json()["sealed"] is False


def test_generate_root_gives_a_new_root_token_encoded_with_the_otp(tmp_path: Path) -> None:
    port = free_port()
    config = sqlite_config(tmp_path, port, listener=UNAUTHED_KEYHOLDERS)
    with strongroom_config_server(tmp_path, config, port) as server:
        keys = init(server.address, 3, 2)
        shares = [str(k) for k in keys["keys"]]  # type: ignore[attr-defined]
        unseal(server.address, shares[0])
        unseal(server.address, shares[1])
        base = f"{server.address}/v1/sys/generate-root"
        started = httpx.put(f"{base}/attempt", json={}).json()
        otp, nonce = started["otp"], started["nonce"]
        assert (started["started"], started["required"], len(otp)) == (True, 2, started["otp_length"])
        assert httpx.get(f"{base}/attempt").json()["otp"] == ""
        assert httpx.put(f"{base}/update", json={"key": shares[2], "nonce": nonce}).json()["progress"] == 1
        done = httpx.put(f"{base}/update", json={"key": shares[0], "nonce": nonce}).json()
        assert done["complete"] is True
        encoded = done["encoded_token"]
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
        token = bytes(a ^ b for a, b in zip(raw, otp.encode(), strict=True)).decode()
        looked = httpx.get(f"{server.address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token})
        assert looked.json()["data"]["policies"] == ["root"]

        second = httpx.put(f"{base}/attempt", json={}).json()
        foreign = secrets.token_bytes(33).hex()
        assert httpx.put(f"{base}/update", json={"key": foreign, "nonce": second["nonce"]}).status_code == 200
        bad = httpx.put(f"{base}/update", json={"key": shares[1], "nonce": second["nonce"]})
        assert bad.status_code == 400
        assert bad.json()["errors"][0].startswith("unable to retrieve stored keys")
        assert httpx.get(f"{base}/attempt").json()["started"] is False


def test_config_lease_ttls_are_the_system_defaults(tmp_path: Path) -> None:
    port = free_port()
    config = sqlite_config(tmp_path, port, 'default_lease_ttl = "1h"\nmax_lease_ttl = "2h"\n')
    with strongroom_config_server(tmp_path, config, port) as server:
        keys = init(server.address, 1, 1)
        unseal(server.address, str(keys["keys"][0]))  # type: ignore[index]
        with httpx.Client(
            base_url=server.address, headers={"X-Vault-Token": str(keys["root_token"])}
        ) as client:
            tune = client.get("/v1/sys/mounts/cubbyhole/tune").json()["data"]
            assert (tune["default_lease_ttl"], tune["max_lease_ttl"]) == (3600, 7200)
            token = client.post("/v1/auth/token/create", json={"policies": ["default"]}).json()["auth"]
            assert token["lease_duration"] == 3600
            capped = client.post("/v1/auth/token/create", json={"policies": ["default"], "ttl": "5h"}).json()
            assert capped["auth"]["lease_duration"] == 7200


def test_generate_root_token_needs_a_token_and_the_shares(tmp_path: Path) -> None:
    """OpenBao's authenticated sys/generate-root-token/*, on a listener with the unauthenticated ones off."""
    port = free_port()
    with strongroom_config_server(tmp_path, sqlite_config(tmp_path, port), port) as server:
        keys = init(server.address, 3, 2)
        shares, root = [str(k) for k in keys["keys"]], str(keys["root_token"])  # type: ignore[attr-defined]
        unseal(server.address, shares[0])
        unseal(server.address, shares[1])
        base = f"{server.address}/v1/sys/generate-root-token"
        assert httpx.put(f"{server.address}/v1/sys/generate-root/attempt", json={}).status_code == 405
        assert httpx.put(f"{base}/attempt", json={}).status_code == 403
        with httpx.Client(headers={"X-Vault-Token": root}) as client:
            started = client.put(f"{base}/attempt", json={}).json()["data"]
            otp, nonce = started["otp"], started["nonce"]
            assert (started["started"], started["required"], len(otp)) == (True, 2, started["otp_length"])
            step = client.put(f"{base}/update", json={"key": shares[2], "nonce": nonce}).json()["data"]
            assert (step["progress"], step["complete"], step["encoded_token"]) == (1, False, "")
            done = client.put(f"{base}/update", json={"key": shares[0], "nonce": nonce}).json()["data"]
            assert (done["complete"], done["progress"], done["required"], done["nonce"]) == (
                True,
                2,
                2,
                nonce,
            )
            assert client.get(f"{base}/attempt").json()["data"]["started"] is False
        decoded = httpx.put(
            f"{server.address}/v1/sys/decode-token", json={"encoded_token": done["encoded_token"], "otp": otp}
        )
        token = decoded.json()["data"]["token"]
        looked = httpx.get(f"{server.address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token})
        assert looked.json()["data"]["policies"] == ["root"]
