"""`strongroom operator ...` against a real server in production mode (not dev), compared byte for byte
with `bao operator ...` run on the same server state wherever the output is deterministic."""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from strongroom.cli.operator import _go_time
from strongroom.cli.operator_keys import decode_token, wrap
from tests.cli.dual import Run, run_bao, run_strongroom, same
from tests.servers import (
    UNAUTHED_KEYHOLDERS,
    ConfigServer,
    bao_server,
    free_port,
    sqlite_config,
    strongroom_config_server,
)


@pytest.fixture(params=["strongroom", "openbao"])
def operator_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConfigServer]:
    """The server under test, in production mode, uninitialized and sealed: ours, and OpenBao as the
    reference the same commands must behave alike against; both serve the unauthenticated sys/rekey/* and
    sys/generate-root/* (bao's rekey knows no others)."""
    if request.param == "strongroom":
        port = free_port()
        config = sqlite_config(tmp_path, port, listener=UNAUTHED_KEYHOLDERS)
        with strongroom_config_server(tmp_path, config, port) as server:
            yield server
    else:
        with bao_server(tmp_path) as server:
            yield server


@pytest.fixture
def strongroom(
    operator_target: ConfigServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Run:
    """Run `strongroom ARGS...` in this process against the target (fast: no interpreter start-up);
    without a token unless a call passes one."""
    return functools.partial(run_strongroom(operator_target.address, monkeypatch, capsys, tmp_path), token="")


@pytest.fixture
def bao(operator_target: ConfigServer, tmp_path: Path) -> Run:
    """Run `bao ARGS...` (the reference CLI) against the target, without a token unless a call passes one.

    bao's generate-root uses OpenBao's authenticated sys/generate-root-token paths (ours uses them too when it
    has a token, else Vault's sys/generate-root); both reach the same attempt.
    """
    return functools.partial(run_bao(operator_target.address, tmp_path), token="")


def initialize(strongroom: Run, *, unseal: bool = True) -> dict[str, Any]:
    """`operator init` with 3 shares and threshold 2 as JSON; unsealed with two shares unless told not to."""
    result = strongroom("operator", "init", "-key-shares=3", "-t=2", "-format=json")
    assert result.code == 0, result.err
    init: dict[str, Any] = json.loads(result.out)
    if unseal:
        for key in init["unseal_keys_b64"][:2]:
            assert strongroom("operator", "unseal", key).code == 0
    return init


def field(table: str, name: str) -> str:
    match = re.search(rf"^{re.escape(name)}\s+(.+)$", table, re.MULTILINE)
    assert match, table
    return match.group(1)


def test_init_status_exit_codes_and_output_match_bao(strongroom: Run, bao: Run) -> None:
    before = strongroom("operator", "init", "-status")
    assert (before.code, before.out) == (2, "Vault is not initialized\n")
    same(before, bao("operator", "init", "-status"))
    same(
        strongroom("operator", "init", "-status", "-format=json"),
        bao("operator", "init", "-status", "-format=json"),
    )
    initialize(strongroom, unseal=False)
    after = strongroom("operator", "init", "-status")
    assert (after.code, after.out) == (0, "Vault is initialized\n")
    same(after, bao("operator", "init", "-status"))


def test_init_json_document_has_bao_fields_in_order(strongroom: Run) -> None:
    init = initialize(strongroom, unseal=False)
    assert list(init) == [
        "unseal_keys_b64", "unseal_keys_hex", "unseal_shares", "unseal_threshold", "recovery_keys_b64",
        "recovery_keys_hex", "recovery_keys_shares", "recovery_keys_threshold", "root_token",
    ]  # fmt: skip
    assert [base64.b64decode(key).hex() for key in init["unseal_keys_b64"]] == init["unseal_keys_hex"]
    assert (init["unseal_shares"], init["unseal_threshold"]) == (3, 2)
    assert (init["recovery_keys_b64"], init["recovery_keys_shares"], init["recovery_keys_threshold"]) == (
        None,
        0,
        0,
    )
    assert init["root_token"]


def test_init_table_prints_keys_token_and_advice_and_refuses_a_second_init(
    strongroom: Run, operator_target: ConfigServer
) -> None:
    result = strongroom("operator", "init")
    assert result.code == 0, result.err
    lines = result.out.split("\n")
    assert [re.sub(r": \S+$", ": KEY", line) for line in lines[:7]] == [
        *(f"Unseal Key {index}: KEY" for index in range(1, 6)), "", "Initial Root Token: KEY",
    ]  # fmt: skip
    assert "\n".join(lines[7:]) == (
        "\n"
        "Vault initialized with 5 key shares and a key threshold of 3. Please securely\n"
        "distribute the key shares printed above. When the Vault is re-sealed,\n"
        "restarted, or stopped, you must supply at least 3 of these keys to unseal it\n"
        "before it can start servicing requests.\n"
        "\n"
        "Vault does not store the generated root key. Without at least 3 keys to\n"
        "reconstruct the root key, Vault will remain permanently sealed!\n"
        "\n"
        "It is possible to generate new unseal keys, provided you have a quorum\n"
        'of existing unseal keys shares. See "strongroom operator rekey" for more\n'
        "information.\n"
    )
    again = strongroom("operator", "init")
    assert again.code == 2
    assert again.err == (
        "Error initializing: Error making API request.\n\n"
        f"URL: PUT {operator_target.address}/v1/sys/init\n"
        "Code: 400. Errors:\n\n"
        "* Vault is already initialized\n"
    )


def test_unseal_reads_a_key_from_stdin_accepts_hex_and_resets(strongroom: Run, bao: Run) -> None:
    init = initialize(strongroom, unseal=False)
    first = strongroom("operator", "unseal", stdin=init["unseal_keys_b64"][0] + "\n")
    assert first.code == 0, first.err
    assert (field(first.out, "Sealed"), field(first.out, "Unseal Progress")) == ("true", "1/2")
    assert first.out == bao("status").out
    reset = strongroom("operator", "unseal", "-reset")
    assert field(reset.out, "Unseal Progress") == "0/2"
    same(reset, bao("operator", "unseal", "-reset"))
    same(
        strongroom("operator", "unseal", "-reset", "-format=json"),
        bao("operator", "unseal", "-reset", "-format=json"),
    )
    assert strongroom("operator", "unseal", init["unseal_keys_hex"][1]).code == 0
    done = strongroom("operator", "unseal", init["unseal_keys_b64"][2])
    assert (done.code, field(done.out, "Sealed")) == (0, "false")
    key = init["unseal_keys_b64"][0]
    same(strongroom("operator", "unseal", key), bao("operator", "unseal", key))
    same(
        strongroom("operator", "unseal", "-format=json", key), bao("operator", "unseal", "-format=json", key)
    )


def test_unseal_errors_match_bao(strongroom: Run, bao: Run) -> None:
    initialize(strongroom, unseal=False)
    for args in (("not-a-key",), ("bm90YWtleQ==",), ("a", "b")):
        ours = strongroom("operator", "unseal", *args)
        assert ours.code == (1 if len(args) == 2 else 2)
        same(ours, bao("operator", "unseal", *args))


def test_seal_and_step_down(strongroom: Run, bao: Run, operator_target: ConfigServer) -> None:
    token = initialize(strongroom)["root_token"]
    stepped = strongroom("operator", "step-down", token=token)
    assert (stepped.code, stepped.out) == (0, f"Success! Stepped down: {operator_target.address}\n")
    same(strongroom("operator", "seal", "-format=json", token=token), bao("operator", "seal", "-format=json"))
    sealed = strongroom("operator", "seal", token=token)
    assert (sealed.code, sealed.out) == (0, "Success! Vault is sealed.\n")
    assert bao("status").code == 2


def test_key_status_and_rotate(strongroom: Run, bao: Run) -> None:
    token = initialize(strongroom)["root_token"]
    for fmt in ("table", "json", "yaml"):
        same(
            strongroom("operator", "key-status", f"-format={fmt}", token=token),
            bao("operator", "key-status", f"-format={fmt}", token=token),
        )
    term = json.loads(strongroom("operator", "key-status", "-format=json", token=token).out)["term"]
    rotated = strongroom("operator", "rotate", token=token)
    assert rotated.code == 0, rotated.err
    assert rotated.out.startswith(
        f"Success! Rotated key\n\nKey Term            {term + 1}\nInstall Time        "
    )
    as_json = json.loads(strongroom("operator", "rotate", "-format=json", token=token).out)
    assert as_json["term"] == term + 2
    same(strongroom("operator", "key-status", token=token), bao("operator", "key-status", token=token))


def test_rekey_flow_replaces_the_unseal_keys(strongroom: Run, bao: Run) -> None:
    init = initialize(strongroom)
    token, old = init["root_token"], init["unseal_keys_b64"]
    for fmt in ("table", "json"):
        same(
            strongroom("operator", "rekey", "-status", f"-format={fmt}", token=token),
            bao("operator", "rekey", "-status", f"-format={fmt}", token=token),
        )
    missing = strongroom("operator", "rekey", old[0], token=token)
    assert (missing.code, missing.err) == (
        1,
        'No rekey is in progress. Start a rekey process by running "strongroom operator\nrekey -init".\n',
    )
    started = strongroom("operator", "rekey", "-init", "-n=2", "-key-threshold=2", token=token)
    assert started.code == 0, started.err
    assert started.err == (
        "WARNING! If you lose the keys after they are returned, there is no recovery.\n"
        "Consider canceling this operation and re-initializing with the -pgp-keys flag\n"
        "to protect the returned unseal keys along with -backup to allow recovery of\n"
        "the encrypted keys in case of emergency. You can delete the stored keys later\n"
        "using the -delete flag.\n"
    )
    assert started.out == "\n" + bao("operator", "rekey", "-status", token=token).out
    nonce = field(started.out, "Nonce")
    no_nonce = strongroom("operator", "rekey", old[0], token=token)
    assert (no_nonce.code, no_nonce.err) == (1, "Missing nonce value: specify it via the -nonce flag\n")
    progress = strongroom("operator", "rekey", f"-nonce={nonce}", old[0], token=token)
    assert field(progress.out, "Progress") == "1/2"
    same(progress, bao("operator", "rekey", "-status", token=token))
    done = strongroom(
        "operator", "rekey", f"-nonce={nonce}", "-", stdin=init["unseal_keys_hex"][1], token=token
    )
    assert done.code == 0, done.err
    new = re.findall(r"^Key \d: (\S+)$", done.out, re.MULTILINE)
    assert len(new) == 2
    assert not set(new) & set(old)
    assert done.out.endswith(
        f"\nOperation nonce: {nonce}\n\n"
        "Vault unseal keys rekeyed with 2 key shares and a key threshold of 2. Please\n"
        "securely distribute the key shares printed above. When Vault is re-sealed,\n"
        "restarted, or stopped, you must supply at least 2 of these keys to unseal it\n"
        "before it can start servicing requests.\n"
    )
    assert strongroom("operator", "seal", token=token).code == 0
    assert strongroom("operator", "unseal", old[0]).code == 0
    assert strongroom("operator", "unseal", old[1]).code == 2
    assert strongroom("operator", "unseal", "-reset").code == 0
    for key in new:
        last = strongroom("operator", "unseal", key)
    assert field(last.out, "Sealed") == "false"


def test_rekey_cancel(strongroom: Run, bao: Run) -> None:
    token = initialize(strongroom)["root_token"]
    assert strongroom("operator", "rekey", "-init", token=token).code == 0
    cancelled = strongroom("operator", "rekey", "-cancel", token=token)
    assert (cancelled.code, cancelled.out) == (0, "Success! Canceled rekeying (if it was started)\n")
    assert (
        json.loads(bao("operator", "rekey", "-status", "-format=json", token=token).out)["started"] is False
    )


# Without a token our generate-root uses Vault's unauthenticated paths, which bao's no longer does; so these
# tests check exact output (its format was taken from bao 2.7.2) instead of bao's.
def test_generate_root_with_an_otp_yields_a_working_root_token(
    strongroom: Run, operator_target: ConfigServer
) -> None:
    keys = initialize(strongroom)["unseal_keys_b64"]
    status = json.loads(strongroom("operator", "generate-root", "-status", "-format=json").out)
    length = status["otp_length"]
    assert list(status) == [
        "nonce", "started", "progress", "required", "complete", "encoded_token", "encoded_root_token",
        "pgp_fingerprint", "otp", "otp_length",
    ]  # fmt: skip
    idle = strongroom("operator", "generate-root", "-status")
    assert idle.out == (
        "Nonce         n/a\nStarted       false\nProgress      0/2\nComplete      false\n"
        f"OTP Length    {length}\n"
    )
    otp = strongroom("operator", "generate-root", "-generate-otp").out
    assert re.fullmatch(rf"[0-9A-Za-z]{{{length}}}", otp)
    started = strongroom("operator", "generate-root", "-init", f"-otp={otp}")
    assert (started.code, started.err) == (0, "")
    nonce = field(started.out, "Nonce")
    assert started.out == strongroom("operator", "generate-root", "-status").out
    assert started.out == idle.out.replace("n/a", nonce).replace("false\nProgress", "true\nProgress")
    strongroom("operator", "generate-root", f"-nonce={nonce}", keys[0])
    done = strongroom("operator", "generate-root", f"-nonce={nonce}", keys[1])
    assert (field(done.out, "Progress"), field(done.out, "Complete")) == ("2/2", "true")
    encoded = field(done.out, "Encoded Token")
    decoded = strongroom("operator", "generate-root", f"-decode={encoded}", f"-otp={otp}")
    assert (decoded.code, decoded.err) == (0, "")
    piped = strongroom("operator", "generate-root", "-decode=-", f"-otp={otp}", "-format=json", stdin=encoded)
    assert json.loads(piped.out) == {"token": decoded.out}
    lookup = httpx.get(
        f"{operator_target.address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": decoded.out}
    )
    assert lookup.json()["data"]["policies"] == ["root"]


