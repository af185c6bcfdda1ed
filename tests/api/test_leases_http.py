"""sys/leases over real HTTP: lookup, list, renew, revoke (by body, by URL, asynchronously), revoke-prefix,
revoke-force and tidy, with token leases on the dev server and secret leases from a test engine behind the
ASGI app; the legacy sys/renew, sys/revoke, sys/revoke-prefix aliases; sudo rules; bodies and errors
compared with OpenBao's."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from strongroom.builtin.registry import AUTH_METHODS, SECRETS_ENGINES
from strongroom.core.core import Core
from strongroom.http.app import VaultAPI
from strongroom.physical.inmem import InmemBackend
from tests.servers import RunningServer
from tests.unit.leases.engine import MOUNT_TYPE, leasing_factory

ACL_DENIED = {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}
LEASES_ONLY = 'path "sys/leases/*" { capabilities = ["create", "read", "update", "list", "delete"] }'


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _list(client: httpx.Client, prefix: str) -> httpx.Response:
    return client.request("LIST", f"/v1/sys/leases/lookup/{prefix}")


def _role_tokens(client: httpx.Client, count: int, ttl: str = "1h") -> tuple[str, list[str], list[str]]:
    """Tokens made against a fresh role, so their leases sit under a prefix of their own:
    (the prefix, the tokens, their lease IDs)."""
    role = _name("leases")
    client.post(f"/v1/auth/token/roles/{role}", json={}).raise_for_status()
    tokens = []
    for _ in range(count):
        answer = client.post(f"/v1/auth/token/create/{role}", json={"ttl": ttl})
        assert answer.status_code == 200, answer.text
        tokens.append(answer.json()["auth"]["client_token"])
    prefix = f"auth/token/create/{role}"
    listed = _list(client, prefix)
    assert listed.status_code == 200, listed.text
    return prefix, tokens, [f"{prefix}/{key}" for key in listed.json()["data"]["keys"]]


def _usable(server: RunningServer, token: str) -> bool:
    with server.client(token) as client:
        return client.get("/v1/auth/token/lookup-self").status_code == 200


def test_a_token_lease_is_looked_up_as_openbao_shows_it(root: httpx.Client) -> None:
    prefix, _, (lease_id,) = _role_tokens(root, 1)
    answer = root.put("/v1/sys/leases/lookup", json={"lease_id": lease_id})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["lease_id"], body["lease_duration"], body["renewable"], body["auth"]) == ("", 0, False, None)
    data = body["data"]
    assert sorted(data) == ["expire_time", "id", "issue_time", "last_renewal", "path", "renewable", "ttl"]
    assert (data["id"], data["path"], data["renewable"], data["last_renewal"]) == (
        lease_id,
        prefix,
        True,
        None,
    )
    assert 3590 <= data["ttl"] <= 3600
    assert data["expire_time"].endswith("Z")
    assert data["issue_time"].endswith("Z")


def test_renewing_the_token_renews_its_lease(root: httpx.Client) -> None:
    _, (token,), (lease_id,) = _role_tokens(root, 1, ttl="10m")
    root.post("/v1/auth/token/renew", json={"token": token, "increment": "2h"}).raise_for_status()
    data = root.put("/v1/sys/leases/lookup", json={"lease_id": lease_id}).json()["data"]
    assert 7190 <= data["ttl"] <= 7200
    assert data["last_renewal"] is not None


def test_a_login_token_gets_a_lease_under_its_login_path(server: RunningServer, root: httpx.Client) -> None:
    mount = _name("userpass")
    root.post(f"/v1/sys/auth/{mount}", json={"type": "userpass"}).raise_for_status()
    root.post(f"/v1/auth/{mount}/users/bob", json={"password": "pw", "token_ttl": "15m"}).raise_for_status()
    login = httpx.post(f"{server.address}/v1/auth/{mount}/login/bob", json={"password": "pw"})
    assert login.status_code == 200
    (key,) = _list(root, f"auth/{mount}/login/bob").json()["data"]["keys"]
    data = root.put("/v1/sys/leases/lookup", json={"lease_id": f"auth/{mount}/login/bob/{key}"}).json()[
        "data"
    ]
    assert (data["path"], data["renewable"]) == (f"auth/{mount}/login/bob", True)
    assert 890 <= data["ttl"] <= 900
    root.put(f"/v1/sys/leases/revoke-prefix/auth/{mount}").raise_for_status()
    assert not _usable(server, login.json()["auth"]["client_token"])


def test_a_token_lease_cannot_be_renewed_through_sys_leases(root: httpx.Client) -> None:
    _, _, (lease_id,) = _role_tokens(root, 1)
    for path, body in (
        ("sys/leases/renew", {"lease_id": lease_id}),
        (f"sys/leases/renew/{lease_id}", {}),
        ("sys/renew", {"lease_id": lease_id}),
        (f"sys/renew/{lease_id}", {"increment": 60}),
    ):
        answer = root.put(f"/v1/{path}", json=body)
        assert (answer.status_code, answer.json()) == (
            400,
            {"errors": ["tokens cannot be renewed through this endpoint"]},
        ), path


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("sys/leases/revoke", "body"),
        ("sys/leases/revoke/{lease_id}", None),
        ("sys/revoke", "body"),
        ("sys/revoke/{lease_id}", None),
    ],
)
def test_revoking_a_token_lease_revokes_the_token(
    server: RunningServer, root: httpx.Client, path: str, body: str | None
) -> None:
    _, (token,), (lease_id,) = _role_tokens(root, 1)
    answer = root.put(f"/v1/{path.format(lease_id=lease_id)}", json={"lease_id": lease_id} if body else {})
    assert (answer.status_code, answer.content) == (204, b"")
    assert not _usable(server, token)
    gone = root.put("/v1/sys/leases/lookup", json={"lease_id": lease_id})
    assert (gone.status_code, gone.json()) == (400, {"errors": ["invalid lease"]})


def test_an_asynchronous_revoke_answers_202_and_revokes_soon(
    server: RunningServer, root: httpx.Client
) -> None:
    _, (token,), (lease_id,) = _role_tokens(root, 1)
    answer = root.put("/v1/sys/leases/revoke", json={"lease_id": lease_id, "sync": False})
    assert (answer.status_code, answer.content) == (202, b"")
    deadline = time.monotonic() + 2
    while _usable(server, token) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _usable(server, token)


@pytest.mark.parametrize("path", ["sys/leases/revoke-prefix", "sys/revoke-prefix", "sys/leases/revoke-force"])
def test_revoke_prefix_revokes_every_lease_under_it(
    server: RunningServer, root: httpx.Client, path: str
) -> None:
    prefix, tokens, _ = _role_tokens(root, 2)
    _, bystanders, _ = _role_tokens(root, 1)
    answer = root.put(f"/v1/{path}/{prefix}")
    assert (answer.status_code, answer.content) == (204, b"")
    assert [_usable(server, token) for token in tokens] == [False, False]
    assert _usable(server, bystanders[0])
    assert _list(root, prefix).status_code == 404


def test_listing_walks_the_lease_tree(root: httpx.Client) -> None:
    prefix, _, leases = _role_tokens(root, 2)
    role = prefix.rsplit("/", 1)[1]
    assert f"{role}/" in _list(root, "auth/token/create/").json()["data"]["keys"]
    assert _list(root, "").json()["data"]["keys"][0] == "auth/"
    listed = _list(root, prefix + "/").json()["data"]["keys"]
    assert sorted(listed) == sorted(lease.rsplit("/", 1)[1] for lease in leases)
    assert _list(root, "nothing-here/").status_code == 404
    assert _list(root, "nothing-here/").json() == {"errors": []}


def test_listing_and_prefix_revocation_need_sudo(server: RunningServer, root: httpx.Client) -> None:
    policy = _name("leases-only")
    root.put(f"/v1/sys/policies/acl/{policy}", json={"policy": LEASES_ONLY}).raise_for_status()
    token = root.post("/v1/auth/token/create", json={"policies": [policy], "ttl": "10m"}).json()["auth"]
    prefix, tokens, (lease_id,) = _role_tokens(root, 1)
    with server.client(token["client_token"]) as limited:
        assert _list(limited, "auth/").json() == ACL_DENIED
        for path in (f"sys/leases/revoke-prefix/{prefix}", f"sys/leases/revoke-force/{prefix}"):
            denied = limited.put(f"/v1/{path}")
            assert (denied.status_code, denied.json()) == (403, ACL_DENIED)
        assert limited.put("/v1/sys/leases/lookup", json={"lease_id": lease_id}).status_code == 200
        assert limited.put("/v1/sys/leases/tidy").status_code == 202
    assert _usable(server, tokens[0])


def test_tidy_answers_202_with_vaults_warning(root: httpx.Client) -> None:
    answer = root.put("/v1/sys/leases/tidy")
    assert answer.status_code == 202
    assert answer.json()["warnings"] == [
        "Tidy operation successfully started. Any information from the operation will be printed to "
        "strongroom's server logs."
    ]


# Requests whose answers OpenBao and strongroom must give alike (OpenBao 2.x no longer serves the legacy
# sys/renew and sys/revoke aliases, so they are not compared).
SAME_AS_OPENBAO = [
    ("PUT", "sys/leases/lookup", {}),
    ("PUT", "sys/leases/lookup", {"lease_id": ""}),
    ("PUT", "sys/leases/lookup", {"lease_id": "nope/abc"}),
    ("GET", "sys/leases/lookup/nope", None),
    ("LIST", "sys/leases/lookup/nope/", None),
    ("PUT", "sys/leases/renew", {}),
    ("PUT", "sys/leases/renew", {"lease_id": "nope/abc"}),
    ("PUT", "sys/leases/renew/nope/abc", {}),
    ("PUT", "sys/leases/revoke", {}),
    ("PUT", "sys/leases/revoke", {"lease_id": "nope/abc"}),
    ("PUT", "sys/leases/revoke/nope/abc", {}),
    ("PUT", "sys/leases/revoke", {"lease_id": "nope/abc", "sync": False}),
    ("PUT", "sys/leases/revoke-prefix/nope", {}),
    ("PUT", "sys/leases/revoke-prefix/nope", {"sync": False}),
    ("PUT", "sys/leases/revoke-force/nope", {}),
    ("PUT", "sys/leases/revoke-prefix", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), SAME_AS_OPENBAO)
def test_answers_match_openbao(
    server: RunningServer, bao: RunningServer, method: str, path: str, body: dict[str, Any] | None
) -> None:
    answers = []
    for target in (server, bao):
        with target.client() as client:
            answer = client.request(method, f"/v1/{path}", json=body)
        answers.append((answer.status_code, answer.json() if answer.content else None))
    assert answers[0] == answers[1]


def test_a_token_lease_has_the_same_shape_as_openbaos(server: RunningServer, bao: RunningServer) -> None:
    shapes = []
    for target in (server, bao):
        with target.client() as client:
            # Other suites may leave orphan tokens behind on the shared servers: take the one made here.
            before = set(_list(client, "auth/token/create-orphan/").json().get("data", {}).get("keys", []))
            token = client.post("/v1/auth/token/create-orphan", json={"ttl": "1h"}).json()["auth"][
                "client_token"
            ]
            (key,) = set(_list(client, "auth/token/create-orphan/").json()["data"]["keys"]) - before
            lease_id = f"auth/token/create-orphan/{key}"
            body = client.put("/v1/sys/leases/lookup", json={"lease_id": lease_id}).json()
            client.put("/v1/sys/leases/revoke", json={"lease_id": lease_id}).raise_for_status()
            assert client.post("/v1/auth/token/lookup", json={"token": token}).status_code == 403
        data = body.pop("data")
        body.pop("request_id")
        shapes.append((body, sorted(data), data["path"], data["renewable"], data["last_renewal"], key[0]))
    assert shapes[0] == shapes[1]


# Secret leases: a test engine that issues leased credentials, mounted in a core served by the ASGI app.


@pytest.fixture
async def asgi() -> AsyncIterator[httpx.AsyncClient]:
    core = Core(
        InmemBackend(), {"mounts": {**SECRETS_ENGINES, MOUNT_TYPE: leasing_factory}, "auth": AUTH_METHODS}
    )
    result = await core.initialize(1, 1)
    await core.unseal(result.keys[0])
    transport = httpx.ASGITransport(app=VaultAPI(core))
    headers = {"X-Vault-Token": result.root_token}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://strongroom", headers=headers
    ) as client:
        mounted = await client.post(
            "/v1/sys/mounts/leasing", json={"type": MOUNT_TYPE, "config": {"max_lease_ttl": "1h"}}
        )
        assert mounted.status_code == 204
        yield client
    await core.seal()


async def test_a_leased_secret_shows_its_lease_in_the_body(asgi: httpx.AsyncClient) -> None:
    answer = await asgi.get("/v1/leasing/creds/ro", params={"ttl": "10m"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["lease_id"].startswith("leasing/creds/ro/")
    assert (body["lease_duration"], body["renewable"]) == (600, True)
    assert sorted(body["data"]) == ["password", "username"]


async def test_renewing_a_secret_answers_with_its_lease(asgi: httpx.AsyncClient) -> None:
    lease_id = (await asgi.get("/v1/leasing/creds/ro", params={"ttl": "10m"})).json()["lease_id"]
    answer = await asgi.put("/v1/sys/leases/renew", json={"lease_id": lease_id, "increment": "2h"})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["lease_id"], body["renewable"]) == (lease_id, True)
    assert 3598 <= body["lease_duration"] <= 3600
    assert body["warnings"][0].startswith('TTL of "2h" exceeded the effective max_ttl of')
    looked_up = (await asgi.put("/v1/sys/leases/lookup", json={"lease_id": lease_id})).json()["data"]
    assert looked_up["last_renewal"] is not None
    assert looked_up["path"] == "leasing/creds/ro"


async def test_revoking_a_secret_reaches_the_engine(asgi: httpx.AsyncClient) -> None:
    issued = (await asgi.get("/v1/leasing/creds/ro")).json()
    answer = await asgi.put(f"/v1/sys/leases/revoke/{issued['lease_id']}")
    assert answer.status_code == 204
    revoked = await asgi.request("LIST", "/v1/leasing/revoked/")
    assert revoked.json()["data"]["keys"] == [issued["data"]["username"]]


async def test_a_secret_the_engine_cannot_revoke_needs_revoke_force(asgi: httpx.AsyncClient) -> None:
    lease_id = (await asgi.get("/v1/leasing/creds/ro", params={"fail_revoke": True})).json()["lease_id"]
    refused = await asgi.put("/v1/sys/leases/revoke-prefix/leasing")
    assert (refused.status_code, refused.json()) == (
        400,
        {"errors": ["failed to revoke entry: the database refused to drop the user"]},
    )
    assert (await asgi.put("/v1/sys/leases/revoke-force/leasing")).status_code == 204
    gone = await asgi.put("/v1/sys/leases/lookup", json={"lease_id": lease_id})
    assert gone.json() == {"errors": ["invalid lease"]}
