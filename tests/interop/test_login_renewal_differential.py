"""Differential test of renewing login tokens (AppRole and userpass): one script of logins, role and user
changes, and renewals sent to strongroom and to OpenBao, the whole answers compared field by field.

Runs on the session servers, on mounts of its own that it disables at the end.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.interop.differential import Answer, Intended, Step, assert_alike, run
from tests.servers import RunningServer

AR = "auth/diffrenewapprole"
UP = "auth/diffrenewuserpass"


def get(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "GET", f"/v1/{path}", **kw)


def post(name: str, path: str, body: Any = None, **kw: Any) -> Step:
    return Step(name, "POST", f"/v1/{path}", body={} if body is None else body, **kw)


def delete(name: str, path: str) -> Step:
    return Step(name, "DELETE", f"/v1/{path}")


def renew(name: str, token: str, **body: Any) -> Step:
    return post(name, "auth/token/renew", {"token": f"${{{token}}}", **body})


START = {"token_policies": "p1", "token_ttl": "1h", "token_max_ttl": "4h"}

APPROLE: list[Step] = [
    post("approle enable", f"sys/auth/{AR.removeprefix('auth/')}", {"type": "approle"}),
    post("approle role", f"{AR}/role/app", START),
    get("approle role-id", f"{AR}/role/app/role-id", save={"rid": "data.role_id"}),
    post("approle secret-id", f"{AR}/role/app/secret-id", save={"sid": "data.secret_id"}),
    post(
        "approle login",
        f"{AR}/login",
        {"role_id": "${rid}", "secret_id": "${sid}"},
        token="",
        save={"at": "auth.client_token", "aa": "auth.accessor"},
    ),
    renew("approle renew", "at"),
    post("approle shorter ttl", f"{AR}/role/app", {"token_ttl": "10m"}),
    renew("approle renew shorter", "at"),
    post("approle renew-self", "auth/token/renew-self", token="${at}"),
    post("approle new policies", f"{AR}/role/app", {"token_policies": "p2"}),
    renew("approle renew new policies", "at"),
    post("approle period", f"{AR}/role/app", {"token_period": "5m"}),
    renew("approle renew periodic", "at", increment="1h"),
    delete("approle delete role", f"{AR}/role/app"),
    renew("approle renew deleted role", "at"),
    post("approle renew-accessor deleted role", "auth/token/renew-accessor", {"accessor": "${aa}"}),
    post("approle renew-self deleted role", "auth/token/renew-self", token="${at}"),
    post("approle lookup after refusals", "auth/token/lookup", {"token": "${at}"}),
    delete("approle disable", f"sys/auth/{AR.removeprefix('auth/')}"),
]  # fmt: skip

USERPASS: list[Step] = [
    post("userpass enable", f"sys/auth/{UP.removeprefix('auth/')}", {"type": "userpass"}),
    post("userpass user", f"{UP}/users/bob", {"password": "pw", **START}),
    post("userpass login", f"{UP}/login/bob", {"password": "pw"}, token="", save={"ut": "auth.client_token"}),
    renew("userpass renew", "ut"),
    post("userpass same policies", f"{UP}/users/bob", {"token_policies": "default,p1", "token_ttl": "20m"}),
    renew("userpass renew same policies", "ut"),
    post("userpass upper-case policy", f"{UP}/users/bob", {"token_policies": "P1"}),
    renew("userpass renew upper-case policy", "ut"),
    post("userpass more policies", f"{UP}/users/bob", {"token_policies": "p1,p2"}),
    renew("userpass renew more policies", "ut"),
    post("userpass policies endpoint", f"{UP}/users/bob/policies", {"token_policies": "p1"}),
    renew("userpass renew policies restored", "ut"),
    delete("userpass delete user", f"{UP}/users/bob"),
    renew("userpass renew deleted user", "ut"),
    post("userpass lookup after deletion", "auth/token/lookup", {"token": "${ut}"}),
    delete("userpass disable", f"sys/auth/{UP.removeprefix('auth/')}"),
]  # fmt: skip

STEPS: list[Step] = [*APPROLE, *USERPASS]

_NEVER_500 = "OpenBao answers an auth method's refusal to renew with a 500; strongroom with a 400, same words"
INTENDED: list[Intended] = [
    *(
        Intended(step, "status", _NEVER_500)
        for step in (
            "approle renew deleted role",
            "approle renew-accessor deleted role",
            "approle renew-self deleted role",
            "userpass renew upper-case policy",
            "userpass renew more policies",
        )
    ),
]


@pytest.fixture(scope="module")
def answers(server: RunningServer, bao: RunningServer) -> tuple[list[Answer], list[Answer]]:
    return run(server, STEPS), run(bao, STEPS)


def test_script_names_are_unique() -> None:
    names = [step.name for step in STEPS]
    assert len(set(names)) == len(names)


def test_login_renewal_answers_as_openbao_does(answers: tuple[list[Answer], list[Answer]]) -> None:
    ours, theirs = answers
    assert_alike(STEPS, ours, theirs, INTENDED)


def test_the_script_saw_the_renewal_rules(answers: tuple[list[Answer], list[Answer]]) -> None:
    ours, _ = answers
    by_name = {step.name: answer for step, answer in zip(STEPS, ours, strict=True)}
    assert by_name["approle renew shorter"].body["auth"]["lease_duration"] == 600
    assert by_name["approle renew periodic"].body["auth"]["lease_duration"] == 300
    assert by_name["approle renew deleted role"].status == 400
    assert by_name["userpass renew same policies"].body["auth"]["lease_duration"] == 1200
    assert by_name["userpass renew more policies"].status == 400
    assert (by_name["userpass renew deleted user"].status, by_name["userpass renew deleted user"].body) == (
        204,
        None,
    )
