"""Case 3 of issue 18: a token that may only edit an auth method's users or roles must not mint a root token.

The attack: a token whose policy grants writes on `auth/<mount>/users/*` (userpass) or `auth/<mount>/role/*`
(AppRole, jwt) gives a user or role the policy "root" (spelled "Root", "ROOT", " root", "root\\t", ...),
logs in, and would hold a root token. OpenBao refuses the login with 400 "auth methods cannot create root
tokens", and so must strongroom, for every auth method and every spelling, storing nothing (no token, no
lease). Token creation keeps its subset rule against the same spellings, and a renewal never adds a policy.

Black-box over real HTTP; every test runs against strongroom and OpenBao with the same assertions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.jwks import claims, rsa_key
from tests.servers import RunningServer

ROOT_SPELLINGS = ["root", "Root", "ROOT", " root", "root\t"]
REFUSED = (400, {"errors": ["auth methods cannot create root tokens"]})
KEY = rsa_key("case3-rsa")
ISSUER = "https://issuer.example"
# Where each method keeps what a login's policies come from, and the name of the one the test uses.
ENTRY = {"userpass": "users/mallory", "approle": "role/mallory", "jwt": "role/mallory"}


@pytest.fixture(params=["server", "bao"])
def target(request: pytest.FixtureRequest) -> RunningServer:
    running: RunningServer = request.getfixturevalue(request.param)
    return running


@pytest.fixture
def admin(target: RunningServer) -> Iterator[httpx.Client]:
    with target.client() as client:
        yield client


@pytest.fixture
def mount(admin: httpx.Client, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(method, "auth/<path>"): a fresh mount of the method the test is parametrized with."""
    kind: str = request.param
    path = f"case3-{kind}-{uuid.uuid4().hex[:8]}"
    assert admin.post(f"/v1/sys/auth/{path}", json={"type": kind}).status_code == 204
    if kind == "jwt":
        config = {"jwt_validation_pubkeys": [KEY.public_pem()], "bound_issuer": ISSUER}
        assert admin.post(f"/v1/auth/{path}/config", json=config).status_code == 204
    yield kind, f"auth/{path}"
    admin.delete(f"/v1/sys/auth/{path}")


@pytest.fixture
def editor(target: RunningServer, admin: httpx.Client, mount: tuple[str, str]) -> Iterator[httpx.Client]:
    """A client whose token may only create, update and read the mount's users or roles (and, for
    AppRole, fetch their role and secret IDs): the attacker."""
    _, base = mount
    folder = ENTRY[mount[0]].split("/")[0]
    name = f"editor-{uuid.uuid4().hex[:8]}"
    rules = f'path "{base}/{folder}/*" {{ capabilities = ["create", "update", "read"] }}'
    assert admin.put(f"/v1/sys/policies/acl/{name}", json={"policy": rules}).status_code == 204
    token = ok(admin.post("/v1/auth/token/create", json={"policies": [name]}))["auth"]["client_token"]
    with target.client(token) as client:
        yield client
    admin.delete(f"/v1/sys/policies/acl/{name}")


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def write(client: httpx.Client, path: str, body: dict[str, Any]) -> None:
    answer = client.post(f"/v1/{path}", json=body)
    assert answer.status_code in (200, 204), answer.text


