"""Advisories about logins and token issuance.

HCSEC-2024-11 / CVE-2024-5798 (OpenBao 2.0.0, GH-263): a JWT whose `aud` was a single string was not held
to the role's `bound_audiences`.
GHSA-7j6w-vvw2-5f9c / CVE-2026-46405 (OpenBao 2.5.4): an auth endpoint answering an error together with an
Auth got a token issued anyway.
HCSEC-2023-07 / CVE-2023-24999: destroying a secret ID through one AppRole role reached another role's.
HCSEC-2025-13 / CVE-2025-5999 (OpenBao GH-1627): a policy name differing from `root` only by case or
surrounding space reached the root policy (there through identity; here through token roles and the policy
store, which strongroom has).
HCSEC-2025-16 / CVE-2025-6004 / CVE-2025-54998: the userpass lockout counted failures per spelling of the
name, so `ALICE` kept guessing after `alice` was locked.
HCSEC-2025-15 / CVE-2025-6011 / CVE-2025-54999 (and HCSEC-2025-21 / CVE-2025-6010): userpass answered an
unknown user faster than a wrong password, which tells an attacker which users exist.
"""

from __future__ import annotations

import statistics
import time

import httpx
import pytest

from tests.jwks import claims, rsa_key
from tests.security.advisories import (
    BOTH,
    enable_auth,
    errors_of,
    ok,
    target,
    token_with,
    unique,
    write_policy,
)
from tests.servers import RunningServer