def test_generate_root_errors_and_cancel(strongroom: Run) -> None:
    keys = initialize(strongroom)["unseal_keys_b64"]
    length = json.loads(strongroom("operator", "generate-root", "-status", "-format=json").out)["otp_length"]
    missing = strongroom("operator", "generate-root", keys[0])
    assert missing.code == 1
    assert missing.err == (
        "No root generation is in progress. Start a root generation by running\n"
        '"strongroom operator generate-root -init".\n'
        "If starting root generation using the OTP method and generating your own OTP,\n"
        f"the length of the OTP string needs to be {length} characters in length.\n"
    )
    no_otp = strongroom("operator", "generate-root", "-decode=abc")
    assert (no_otp.code, no_otp.err) == (1, "Missing otp: use -otp to supply it\n")
    short = strongroom("operator", "generate-root", "-decode=abc", "-otp=x")
    assert (short.code, short.err) == (
        1,
        "Error decoding root token: error xoring token: length of byte slices is not equivalent: 2 != 1\n",
    )
    server_otp = strongroom("operator", "generate-root", "-init")
    assert server_otp.err == (
        "A One-Time-Password has been generated for you and is shown in the OTP field.\n"
        "You will need this value to decode the resulting root token, so keep it safe.\n"
    )
    assert re.fullmatch(rf"[0-9A-Za-z]{{{length}}}", field(server_otp.out, "OTP"))
    cancelled = strongroom("operator", "generate-root", "-cancel")
    assert (cancelled.code, cancelled.out) == (
        0,
        "Success! Root token generation canceled (if it was started)\n",
    )
    assert field(strongroom("operator", "generate-root", "-status").out, "Started") == "false"


