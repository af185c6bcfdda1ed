"""`strongroom auth ...` and `strongroom login -method=...` against strongroom and OpenBao, compared byte for
byte with `bao` on the same server wherever the output is deterministic."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.dual import Run, api, bao_cli, dual_target, run_bao, run_strongroom, same, strongroom
from tests.jwks import claims, rsa_key
from tests.servers import RunningServer, bao_dev_server, strongroom_dev_server

__all__ = ["bao_cli", "dual_target", "strongroom"]


@pytest.fixture(params=["strongroom", "openbao"])
def fresh_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    """A server of its own: the YAML list output holds every auth mount, and random mount names left by
    other tests can make Go's key order (digit runs compared as numbers) cyclic, so bao's own order would
    depend on map iteration."""
    start = strongroom_dev_server if request.param == "strongroom" else bao_dev_server
    (tmp_path / "server").mkdir()
    with start(tmp_path / "server") as running:
        yield running


def test_enable_list_disable_match_bao(
    fresh_target: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    strongroom = run_strongroom(fresh_target.address, monkeypatch, capsys, tmp_path)
    bao_cli = run_bao(fresh_target.address, tmp_path / "bao-home")
    enabled = strongroom("auth", "enable", "-path=people", "-description=people", "userpass")
    assert (enabled.code, enabled.out, enabled.err) == (
        0,
        "Success! Enabled userpass auth method at: people/\n",
        "",
    )
    for path in ("app9", "app10", "app010", "app-x"):  # Go's YAML key order: app9 before app10
        assert strongroom("auth", "enable", f"-path={path}", "approle").code == 0
    mounts = api(fresh_target, "GET", "sys/auth").json()["data"]
    assert (mounts["people/"]["type"], mounts["people/"]["description"]) == ("userpass", "people")
    listed = strongroom("auth", "list")
    assert listed.code == 0
    row = next(line for line in listed.out.splitlines() if line.startswith("people/"))
    assert row.split() == ["people/", "userpass", mounts["people/"]["accessor"], "people", "n/a"]
    for flags in ((), ("-detailed",), ("-format=json",), ("-format=yaml", "-detailed")):
        same(strongroom("auth", "list", *flags), bao_cli("auth", "list", *flags))
    disabled = strongroom("auth", "disable", "/people")
    assert disabled.out == "Success! Disabled the auth method (if it existed) at: people/\n"
    assert "people/" not in api(fresh_target, "GET", "sys/auth").json()["data"]
    same(strongroom("auth", "disable", "people"), bao_cli("auth", "disable", "people"))


def test_enable_sends_every_setting(strongroom: Run, dual_target: RunningServer, unique: str) -> None:
    result = strongroom(
        "auth", "enable", f"-path={unique}", "-default-lease-ttl=1h", "-max-lease-ttl=2h",
        "-listing-visibility=unauth", "approle",
    )  # fmt: skip
    assert result.code == 0, result.err
    config = api(dual_target, "GET", "sys/auth").json()["data"][f"{unique}/"]["config"]
    assert (config["default_lease_ttl"], config["max_lease_ttl"]) == (3600, 7200)
    detailed = strongroom("auth", "list", "-detailed")
    row = next(line for line in detailed.out.splitlines() if line.startswith(f"{unique}/"))
    cells = row.split()
    assert (cells[3], cells[4], cells[6]) == ("3600", "7200", "replicated")
    # Listed to unauthenticated callers: gone again, or tests of what they see would find it.
    api(dual_target, "DELETE", f"sys/auth/{unique}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("auth", "enable"), "Not enough arguments (expected 1, got 0)\n"),
        (("auth", "enable", "a", "b"), "Too many arguments (expected 1, got 2)\n"),
        (("auth", "disable"), "Not enough arguments (expected 1, got 0)\n"),
        (("auth", "tune", "a", "b"), "Too many arguments (expected 1, got 2)\n"),
        (("auth", "list", "x"), "Too many arguments (expected 0, got 1)\n"),
        (
            ("auth", "tune", "-default-lease-ttl=abc", "userpass"),
            'invalid value "abc" for flag -default-lease-ttl: time: invalid duration "abc"\n',
        ),
    ],
)
def test_argument_errors_exit_1_like_bao(
    strongroom: Run, bao_cli: Run, args: tuple[str, ...], message: str
) -> None:
    ours = strongroom(*args)
    assert (ours.code, ours.out, ours.err) == (1, "", message)
    same(ours, bao_cli(*args))


def test_server_refusals_exit_2_like_bao(strongroom: Run, bao_cli: Run, dual_target: RunningServer) -> None:
    refused = strongroom("auth", "enable", "no-such-method")
    assert refused.code == 2
    assert refused.err.startswith(
        "Error enabling no-such-method auth: Error making API request.\n\n"
        f"URL: POST {dual_target.address}/v1/sys/auth/no-such-method\nCode: 400. Errors:\n\n* "
    )
    same(strongroom("auth", "disable", "token"), bao_cli("auth", "disable", "token"))


def test_tune_changes_ttls_and_description(
    bao: RunningServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # OpenBao only: strongroom does not serve sys/mounts/auth/<path>/tune yet (what `vault auth tune` calls).
    ours, theirs = run_strongroom(bao.address, monkeypatch, capsys, tmp_path), run_bao(bao.address, tmp_path)
    assert ours("auth", "enable", "-path=tuned-up", "userpass").code == 0
    tuned = ours(
        "auth", "tune", "-default-lease-ttl=90", "-max-lease-ttl=1h30m", "-description=hi", "tuned-up"
    )
    assert (tuned.code, tuned.out) == (0, "Success! Tuned the auth method at: tuned-up/\n")
    mount = api(bao, "GET", "sys/auth").json()["data"]["tuned-up/"]
    assert (mount["config"]["default_lease_ttl"], mount["config"]["max_lease_ttl"]) == (90, 5400)
    assert mount["description"] == "hi"
    same(ours("auth", "tune", "nope/"), theirs("auth", "tune", "nope/"))
    same(ours("auth", "list", "-detailed"), theirs("auth", "list", "-detailed"))


def _userpass(server: RunningServer, mount: str, password: str) -> None:
    api(server, "POST", f"sys/auth/{mount}", {"type": "userpass"})
    api(server, "POST", f"auth/{mount}/users/alice", {"password": password, "token_policies": "default"})


def test_userpass_login_reads_the_password_from_stdin_and_stores_the_token(
    strongroom: Run, dual_target: RunningServer, tmp_path: Path, unique: str
) -> None:
    _userpass(dual_target, unique, "correct horse")
    result = strongroom(
        "login", "-method=userpass", f"-path={unique}", "username=alice", token=None, stdin="correct horse\n"
    )
    assert result.code == 0, result.err
    assert result.out.startswith(
        "Success! You are now authenticated. The token information displayed below is\n"
        'already stored in the token helper. You do NOT need to run "strongroom login"\n'
        "again. Future Vault requests will automatically use this token.\n\n"
    )
    assert "token_meta_username    alice\n" in result.out
    token_file = tmp_path / ".strongroom-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    stored = token_file.read_text()
    assert stored not in result.out
    lookup = api(dual_target, "GET", "auth/token/lookup-self", token=stored).json()["data"]
    assert (lookup["meta"], lookup["path"]) == ({"username": "alice"}, f"auth/{unique}/login/alice")
    assert "correct horse" not in result.out + result.err


def test_login_token_only_and_no_store_print_the_token_and_store_nothing(
    strongroom: Run, dual_target: RunningServer, tmp_path: Path, unique: str
) -> None:
    _userpass(dual_target, unique, "pw")
    only = strongroom(
        "login", "-method=userpass", f"-path={unique}", "-token-only", "username=alice", "password=pw"
    )
    assert (only.code, only.err) == (0, "")
    assert api(dual_target, "GET", "auth/token/lookup-self", token=only.out).json()["data"]["meta"] == {
        "username": "alice"
    }
    as_json = strongroom(
        "login",
        "-method=userpass",
        f"-path={unique}",
        "-no-store",
        "-format=json",
        "username=alice",
        "password=pw",
    )
    assert as_json.code == 0
    assert as_json.err == (
        "The token was not stored in token helper. Set the STRONGROOM_TOKEN environment\n"
        "variable or pass the token below with each request to Vault.\n\n"
    )
    assert json.loads(as_json.out)["auth"]["metadata"] == {"username": "alice"}
    assert not (tmp_path / ".strongroom-token").exists()


def test_login_failures(strongroom: Run, bao_cli: Run, dual_target: RunningServer, unique: str) -> None:
    _userpass(dual_target, unique, "pw")
    wrong = strongroom(
        "login", "-method=userpass", f"-path={unique}", "username=alice", "password=nope", token=None
    )
    assert wrong.code == 2
    assert wrong.err.startswith(
        f"Error authenticating: Error making API request.\n\nURL: PUT {dual_target.address}/v1/auth/{unique}/"
        "login/alice\nCode: 400. Errors:\n\n* "
    )
    missing = strongroom("login", "-method=userpass", f"-path={unique}", "password=pw")
    assert (missing.code, missing.err) == (2, "Error authenticating: 'username' must be specified\n")
    same(missing, bao_cli("login", "-method=userpass", f"-path={unique}", "password=pw"))
    unknown = strongroom("login", "-method=github")
    assert (unknown.code, unknown.err.splitlines()[0]) == (
        1,
        'Unknown auth method: github. Use "strongroom auth list" to see the complete list of',
    )


def test_approle_login(strongroom: Run, dual_target: RunningServer, unique: str) -> None:
    api(dual_target, "POST", f"sys/auth/{unique}", {"type": "approle"})
    api(dual_target, "POST", f"auth/{unique}/role/app", {"token_policies": "default"})
    role_id = api(dual_target, "GET", f"auth/{unique}/role/app/role-id").json()["data"]["role_id"]
    secret_id = api(dual_target, "POST", f"auth/{unique}/role/app/secret-id").json()["data"]["secret_id"]
    result = strongroom(
        "login", "-method=approle", f"-path={unique}", "-token-only", f"role_id={role_id}", "secret_id=-",
        stdin=secret_id,
    )  # fmt: skip
    assert result.code == 0, result.err
    meta = api(dual_target, "GET", "auth/token/lookup-self", token=result.out).json()["data"]["meta"]
    assert meta == {"role_name": "app"}
    missing = strongroom("login", "-method=approle", f"-path={unique}", "secret_id=x")
    assert (missing.code, missing.err) == (2, "Error authenticating: 'role_id' must be specified\n")


def test_jwt_login(strongroom: Run, dual_target: RunningServer, unique: str) -> None:
    key = rsa_key()
    api(dual_target, "POST", f"sys/auth/{unique}", {"type": "jwt"})
    api(dual_target, "POST", f"auth/{unique}/config", {"jwt_validation_pubkeys": [key.public_pem()]})
    api(
        dual_target, "POST", f"auth/{unique}/role/ci",
        {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["ci"], "token_policies": ["default"]},
    )  # fmt: skip
    jwt = key.sign(claims(subject="builder", aud=["ci"]))
    result = strongroom(
        "login", "-method=jwt", f"-path={unique}", "-token-only", "role=ci", "jwt=-", stdin=jwt
    )
    assert result.code == 0, result.err
    lookup = api(dual_target, "GET", "auth/token/lookup-self", token=result.out).json()["data"]
    assert lookup["path"] == f"auth/{unique}/login"
    assert jwt not in result.out + result.err
