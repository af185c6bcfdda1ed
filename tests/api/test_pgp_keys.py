"""PGP-protected key shares and root tokens, opened by GnuPG, on strongroom and on OpenBao side by side.

Each holder's key is made by Debian's `gpg`, given to the server as Vault takes it (base64 of the binary
public key), and what the server hands back is opened with `gpg -d`, as a holder would: init (`pgp_keys`,
`root_token_pgp_key`), rekey (`pgp_keys`, `backup` with sys/rekey/backup, `require_verification` with
sys/rekey/verify) and generate-root (`pgp_key`).

Intended difference: a `root_token_pgp_key` that cannot be parsed is refused before anything is created;
OpenBao initializes first and then refuses, leaving a server whose keys nobody was shown.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.servers import (
    UNAUTHED_KEYHOLDERS,
    bao_binary,
    bao_server,
    free_port,
    sqlite_config,
    strongroom_config_server,
)


class Holders:
    """A GnuPG home with one key pair per holder."""

    def __init__(self, home: Path) -> None:
        home.mkdir(mode=0o700)
        self.home = home
        self.env = {**os.environ, "GNUPGHOME": str(home)}

    def gpg(self, *args: str, data: bytes = b"") -> bytes:
        done = subprocess.run(
            ["gpg", "--batch", "--quiet", *args], input=data, capture_output=True, env=self.env, check=True
        )
        return done.stdout

    def new_key(self, name: str) -> str:
        """A new key pair for `name`; its public key as Vault takes it."""
        self.gpg("--passphrase", "", "--quick-gen-key", f"{name} <{name}@example.com>", "default", "default")
        return base64.b64encode(self.gpg("--export", f"{name}@example.com")).decode()

    def fingerprint(self, name: str) -> str:
        for line in self.gpg("--with-colons", "--fingerprint", f"{name}@example.com").decode().splitlines():
            if line.startswith("fpr:"):
                return line.split(":")[9].lower()
        raise AssertionError(f"no fingerprint for {name}")

    def open(self, encoded: str) -> str:
        """What the base64 OpenPGP message `encoded` holds."""
        return self.gpg("--decrypt", data=base64.b64decode(encoded)).decode()


@pytest.fixture(scope="module")
def holders(tmp_path_factory: pytest.TempPathFactory) -> Holders:
    made = Holders(tmp_path_factory.mktemp("gnupg") / "home")
    for name in ("alice", "bob", "carol"):
        made.new_key(name)
    return made


def key(holders: Holders, name: str) -> str:
    return base64.b64encode(holders.gpg("--export", f"{name}@example.com")).decode()


@contextmanager
def fresh_server(kind: str, workdir: Path) -> Iterator[str]:
    """An uninitialized server of `kind` ("strongroom" or "openbao") with the unauthenticated rekey and
    generate-root endpoints on; its address."""
    if kind == "openbao":
        with bao_server(workdir) as bao:
            yield bao.address
        return
    port = free_port()
    with strongroom_config_server(
        workdir, sqlite_config(workdir, port, listener=UNAUTHED_KEYHOLDERS), port
    ) as s:
        yield s.address


def put(address: str, path: str, body: dict[str, object], token: str = "") -> httpx.Response:
    return httpx.put(f"{address}/v1/{path}", json=body, headers={"X-Vault-Token": token} if token else {})


def unseal_with(address: str, keys: list[str]) -> dict[str, object]:
    answer: dict[str, object] = {}
    for share in keys:
        answer = put(address, "sys/unseal", {"key": share}).json()
    return answer


SERVERS = ["strongroom", "openbao"]


@pytest.mark.parametrize("kind", SERVERS)
def test_init_hands_each_holder_a_share_only_their_key_opens(
    kind: str, holders: Holders, tmp_path: Path
) -> None:
    with fresh_server(kind, tmp_path) as address:
        body = {
            "secret_shares": 3,
            "secret_threshold": 2,
            "pgp_keys": [key(holders, n) for n in ("alice", "bob", "carol")],
            "root_token_pgp_key": key(holders, "alice"),
        }
        answer = put(address, "sys/init", body)
        assert answer.status_code == 200, answer.text
        keys = answer.json()
        assert [base64.b64decode(k).hex() for k in keys["keys_base64"]] == keys["keys"]
        shares = [holders.open(k) for k in keys["keys_base64"]]
        assert all(len(bytes.fromhex(share)) > 16 for share in shares)
        assert unseal_with(address, shares[1:])["sealed"] is False
        root = holders.open(keys["root_token"])
        me = httpx.get(f"{address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": root})
        assert me.json()["data"]["policies"] == ["root"]


REFUSALS = [
    ({"secret_shares": 2, "secret_threshold": 2, "pgp_keys": ["ALICE"]},
     "invalid seal configuration: count mismatch between number of provided PGP keys and number of shares"),
    ({"secret_shares": 1, "secret_threshold": 1, "pgp_keys": ["!!!!"]},
     "invalid seal configuration: error decoding given PGP key: illegal base64 data at input byte 0"),
    ({"secret_shares": 1, "secret_threshold": 1, "pgp_keys": ["aGVsbG8="]},
     "invalid seal configuration: error parsing given PGP key: "),
    ({"secret_shares": 2, "secret_threshold": 1, "pgp_keys": ["ALICE", "ALICE"]},
     "invalid seal configuration: threshold must be greater than one for multiple shares"),
]  # fmt: skip


@pytest.mark.parametrize("kind", SERVERS)
def test_init_refuses_bad_pgp_keys_as_openbao_does(kind: str, holders: Holders, tmp_path: Path) -> None:
    with fresh_server(kind, tmp_path) as address:
        for given, error in REFUSALS:
            keys = given["pgp_keys"]
            assert isinstance(keys, list)
            body = given | {"pgp_keys": [key(holders, "alice") if k == "ALICE" else k for k in keys]}
            answer = put(address, "sys/init", body)
            assert answer.status_code == 400, (body, answer.text)
            [said] = answer.json()["errors"]
            # The parser's own reason after the prefix differs (Go's openpgp and Sequoia word it apart).
            assert said.startswith(error) if error.endswith(": ") else said == error
        assert httpx.get(f"{address}/v1/sys/init").json() == {"initialized": False}


def test_a_bad_root_token_key_leaves_strongroom_uninitialized(tmp_path: Path) -> None:
    with fresh_server("strongroom", tmp_path) as address:
        body = {"secret_shares": 1, "secret_threshold": 1, "root_token_pgp_key": "aGVsbG8="}
        answer = put(address, "sys/init", body)
        assert answer.status_code == 400
        assert answer.json()["errors"][0].startswith("error parsing given PGP key: ")
        assert httpx.get(f"{address}/v1/sys/init").json() == {"initialized": False}


@pytest.mark.parametrize("kind", SERVERS)
def test_rekey_to_pgp_keys_with_backup_and_verification(kind: str, holders: Holders, tmp_path: Path) -> None:
    with fresh_server(kind, tmp_path) as address:
        keys = put(address, "sys/init", {"secret_shares": 1, "secret_threshold": 1}).json()
        old, root = keys["keys"][0], keys["root_token"]
        unseal_with(address, [old])
        plan = {
            "secret_shares": 2,
            "secret_threshold": 2,
            "pgp_keys": [key(holders, "bob"), key(holders, "carol")],
            "backup": True,
            "require_verification": True,
        }
        started = put(address, "sys/rekey/init", plan, root).json()
        fingerprints = [holders.fingerprint("bob"), holders.fingerprint("carol")]
        assert (started["pgp_fingerprints"], started["backup"], started["verification_required"]) == (
            fingerprints, True, True,
        )  # fmt: skip
        done = put(address, "sys/rekey/update", {"key": old, "nonce": started["nonce"]}, root).json()
        assert (done["complete"], done["pgp_fingerprints"], done["verification_required"]) == (
            True, fingerprints, True,
        )  # fmt: skip
        new = [holders.open(k) for k in done["keys_base64"]]

        # Not in force until verified: the server still has one share.
        assert httpx.get(f"{address}/v1/sys/seal-status").json()["n"] == 1
        verification = httpx.get(f"{address}/v1/sys/rekey/verify", headers={"X-Vault-Token": root}).json()
        assert (verification["nonce"], verification["started"], verification["progress"]) == (
            done["verification_nonce"], True, 0,
        )  # fmt: skip
        nonce = done["verification_nonce"]
        assert put(address, "sys/rekey/verify", {"key": new[0], "nonce": nonce}, root).json() == {
            "nonce": nonce, "started": True, "t": 2, "n": 2, "progress": 1,
        }  # fmt: skip
        assert put(address, "sys/rekey/verify", {"key": new[1], "nonce": nonce}, root).json() == {
            "nonce": nonce, "complete": True,
        }  # fmt: skip

        backup = httpx.get(f"{address}/v1/sys/rekey/backup", headers={"X-Vault-Token": root}).json()["data"]
        assert backup["nonce"] == started["nonce"]
        assert backup["keys"] == {fp: [k] for fp, k in zip(fingerprints, done["keys"], strict=True)}
        assert backup["keys_base64"] == {
            fp: [k] for fp, k in zip(fingerprints, done["keys_base64"], strict=True)
        }

        assert put(address, "sys/seal", {}, root).status_code == 204
        unsealed = unseal_with(address, new)
        assert (unsealed["sealed"], unsealed["t"], unsealed["n"]) == (False, 2, 2)
        gone = httpx.delete(f"{address}/v1/sys/rekey/backup", headers={"X-Vault-Token": root})
        assert gone.status_code == 204
        none = httpx.get(f"{address}/v1/sys/rekey/backup", headers={"X-Vault-Token": root})
        assert (none.status_code, none.json()) == (400, {"errors": ["no backed-up keys found"]})


@pytest.mark.parametrize("kind", SERVERS)
def test_generate_root_encrypts_the_token_to_the_pgp_key(kind: str, holders: Holders, tmp_path: Path) -> None:
    with fresh_server(kind, tmp_path) as address:
        keys = put(address, "sys/init", {"secret_shares": 1, "secret_threshold": 1}).json()
        unseal_with(address, keys["keys"])
        started = put(address, "sys/generate-root/attempt", {"pgp_key": key(holders, "carol")}).json()
        assert (started["pgp_fingerprint"], started["otp"]) == (holders.fingerprint("carol"), "")
        done = put(address, "sys/generate-root/update", {"key": keys["keys"][0], "nonce": started["nonce"]})
        answer = done.json()
        assert (answer["complete"], answer["pgp_fingerprint"]) == (True, holders.fingerprint("carol"))
        token = holders.open(answer["encoded_token"])
        me = httpx.get(f"{address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token})
        assert me.json()["data"]["policies"] == ["root"]
        refused = put(address, "sys/generate-root/attempt", {"pgp_key": "aGVsbG8="})
        assert refused.status_code == 400
        assert refused.json()["errors"][0].startswith("error parsing PGP key: error parsing given PGP key: ")


@pytest.mark.parametrize("kind", SERVERS)
def test_authenticated_rotation_takes_pgp_keys_backup_and_verification(
    kind: str, holders: Holders, tmp_path: Path
) -> None:
    with fresh_server(kind, tmp_path) as address:
        keys = put(address, "sys/init", {"secret_shares": 1, "secret_threshold": 1}).json()
        old, root = keys["keys"][0], keys["root_token"]
        unseal_with(address, [old])
        plan = {
            "secret_shares": 1,
            "secret_threshold": 1,
            "pgp_keys": [key(holders, "alice")],
            "backup": True,
        }
        started = put(address, "sys/rotate/root/init", plan | {"require_verification": True}, root).json()[
            "data"
        ]
        done = put(address, "sys/rotate/root/update", {"key": old, "nonce": started["nonce"]}, root).json()[
            "data"
        ]
        assert (done["complete"], done["pgp_fingerprints"]) == (True, [holders.fingerprint("alice")])
        new = holders.open(done["keys_base64"][0])
        check = put(
            address, "sys/rotate/root/verify", {"key": new, "nonce": done["verification_nonce"]}, root
        )
        assert check.json()["data"] == {"nonce": done["verification_nonce"], "complete": True}
        backup = httpx.get(f"{address}/v1/sys/rotate/root/backup", headers={"X-Vault-Token": root})
        assert backup.json()["data"]["keys_base64"] == {holders.fingerprint("alice"): done["keys_base64"]}
        assert put(address, "sys/seal", {}, root).status_code == 204
        assert unseal_with(address, [new])["sealed"] is False


def run_cli(
    kind: str, address: str, home: Path, *args: str, token: str = ""
) -> subprocess.CompletedProcess[str]:
    """Our CLI or `bao` against `address`: the same flags, as an operator types them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    env |= {"VAULT_ADDR": address, "HOME": str(home)} | ({"VAULT_TOKEN": token} if token else {})
    argv = [sys.executable, "-m", "strongroom"] if kind == "strongroom" else [bao_binary()]
    return subprocess.run([*argv, *args], capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.mark.parametrize("kind", SERVERS)
def test_the_cli_takes_key_files_as_bao_does(kind: str, holders: Holders, tmp_path: Path) -> None:
    """Key files binary, base64 and armored; init, rekey with backup and verification, generate-root."""
    files = tmp_path / "keys"
    files.mkdir()
    (files / "alice.gpg").write_bytes(holders.gpg("--export", "alice@example.com"))
    (files / "bob.b64").write_text(key(holders, "bob"))
    (files / "carol.asc").write_bytes(holders.gpg("--armor", "--export", "carol@example.com"))
    alice, bob, carol = (str(files / name) for name in ("alice.gpg", "bob.b64", "carol.asc"))
    home = tmp_path / "home"
    home.mkdir()
    with fresh_server(kind, tmp_path) as address:
        cli = functools.partial(run_cli, kind, address, home)
        init = cli("operator", "init", "-key-shares=2", "-key-threshold=2", f"-pgp-keys={alice},{bob}",
                   f"-root-token-pgp-key={carol}", "-format=json")  # fmt: skip
        assert init.returncode == 0, init.stderr
        made = json.loads(init.stdout)
        shares = [holders.open(k) for k in made["unseal_keys_b64"]]
        for share in shares:
            assert cli("operator", "unseal", share).returncode == 0
        root = holders.open(made["root_token"])

        started = cli("operator", "rekey", "-init", "-key-shares=1", "-key-threshold=1", f"-pgp-keys={carol}",
                      "-backup", "-verify", "-format=json", token=root)  # fmt: skip
        assert started.returncode == 0, started.stderr
        nonce = json.loads(started.stdout)["nonce"]
        for share in shares:
            done = cli("operator", "rekey", f"-nonce={nonce}", share, token=root)
        assert done.returncode == 0, done.stderr
        assert f"Key 1 fingerprint: {holders.fingerprint('carol')}; value: " in done.stdout
        assert "core/unseal-keys-backup" in done.stdout
        new = holders.open(done.stdout.split("; value: ")[1].split()[0])
        verify_nonce = json.loads(
            cli("operator", "rekey", "-status", "-verify", "-format=json", token=root).stdout
        )
        verified = cli("operator", "rekey", "-verify", f"-nonce={verify_nonce['nonce']}", new, token=root)
        assert verified.returncode == 0, verified.stderr
        assert "Rekey verification successful." in verified.stdout

        kept = json.loads(cli("operator", "rekey", "-backup-retrieve", "-format=json", token=root).stdout)
        assert list(kept["data"]["keys_base64"] if "data" in kept else kept["keys_base64"]) == [
            holders.fingerprint("carol")
        ]
        deleted = cli("operator", "rekey", "-backup-delete", token=root)
        assert deleted.stdout == "Success! Deleted backed up keys (if they existed)\n"

        attempt = cli("operator", "generate-root", "-init", f"-pgp-key={alice}", "-format=json", token=root)
        assert attempt.returncode == 0, attempt.stderr
        step = cli(
            "operator", "generate-root", "-format=json", f"-nonce={json.loads(attempt.stdout)['nonce']}", new,
            token=root,
        )  # fmt: skip
        assert step.returncode == 0, step.stderr + step.stdout
        token = holders.open(json.loads(step.stdout)["encoded_token"])
        assert cli("token", "lookup", token=token).returncode == 0


def test_keybase_names_are_refused_with_one_clear_line(tmp_path: Path) -> None:
    refused = run_cli(
        "strongroom", "http://127.0.0.1:1", tmp_path, "operator", "init", "-pgp-keys=keybase:jefferai"
    )
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert "Keybase is not supported" in refused.stderr


@pytest.mark.parametrize("kind", SERVERS)
def test_sealing_discards_new_shares_awaiting_verification(kind: str, tmp_path: Path) -> None:
    with fresh_server(kind, tmp_path) as address:
        keys = put(address, "sys/init", {"secret_shares": 1, "secret_threshold": 1}).json()
        old, root = keys["keys"][0], keys["root_token"]
        unseal_with(address, [old])
        plan = {"secret_shares": 1, "secret_threshold": 1, "require_verification": True}
        nonce = put(address, "sys/rekey/init", plan, root).json()["nonce"]
        assert put(address, "sys/rekey/update", {"key": old, "nonce": nonce}, root).json()["complete"] is True
        assert put(address, "sys/seal", {}, root).status_code == 204
        assert unseal_with(address, [old])["sealed"] is False
        status = httpx.get(f"{address}/v1/sys/rekey/init", headers={"X-Vault-Token": root}).json()
        assert (status["started"], status["nonce"]) == (False, "")