def settings(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The write that sets `body` on the method's user or role (jwt roles need their bindings again)."""
    if kind == "userpass":
        return {"password": "pw", **body}
    if kind == "jwt":
        return {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["api"], **body}
    return body


def login(
    target: RunningServer, editor: httpx.Client, mount: tuple[str, str], **headers: str
) -> httpx.Response:
    """Log in as the user or role the editor set up, without a token, as anyone may."""
    kind, base = mount
    if kind == "userpass":
        path, body = f"{base}/login/mallory", {"password": "pw"}
    elif kind == "approle":
        role_id = ok(editor.get(f"/v1/{base}/role/mallory/role-id"))["data"]["role_id"]
        secret_id = ok(editor.post(f"/v1/{base}/role/mallory/secret-id"))["data"]["secret_id"]
        path, body = f"{base}/login", {"role_id": role_id, "secret_id": secret_id}
    else:
        path, body = f"{base}/login", {"role": "mallory", "jwt": KEY.sign(claims(issuer=ISSUER, aud="api"))}
    return httpx.post(f"{target.address}/v1/{path}", json=body, headers=headers, timeout=10)


def accessors(admin: httpx.Client) -> set[str]:
    return set(ok(admin.request("LIST", "/v1/auth/token/accessors"))["data"]["keys"])


def answer(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, response.json()


METHODS = pytest.mark.parametrize("mount", ["userpass", "approle", "jwt"], indirect=True)


@METHODS
@pytest.mark.parametrize("spelling", ROOT_SPELLINGS)
def test_a_login_whose_policies_name_root_is_refused_and_stores_nothing(
    target: RunningServer,
    admin: httpx.Client,
    editor: httpx.Client,
    mount: tuple[str, str],
    spelling: str,
) -> None:
    kind, base = mount
    write(editor, f"{base}/{ENTRY[kind]}", settings(kind, {"token_policies": [spelling, "dev"]}))
    # token_policies are stored trimmed (case kept), as OpenBao's tokenutil does.
    stored = ok(admin.get(f"/v1/{base}/{ENTRY[kind]}"))["data"]["token_policies"]
    assert stored == [spelling.strip(), "dev"]

    before = accessors(admin)
    assert answer(login(target, editor, mount)) == REFUSED
    assert answer(login(target, editor, mount, **{"X-Vault-Wrap-TTL": "60s"})) == REFUSED
    assert accessors(admin) == before


@METHODS
@pytest.mark.parametrize("spelling", ["Root", " root", "root\t"])
def test_root_in_a_comma_list_is_refused_too(
    target: RunningServer, admin: httpx.Client, editor: httpx.Client, mount: tuple[str, str], spelling: str
) -> None:
    kind, base = mount
    write(editor, f"{base}/{ENTRY[kind]}", settings(kind, {"token_policies": f"dev,{spelling}"}))
    assert answer(login(target, editor, mount)) == REFUSED


@METHODS
@pytest.mark.parametrize("spelling", ROOT_SPELLINGS)
def test_the_legacy_policies_field_stores_root_normalized_and_alone(
    target: RunningServer, admin: httpx.Client, editor: httpx.Client, mount: tuple[str, str], spelling: str
) -> None:
    kind, base = mount
    write(editor, f"{base}/{ENTRY[kind]}", settings(kind, {"policies": ["Dev ", spelling]}))
    stored = ok(admin.get(f"/v1/{base}/{ENTRY[kind]}"))["data"]
    assert (stored["policies"], stored["token_policies"]) == (["root"], ["root"])
    assert answer(login(target, editor, mount)) == REFUSED


@pytest.mark.parametrize("mount", ["userpass", "approle"], indirect=True)
@pytest.mark.parametrize("field", ["token_policies", "policies"])
def test_the_policies_endpoint_normalizes_and_root_still_cannot_log_in(
    target: RunningServer, admin: httpx.Client, editor: httpx.Client, mount: tuple[str, str], field: str
) -> None:
    kind, base = mount
    write(editor, f"{base}/{ENTRY[kind]}", settings(kind, {"token_policies": ["dev"]}))
    write(editor, f"{base}/{ENTRY[kind]}/policies", {field: [" ROOT", "Ops"]})
    assert ok(admin.get(f"/v1/{base}/{ENTRY[kind]}"))["data"]["token_policies"] == ["root"]
    assert answer(login(target, editor, mount)) == REFUSED


@METHODS
@pytest.mark.parametrize("spelling", ["root", "ROOT", " root"])
def test_a_renewal_never_adds_root(
    target: RunningServer, admin: httpx.Client, editor: httpx.Client, mount: tuple[str, str], spelling: str
) -> None:
    kind, base = mount
    write(editor, f"{base}/{ENTRY[kind]}", settings(kind, {"token_policies": ["dev"]}))
    token = ok(login(target, editor, mount))["auth"]["client_token"]

    write(editor, f"{base}/{ENTRY[kind]}", settings(kind, {"token_policies": [spelling, "dev"]}))
    with target.client(token) as holder:
        renewed = holder.post("/v1/auth/token/renew-self", json={})
        # Roles renew on their current TTLs; userpass refuses changed policies (OpenBao with a 500).
        if kind == "userpass":
            assert renewed.status_code in (400, 500)
            assert "policies have changed, not renewing" in renewed.json()["errors"][0]
        else:
            assert ok(renewed)["auth"]["policies"] == ["default", "dev"]
        assert ok(holder.get("/v1/auth/token/lookup-self"))["data"]["policies"] == ["default", "dev"]
        refused = holder.put("/v1/sys/policies/acl/escalated", json={"policy": 'path "*" {}'})
        assert refused.status_code == 403


@pytest.fixture
def creator(
    target: RunningServer, admin: httpx.Client, request: pytest.FixtureRequest
) -> Iterator[httpx.Client]:
    """A token that may create tokens (with sudo when the test says so) and holds the policy "dev"."""
    sudo: bool = request.param
    name = f"creator-{uuid.uuid4().hex[:8]}"
    capabilities = '["update", "sudo"]' if sudo else '["update"]'
    rules = (
        f'path "auth/token/create" {{ capabilities = {capabilities} }}\n'
        f'path "auth/token/create/*" {{ capabilities = {capabilities} }}'
    )
    assert admin.put(f"/v1/sys/policies/acl/{name}", json={"policy": rules}).status_code == 204
    token = ok(admin.post("/v1/auth/token/create", json={"policies": [name, "dev"]}))["auth"]["client_token"]
    with target.client(token) as client:
        yield client
    admin.delete(f"/v1/sys/policies/acl/{name}")


CREATE_REFUSALS: dict[bool, str] = {
    False: "child policies must be subset of parent",
    True: "root tokens may not be created without parent token being root",
}


@pytest.mark.parametrize("creator", [False, True], ids=["plain", "sudo"], indirect=True)
@pytest.mark.parametrize("spelling", ROOT_SPELLINGS)
def test_token_create_keeps_its_subset_rule_against_every_spelling(
    admin: httpx.Client, creator: httpx.Client, request: pytest.FixtureRequest, spelling: str
) -> None:
    sudo = request.node.callspec.params["creator"]
    for policies in ([spelling], ["dev", spelling]):
        refused = creator.post("/v1/auth/token/create", json={"policies": policies})
        assert answer(refused) == (400, {"errors": [CREATE_REFUSALS[sudo]]})

    role = f"escalate-{uuid.uuid4().hex[:8]}"
    write(admin, f"auth/token/roles/{role}", {"allowed_policies": [spelling]})
    assert ok(admin.get(f"/v1/auth/token/roles/{role}"))["data"]["allowed_policies"] == ["root"]
    via_role: list[Callable[[], httpx.Response]] = [
        lambda: creator.post(f"/v1/auth/token/create/{role}", json={}),
        lambda: creator.post(f"/v1/auth/token/create/{role}", json={"policies": [spelling]}),
    ]
    for attempt in via_role:
        assert answer(attempt()) == (400, {"errors": [CREATE_REFUSALS[True]]})
    admin.delete(f"/v1/auth/token/roles/{role}")
