"""Policy names as stored and read back, compared with OpenBao: the same writes to both servers, the same
answers. Policies are keyed trimmed and lower-cased; token roles keep their lists sanitized; the legacy
`policies` field of auth-method users and roles (userpass, AppRole, jwt), and the `.../policies` endpoints,
store what Vault's policyutil.ParsePolicies makes of them; `token_policies` written on a user or role is
stored trimmed, with its case (every login lower-cases it again, and refuses root however spelled)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.servers import RunningServer

RULES = 'path "secret/*" { capabilities = ["read"] }'
# Fields whose values differ between any two servers or runs.
VOLATILE = {"request_id", "modified", "role_id", "lease_id"}


def scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def answer(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, scrub(response.json()) if response.content else None


def policy_writes(client: httpx.Client, tag: str) -> list[tuple[int, Any]]:
    body = {"policy": RULES}
    answers = [answer(client.put(f"/v1/sys/policies/acl/{name}", json=body)) for name in (
        f"{tag}-MyPol", f"%20{tag}-spaced%20", "Root", "%20ROOT", "Response-Wrapping",
    )]  # fmt: skip
    answers.append(answer(client.put(f"/v1/sys/policy/{tag}-Legacy", json=body)))
    for name in (f"{tag}-mypol", f"{tag}-MYPOL", f"%20{tag}-SPACED", f"{tag}-legacy"):
        read = answer(client.get(f"/v1/sys/policies/acl/{name}"))
        answers.append((read[0], read[1]["data"]["name"] if read[0] == 200 else read[1]))
    listed = client.request("LIST", "/v1/sys/policies/acl").json()["data"]["keys"]
    answers.append((200, sorted(k for k in listed if k.startswith(tag))))
    answers += [answer(client.delete(f"/v1/sys/policies/acl/{name}")) for name in ("ROOT", "%20Default")]
    return answers


def token_role_writes(client: httpx.Client, tag: str) -> list[tuple[int, Any]]:
    role = {
        "allowed_policies": [" Dev", "ROOT", "ops "],
        "disallowed_policies": " Prod ,Secret",
        "allowed_policies_glob": [" Team-* "],
        "disallowed_policies_glob": "Admin-*",
    }
    answers = [answer(client.post(f"/v1/auth/token/roles/{tag}", json=role))]
    answers.append(answer(client.get(f"/v1/auth/token/roles/{tag}")))
    client.delete(f"/v1/auth/token/roles/{tag}")
    return answers


# What a write of each method's user or role needs besides its policies.
EXTRA: dict[str, dict[str, Any]] = {
    "userpass": {"password": "pw"},
    "jwt": {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["api"]},
}


def auth_method_writes(client: httpx.Client, tag: str) -> list[tuple[int, Any]]:
    answers = []
    for kind, entry in (("userpass", "users/u"), ("approle", "role/r"), ("jwt", "role/j")):
        mount = f"auth/{tag}-{kind}"
        client.post(f"/v1/sys/{mount}", json={"type": kind})
        extra = EXTRA.get(kind, {})
        for body in (
            {"token_policies": [" Dev", "Ops\t"]},
            {"token_policies": "A , b"},
            {"policies": [" Dev", "Ops\t", "dev"]},
            {"policies": "A , b,ROOT "},
            {"policies": ["x"], "token_policies": [" Y"]},
        ):
            answers.append(answer(client.post(f"/v1/{mount}/{entry}", json={**extra, **body})))
            read = client.get(f"/v1/{mount}/{entry}").json()["data"]
            answers.append((0, {k: read.get(k) for k in ("policies", "token_policies")}))
        for body in ({"token_policies": [" Dev", "OPS"]}, {"policies": "Dev ,ops"}) if kind != "jwt" else ():
            answers.append(answer(client.post(f"/v1/{mount}/{entry}/policies", json=body)))
            read = client.get(f"/v1/{mount}/{entry}").json()["data"]
            answers.append((0, {k: read.get(k) for k in ("policies", "token_policies")}))
        client.delete(f"/v1/sys/{mount}")
    return answers


@pytest.fixture
def clients(server: RunningServer, bao: RunningServer) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    with server.client() as ours, bao.client() as reference:
        yield ours, reference


@pytest.mark.parametrize("writes", [policy_writes, token_role_writes, auth_method_writes])
def test_stored_policy_names_read_back_as_openbaos(
    clients: tuple[httpx.Client, httpx.Client], writes: Any
) -> None:
    ours, reference = clients
    tag = f"n{uuid.uuid4().hex[:6]}"
    assert writes(ours, tag) == writes(reference, tag)
