"""-wrap-ttl and `strongroom unwrap` against strongroom and OpenBao, compared with `bao` on one server."""

from __future__ import annotations

import json
import re

import pytest

from tests.cli.dual import Run, api, bao_cli, dual_target, same, strongroom
from tests.servers import RunningServer

__all__ = ["bao_cli", "dual_target", "strongroom"]

_WRAP_ROWS = re.compile(
    r"Key                              Value\n"
    r"---                              -----\n"
    r"wrapping_token:                  (?P<token>\S+)\n"
    r"wrapping_accessor:               \S+\n"
    r"wrapping_token_ttl:              (?P<ttl>\S+)\n"
    r"wrapping_token_creation_time:    \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC\n"
    r"wrapping_token_creation_path:    (?P<path>\S+)\n"
    r"(?P<wrapped>wrapped_accessor:                \S+\n)?"
)


def _wrapped(server: RunningServer, path: str) -> str:
    """A wrapping token for a GET of `path`, made through the API."""
    with server.client() as http:
        response = http.get(f"/v1/{path}", headers={"X-Vault-Wrap-TTL": "60"})
    assert response.status_code == 200, response.text
    token: str = response.json()["wrap_info"]["token"]
    return token


def test_kv_get_wraps_and_unwrap_returns_the_secret_once(
    strongroom: Run, dual_target: RunningServer, unique: str
) -> None:
    api(dual_target, "PUT", f"secret/data/{unique}", {"data": {"colour": "blue"}})
    wrapped = strongroom("kv", "get", "-wrap-ttl=5m", f"secret/{unique}")
    match = _WRAP_ROWS.fullmatch(wrapped.out)
    assert match, wrapped.out
    assert (match["ttl"], match["path"], match["wrapped"]) == ("5m", f"secret/data/{unique}", None)
    unwrapped = strongroom("unwrap", "-field=data", match["token"])
    assert (unwrapped.code, unwrapped.out) == (0, "map[colour:blue]")
    again = strongroom("unwrap", match["token"])
    assert again.code == 2
    assert again.err.startswith(
        "Error unwrapping: Error making API request.\n\n"
        f"URL: PUT {dual_target.address}/v1/sys/wrapping/unwrap\nCode: 400. Errors:\n\n* "
    )


def test_wrapped_json_has_bao_fields_in_order(strongroom: Run, unique: str) -> None:
    document = json.loads(strongroom("read", "-wrap-ttl=90", "-format=json", "sys/mounts").out)
    assert list(document) == [
        "request_id", "lease_id", "lease_duration", "renewable", "data", "warnings", "wrap_info",
    ]  # fmt: skip
    assert (document["data"], document["lease_id"]) == (None, "")
    wrap = document["wrap_info"]
    assert list(wrap) == ["token", "accessor", "ttl", "creation_time", "creation_path", "wrapped_accessor"]
    assert (wrap["ttl"], wrap["creation_path"], wrap["wrapped_accessor"]) == (90, "sys/mounts", "")


def test_field_wrapping_token_and_unwrap_with_the_wrapping_token_as_own_token(
    strongroom: Run, dual_target: RunningServer
) -> None:
    token = strongroom("read", "-wrap-ttl=1m", "-field=wrapping_token", "sys/mounts").out
    assert token.startswith("s.")
    assert "\n" not in token
    own = strongroom("unwrap", "-format=json", token=token)
    assert own.code == 0, own.err
    assert "secret/" in json.loads(own.out)["data"]


def test_token_create_wrapped_shows_the_wrapped_accessor(strongroom: Run, dual_target: RunningServer) -> None:
    created = strongroom("token", "create", "-policy=default", "-wrap-ttl=2m")
    match = _WRAP_ROWS.fullmatch(created.out)
    assert match, created.out
    assert (match["ttl"], match["path"]) == ("2m", "auth/token/create")
    accessor = match["wrapped"].split()[1]
    unwrapped = json.loads(strongroom("unwrap", "-format=json", match["token"]).out)
    assert unwrapped["auth"]["accessor"] == accessor
    assert unwrapped["auth"]["policies"] == ["default"]


def test_unwrapped_list_and_secret_print_as_bao_prints_them(
    strongroom: Run, bao_cli: Run, dual_target: RunningServer, unique: str
) -> None:
    api(dual_target, "PUT", f"secret/data/{unique}/a", {"data": {"k": "v"}})
    for fmt in ("table", "json", "yaml"):
        same(
            strongroom(
                "unwrap", f"-format={fmt}", _wrapped(dual_target, f"secret/metadata/{unique}?list=true")
            ),
            bao_cli("unwrap", f"-format={fmt}", _wrapped(dual_target, f"secret/metadata/{unique}?list=true")),
        )
    for field in ("data", "nope"):
        same(
            strongroom("unwrap", f"-field={field}", _wrapped(dual_target, f"secret/data/{unique}/a")),
            bao_cli("unwrap", f"-field={field}", _wrapped(dual_target, f"secret/data/{unique}/a")),
        )


def test_list_wrapped(strongroom: Run, dual_target: RunningServer, unique: str) -> None:
    api(dual_target, "PUT", f"secret/data/{unique}/x", {"data": {"k": "v"}})
    listed = strongroom("list", "-wrap-ttl=1m", f"secret/metadata/{unique}")
    match = _WRAP_ROWS.fullmatch(listed.out)
    assert match, listed.out
    assert strongroom("unwrap", match["token"]).out == "Keys\n----\nx\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("read", "-wrap-ttl=abc", "sys/mounts"),
            'invalid value "abc" for flag -wrap-ttl: time: invalid duration "abc"\n',
        ),
        (("unwrap", "a", "b"), "Too many arguments (expected 0-1, got 2)\n"),
    ],
)  # fmt: skip
def test_usage_errors_like_bao(strongroom: Run, bao_cli: Run, args: tuple[str, ...], message: str) -> None:
    ours = strongroom(*args)
    assert (ours.code, ours.out, ours.err) == (1, "", message)
    same(ours, bao_cli(*args))


def test_login_with_wrap_ttl_unwraps_unless_token_only(
    strongroom: Run, dual_target: RunningServer, unique: str
) -> None:
    api(dual_target, "POST", f"sys/auth/{unique}", {"type": "userpass"})
    api(dual_target, "POST", f"auth/{unique}/users/bob", {"password": "pw"})
    login = ("login", "-method=userpass", f"-path={unique}", "-wrap-ttl=1m", "username=bob", "password=pw")
    stored = strongroom(*login, token=None)
    assert stored.code == 0, stored.err
    assert "token_meta_username    bob\n" in stored.out
    wrapping = strongroom(*login, "-token-only", token=None).out
    inner = json.loads(strongroom("unwrap", "-format=json", wrapping).out)
    assert inner["auth"]["metadata"] == {"username": "bob"}