def test_wrap_places_breaks_as_vault_does() -> None:
    text = (
        "It is possible to generate new unseal keys, provided you have a quorum of existing unseal keys "
        'shares. See "bao operator rotate-keys" for more information.'
    )
    assert wrap(text) == (
        "It is possible to generate new unseal keys, provided you have a quorum\n"
        'of existing unseal keys shares. See "bao operator rotate-keys" for more\n'
        "information."
    )


def test_decode_token_xors_with_the_otp() -> None:
    otp = "ABCDEFGHIJ"
    encoded = base64.b64encode(
        bytes(a ^ b for a, b in zip(b"s.abcdefgh", otp.encode(), strict=True))
    ).decode()
    assert decode_token(encoded.rstrip("="), otp, len(otp)) == "s.abcdefgh"
    with pytest.raises(ValueError, match="length of byte slices is not equivalent: 10 != 2"):
        decode_token(encoded, "AB", 2)
    legacy_otp = base64.b64encode(bytes(range(16))).decode()
    legacy = base64.b64encode(bytes(a ^ b for a, b in zip(bytes(16), range(16), strict=True))).decode()
    assert decode_token(legacy, legacy_otp, 0) == "00000000-0000-0000-0000-000000000000"


def test_install_time_is_printed_as_go_marshals_it() -> None:
    assert _go_time("2026-11-28T03:17:30.263960Z") == "2026-11-28T03:17:30.26396Z"
    assert _go_time("2026-11-28T03:17:30.000Z") == "2026-11-28T03:17:30Z"
    assert _go_time("2026-11-28T03:17:30.949348894Z") == "2026-11-28T03:17:30.949348894Z"
