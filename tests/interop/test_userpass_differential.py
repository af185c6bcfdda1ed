"""Differential test of userpass: one script of requests to strongroom and to OpenBao, answers compared.

Runs on the session servers (a fresh mount of its own on each), so it asks sys/locked-users only about its
own mount. Every difference kept on purpose is in INTENDED with its reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.interop.differential import Answer, Intended, Step, assert_alike, run
from tests.servers import RunningServer

M = "diffuserpass"
USERS = f"auth/{M}/users"
LOGIN = f"auth/{M}/login"


def get(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "GET", f"/v1/{path}", **kw)


def post(name: str, path: str, body: Any = None, **kw: Any) -> Step:
    return Step(name, "POST", f"/v1/{path}", body={} if body is None else body, **kw)


def delete(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "DELETE", f"/v1/{path}", **kw)


def lst(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "LIST", f"/v1/{path}", **kw)


LOCKOUT = {"lockout_threshold": "2", "lockout_duration": "60s"}
BOB_LEGACY = {
    "password": "pw-b",
    "policies": "P3, a",
    "ttl": 60,
    "max_ttl": "2h",
    "bound_cidrs": "127.0.0.1/32",
}

STEPS: list[Step] = [
    post("enable", f"sys/auth/{M}", {"type": "userpass"}),
    get("mount read", f"sys/auth/{M}", save={"acc": "data.accessor"}),
    get("tune read before lockout config", f"sys/auth/{M}/tune"),
    lst("list empty", USERS),
    post("create alice", f"{USERS}/Alice", {"password": "pw-a", "token_policies": "dev", "token_ttl": "1h"}),
    get("read alice", f"{USERS}/alice"),
    get("read alice upper", f"{USERS}/ALICE"),
    post("create bob legacy", f"{USERS}/bob", BOB_LEGACY),
    get("read bob legacy", f"{USERS}/bob"),
    post("bob token fields", f"{USERS}/bob", {"token_policies": "p4", "token_bound_cidrs": "10.0.0.0/8"}),
    get("read bob token fields", f"{USERS}/bob"),
    lst("list users", USERS),
    post("create without password", f"{USERS}/carol", {}),
    post("create empty password", f"{USERS}/carol", {"password": ""}),
    post("bad token_type", f"{USERS}/carol", {"password": "x", "token_type": "weird"}),
    post("ttl over max", f"{USERS}/carol", {"password": "x", "token_ttl": "2h", "token_max_ttl": "1h"}),
    post("batch with period", f"{USERS}/carol", {"password": "x", "token_type": "batch", "token_period": 60}),
    post("bad cidr", f"{USERS}/carol", {"password": "x", "token_bound_cidrs": "nope"}),
    post("bad username", f"{USERS}/a.b-c_d@e", {"password": "x"}),
    get("read missing", f"{USERS}/carol"),
    post("password of missing user", f"{USERS}/carol/password", {"password": "y"}),
    post("empty password change", f"{USERS}/bob/password", {}),
    post("password change", f"{USERS}/bob/password", {"password": "pw-b2"}),
    post("policies of missing user", f"{USERS}/carol/policies", {"policies": "a"}),
    post("policies change", f"{USERS}/bob/policies", {"policies": "Z,y"}),
    get("read bob after policies", f"{USERS}/bob"),
    get("read on password path", f"{USERS}/bob/password"),
    post("login alice", f"{LOGIN}/alice", {"password": "pw-a"}, token="", save={"tok": "auth.client_token"}),
    get("alice lookup-self", "auth/token/lookup-self", token="${tok}"),
    get("alice cannot read users", f"{USERS}/alice", token="${tok}"),
    post("login wrong password", f"{LOGIN}/alice", {"password": "nope"}, token=""),
    post("login unknown user", f"{LOGIN}/nobody", {"password": "nope"}, token=""),
    post("login missing password", f"{LOGIN}/alice", {}, token=""),
    post("login outside bound cidrs", f"{LOGIN}/bob", {"password": "pw-b2"}, token=""),
    post("tune lockout", f"sys/auth/{M}/tune", {"user_lockout_config": LOCKOUT}),
    get("tune read with lockout", f"sys/auth/{M}/tune"),
    get("mount read with lockout", f"sys/auth/{M}"),
    post("tune lockout on token", "sys/auth/token/tune", {"user_lockout_config": {"lockout_threshold": "3"}}),
    post("tune bad threshold", f"sys/auth/{M}/tune", {"user_lockout_config": {"lockout_threshold": "x"}}),
    post("tune bad duration", f"sys/auth/{M}/tune", {"user_lockout_config": {"lockout_duration": "xx"}}),
    post("fail 1", f"{LOGIN}/alice", {"password": "bad"}, token=""),
    post("fail 2", f"{LOGIN}/alice", {"password": "bad"}, token=""),
    post("locked out", f"{LOGIN}/alice", {"password": "pw-a"}, token=""),
    get("locked users", "sys/locked-users?mount_accessor=${acc}"),
    post("unlock", "sys/locked-users/${acc}/unlock/alice"),
    get("locked users after unlock", "sys/locked-users?mount_accessor=${acc}"),
    post("login after unlock", f"{LOGIN}/alice", {"password": "pw-a"}, token=""),
    delete("delete bob", f"{USERS}/BOB"),
    delete("delete missing", f"{USERS}/nobody"),
    lst("list after delete", USERS),
    delete("disable", f"sys/auth/{M}"),
]  # fmt: skip

_NEVER_500 = "OpenBao answers 500 for this bad input; strongroom answers 400 with the same words"
INTENDED: list[Intended] = [
    Intended("password of missing user", "status", _NEVER_500),
    Intended(
        "password of missing user", "errors[0]", "Vault's multierror wrapping of a 500; plain message here"
    ),
    Intended("policies of missing user", "status", _NEVER_500),
    Intended(
        "policies of missing user", "errors[0]", "Vault's multierror wrapping of a 500; plain message here"
    ),
    Intended("login missing password", "status", _NEVER_500),
]


@pytest.fixture(scope="module")
def answers(server: RunningServer, bao: RunningServer) -> tuple[list[Answer], list[Answer]]:
    return run(server, STEPS), run(bao, STEPS)


def test_script_is_broad_and_names_are_unique() -> None:
    names = [step.name for step in STEPS]
    assert len(names) >= 30
    assert len(set(names)) == len(names)


def test_userpass_answers_as_openbao_does(answers: tuple[list[Answer], list[Answer]]) -> None:
    ours, theirs = answers
    assert_alike(STEPS, ours, theirs, INTENDED)