@BOTH
def test_hcsec_2024_11_cve_2024_5798_jwt_single_string_audience_is_bound(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    key = rsa_key()
    with running.client() as root:
        mount = enable_auth(root, "jwt")
        ok(root.post(f"/v1/auth/{mount}/config", json={"jwt_validation_pubkeys": [key.public_pem()]}))
        ok(root.post(f"/v1/auth/{mount}/role/bound", json={
            "role_type": "jwt", "user_claim": "sub", "bound_audiences": ["strongroom"],
            "policies": ["default"],
        }))  # fmt: skip
        ok(root.post(f"/v1/auth/{mount}/role/unbound", json={
            "role_type": "jwt", "user_claim": "sub", "bound_subject": "alice", "policies": ["default"],
        }))  # fmt: skip

    def login(role: str, audience: object) -> httpx.Response:
        token = key.sign(claims(aud=audience))
        return httpx.post(
            f"{running.address}/v1/auth/{mount}/login", json={"role": role, "jwt": token}, timeout=10
        )

    assert login("bound", "strongroom").status_code == 200
    assert login("bound", ["strongroom"]).status_code == 200
    for role, audience in (("bound", "elsewhere"), ("bound", ["elsewhere"]), ("unbound", "elsewhere")):
        refused = login(role, audience)
        assert refused.status_code == 400, (role, audience, refused.text)
        assert "auth" not in refused.json() or refused.json()["auth"] is None


def _accessor_count(root: httpx.Client) -> int:
    return len(ok(root.request("LIST", "/v1/auth/token/accessors")).json()["data"]["keys"])


@BOTH
def test_ghsa_7j6w_vvw2_5f9c_cve_2026_46405_failed_login_issues_no_token(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    key, stranger = rsa_key(), rsa_key("other")
    with running.client() as root:
        userpass = enable_auth(root, "userpass")
        ok(root.post(f"/v1/auth/{userpass}/users/alice", json={"password": "right-password"}))
        approle = enable_auth(root, "approle")
        ok(root.post(f"/v1/auth/{approle}/role/app", json={"token_policies": ["default"]}))
        role_id = ok(root.get(f"/v1/auth/{approle}/role/app/role-id")).json()["data"]["role_id"]
        jwt_mount = enable_auth(root, "jwt")
        ok(root.post(f"/v1/auth/{jwt_mount}/config", json={"jwt_validation_pubkeys": [key.public_pem()]}))
        ok(root.post(f"/v1/auth/{jwt_mount}/role/r", json={
            "role_type": "jwt", "user_claim": "sub", "bound_audiences": ["a"], "policies": ["default"],
        }))  # fmt: skip
        before = _accessor_count(root)
        attempts = [
            (f"auth/{userpass}/login/alice", {"password": "wrong"}),
            (f"auth/{userpass}/login/nobody", {"password": "wrong"}),
            (f"auth/{approle}/login", {"role_id": role_id, "secret_id": "not-a-secret-id"}),
            (f"auth/{approle}/login", {"role_id": "not-a-role-id"}),
            (f"auth/{jwt_mount}/login", {"role": "r", "jwt": stranger.sign(claims(aud="a"))}),
            (f"auth/{jwt_mount}/login", {"role": "r", "jwt": key.sign(claims(aud="a", lifetime=-60))}),
            (f"auth/{jwt_mount}/login", {"role": "missing", "jwt": key.sign(claims(aud="a"))}),
        ]
        for path, body in attempts:
            answer = httpx.post(f"{running.address}/v1/{path}", json=body, timeout=10)
            assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text)
            assert errors_of(answer), (path, answer.text)
            assert "client_token" not in answer.text, (path, answer.text)
        assert _accessor_count(root) == before


@BOTH
def test_hcsec_2023_07_cve_2023_24999_approle_secret_id_destroy_stays_in_its_role(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    with running.client() as root:
        mount = enable_auth(root, "approle")
        for role in ("mine", "theirs"):
            ok(root.post(f"/v1/auth/{mount}/role/{role}", json={"token_policies": ["default"]}))
        role_id = ok(root.get(f"/v1/auth/{mount}/role/theirs/role-id")).json()["data"]["role_id"]
        issued = ok(root.post(f"/v1/auth/{mount}/role/theirs/secret-id")).json()["data"]
        # The attacker may manage secret IDs of its own role only.
        policy = write_policy(root, f'path "auth/{mount}/role/mine/*" {{ capabilities = ["update"] }}\n')
        token = token_with(root, [policy])
    with running.client(token) as client:
        client.post(f"/v1/auth/{mount}/role/mine/secret-id/destroy", json={"secret_id": issued["secret_id"]})
        client.post(
            f"/v1/auth/{mount}/role/mine/secret-id-accessor/destroy",
            json={"secret_id_accessor": issued["secret_id_accessor"]},
        )
    login = httpx.post(
        f"{running.address}/v1/auth/{mount}/login",
        json={"role_id": role_id, "secret_id": issued["secret_id"]},
        timeout=10,
    )
    assert login.status_code == 200, login.text


@BOTH
def test_hcsec_2025_13_cve_2025_5999_root_by_case_through_token_roles(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    with running.client() as root:
        # An operator who may manage token roles and create tokens from them, and nothing else.
        policy = write_policy(
            root,
            'path "auth/token/roles/*" { capabilities = ["create", "update", "read"] }\n'
            'path "auth/token/create/*" { capabilities = ["create", "update"] }\n',
        )
        operator = token_with(root, [policy])
    with running.client(operator) as client:
        for spelling in ("root", "Root", "ROOT", " root", "root\t"):
            role = unique("role")
            client.post(f"/v1/auth/token/roles/{role}", json={"allowed_policies": [spelling]})
            created = client.post(f"/v1/auth/token/create/{role}", json={"policies": [spelling]})
            if created.status_code >= 400:
                continue
            issued = created.json()["auth"]
            assert "root" not in [p.strip().lower() for p in issued["policies"]], (spelling, issued)
            with running.client(issued["client_token"]) as minted:
                assert minted.get("/v1/sys/policies/acl/root").status_code == 403, spelling


@BOTH
def test_hcsec_2025_13_cve_2025_5999_policy_store_names_are_folded(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    with running.client() as root:
        for spelling in ("Root", "ROOT", " root"):
            answer = root.put(
                f"/v1/sys/policies/acl/{spelling}", json={"policy": 'path "*" { capabilities = ["read"] }'}
            )
            assert answer.status_code == 400, (spelling, answer.text)
        rules = ok(root.get("/v1/sys/policies/acl/root")).json()["data"]["policy"]
        assert rules == ""


def _lockout_userpass(root: httpx.Client) -> str:
    mount = enable_auth(root, "userpass")
    ok(root.post(f"/v1/sys/auth/{mount}/tune", json={"user_lockout_config": {
        "lockout_threshold": "3", "lockout_duration": "1h", "lockout_counter_reset_duration": "1h",
    }}))  # fmt: skip
    ok(root.post(f"/v1/auth/{mount}/users/alice", json={"password": "right-password"}))
    return mount


def _login(running: RunningServer, mount: str, name: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{running.address}/v1/auth/{mount}/login/{name}", json={"password": password}, timeout=10
    )


@BOTH
def test_hcsec_2025_16_cve_2025_6004_lockout_not_bypassed_by_case(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    with running.client() as root:
        locked_by_alice = _lockout_userpass(root)
        spread_over_spellings = _lockout_userpass(root)
    # Locked by three failures as `alice`: another spelling of the name does not get fresh guesses.
    for _ in range(3):
        assert _login(running, locked_by_alice, "alice", "wrong").status_code == 400
    for spelling in ("ALICE", "Alice", "aLiCe"):
        answer = _login(running, locked_by_alice, spelling, "right-password")
        assert answer.status_code >= 400, (spelling, answer.text)
        assert "client_token" not in answer.text
    # Three failures spread over spellings lock the one user too.
    for spelling in ("ALICE", "Alice", "aLiCe"):
        assert _login(running, spread_over_spellings, spelling, "wrong").status_code == 400
    answer = _login(running, spread_over_spellings, "alice", "right-password")
    assert answer.status_code >= 400, answer.text
    assert "client_token" not in answer.text


@BOTH
def test_hcsec_2025_15_cve_2025_6011_unknown_user_answers_as_slowly_as_wrong_password(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    with running.client() as root:
        mount = enable_auth(root, "userpass")
        ok(root.post(f"/v1/sys/auth/{mount}/tune", json={"user_lockout_config": {"lockout_disable": True}}))
        ok(root.post(f"/v1/auth/{mount}/users/alice", json={"password": "right-password"}))
    known: list[float] = []
    unknown: list[float] = []
    with httpx.Client(base_url=running.address, timeout=10) as client:
        for i in range(12):
            for name, into in (("alice", known), (f"nobody{i}", unknown)):
                started = time.perf_counter()
                answer = client.post(f"/v1/auth/{mount}/login/{name}", json={"password": "wrong"})
                into.append(time.perf_counter() - started)
                assert answer.status_code == 400, answer.text
    # A password hash takes milliseconds; answering an unknown user without one is an order of
    # magnitude faster, far outside this band even on a loaded machine.
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.4 < ratio < 2.5, (statistics.median(known), statistics.median(unknown))
