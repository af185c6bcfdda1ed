"""Every login gets its entity: the alias a login names finds (or creates) one entity, the token carries its
ID, and the entity's policies (and templated ones) act on every request at once. Real HTTP, and the same
requests against OpenBao where the answers can be compared.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.jwks import claims, rsa_key
from tests.servers import RunningServer, strongroom_dev_server

SECRET_POLICY = 'path "secret/data/ent-login/*" { capabilities = ["read"] }'
TEMPLATED = 'path "secret/data/by-name/{{identity.entity.name}}/*" { capabilities = ["read"] }'


@pytest.fixture
def userpass(root: httpx.Client) -> Iterator[str]:
    """A userpass mount with user "ann" (password "pw"); yields its accessor."""
    root.post("/v1/sys/auth/ent-up", json={"type": "userpass"}).raise_for_status()
    root.post("/v1/auth/ent-up/users/ann", json={"password": "pw"}).raise_for_status()
    try:
        yield root.get("/v1/sys/auth").json()["data"]["ent-up/"]["accessor"]
    finally:
        root.delete("/v1/sys/auth/ent-up").raise_for_status()


def _login(server: RunningServer) -> dict[str, object]:
    with httpx.Client(base_url=server.address, timeout=10) as anonymous:
        answer = anonymous.post("/v1/auth/ent-up/login/ann", json={"password": "pw"})
    answer.raise_for_status()
    auth: dict[str, object] = answer.json()["auth"]
    return auth


def test_login_creates_one_entity_with_its_alias(
    server: RunningServer, root: httpx.Client, userpass: str
) -> None:
    first, second = _login(server), _login(server)
    entity_id = first["entity_id"]
    assert entity_id
    assert second["entity_id"] == entity_id
    looked = root.post(
        "/v1/identity/lookup/entity", json={"alias_name": "ann", "alias_mount_accessor": userpass}
    ).json()["data"]
    assert looked["id"] == entity_id
    assert [(a["name"], a["mount_path"], a["mount_type"]) for a in looked["aliases"]] == [
        ("ann", "auth/ent-up/", "userpass")
    ]
    lookup = root.post("/v1/auth/token/lookup", json={"token": first["client_token"]}).json()["data"]
    assert lookup["entity_id"] == entity_id
    assert "identity_policies" not in lookup
    root.delete(f"/v1/identity/entity/id/{entity_id}").raise_for_status()


def test_entity_policy_change_moves_access_at_once(
    server: RunningServer, root: httpx.Client, userpass: str
) -> None:
    root.put("/v1/sys/policies/acl/ent-login", json={"policy": SECRET_POLICY}).raise_for_status()
    root.post("/v1/secret/data/ent-login/x", json={"data": {"v": "1"}}).raise_for_status()
    auth = _login(server)
    entity_id = auth["entity_id"]
    with server.client(str(auth["client_token"])) as user:
        assert user.get("/v1/secret/data/ent-login/x").status_code == 403
        root.post(f"/v1/identity/entity/id/{entity_id}", json={"policies": ["ent-login"]}).raise_for_status()
        assert user.get("/v1/secret/data/ent-login/x").status_code == 200
        lookup = user.get("/v1/auth/token/lookup-self").json()["data"]
        assert (lookup["identity_policies"], lookup["policies"]) == (["ent-login"], ["default"])
        assert _login(server)["identity_policies"] == ["ent-login"]
        root.post(f"/v1/identity/entity/id/{entity_id}", json={"policies": []}).raise_for_status()
        assert user.get("/v1/secret/data/ent-login/x").status_code == 403
        root.post(f"/v1/identity/entity/id/{entity_id}", json={"disabled": True}).raise_for_status()
        assert user.get("/v1/auth/token/lookup-self").status_code == 403
        with httpx.Client(base_url=server.address, timeout=10) as anonymous:
            refused = anonymous.post("/v1/auth/ent-up/login/ann", json={"password": "pw"})
        assert (refused.status_code, refused.json()["errors"]) == (403, ["permission denied"])
        root.post(f"/v1/identity/entity/id/{entity_id}", json={"disabled": False}).raise_for_status()
        assert user.get("/v1/auth/token/lookup-self").status_code == 200
    root.delete(f"/v1/identity/entity/id/{entity_id}").raise_for_status()
    root.delete("/v1/sys/policies/acl/ent-login").raise_for_status()


def test_templated_policy_follows_the_entity_name(
    server: RunningServer, root: httpx.Client, userpass: str
) -> None:
    root.put("/v1/sys/policies/acl/ent-tpl", json={"policy": TEMPLATED}).raise_for_status()
    auth = _login(server)
    entity_id = auth["entity_id"]
    root.post(
        f"/v1/identity/entity/id/{entity_id}", json={"name": "tpl-ann", "policies": ["ent-tpl"]}
    ).raise_for_status()
    for name in ("tpl-ann", "tpl-bob"):
        root.post(f"/v1/secret/data/by-name/{name}/s", json={"data": {"v": name}}).raise_for_status()
    with server.client(str(auth["client_token"])) as user:
        assert user.get("/v1/secret/data/by-name/tpl-ann/s").status_code == 200
        assert user.get("/v1/secret/data/by-name/tpl-bob/s").status_code == 403
        root.post(f"/v1/identity/entity/id/{entity_id}", json={"name": "tpl-bob"}).raise_for_status()
        assert user.get("/v1/secret/data/by-name/tpl-ann/s").status_code == 403
        assert user.get("/v1/secret/data/by-name/tpl-bob/s").status_code == 200
    root.delete(f"/v1/identity/entity/id/{entity_id}").raise_for_status()
    root.delete("/v1/sys/policies/acl/ent-tpl").raise_for_status()


def test_approle_alias_is_the_role_id(server: RunningServer, root: httpx.Client) -> None:
    root.post("/v1/sys/auth/ent-ar", json={"type": "approle"}).raise_for_status()
    try:
        root.post(
            "/v1/auth/ent-ar/role/r", json={"bind_secret_id": False, "token_bound_cidrs": "127.0.0.1/32"}
        )
        role_id = root.get("/v1/auth/ent-ar/role/r/role-id").json()["data"]["role_id"]
        with httpx.Client(base_url=server.address, timeout=10) as anonymous:
            auth = anonymous.post("/v1/auth/ent-ar/login", json={"role_id": role_id}).json()["auth"]
        entity = root.get(f"/v1/identity/entity/id/{auth['entity_id']}").json()["data"]
        assert [(a["name"], a["metadata"]) for a in entity["aliases"]] == [(role_id, {"role_name": "r"})]
        root.delete(f"/v1/identity/entity/id/{auth['entity_id']}").raise_for_status()
    finally:
        root.delete("/v1/sys/auth/ent-ar").raise_for_status()


def _login_shapes(server: RunningServer) -> list[object]:
    """Status and field names of a login, a lookup and an entity read, with and without entity policies."""
    shapes: list[object] = []
    with server.client() as admin:
        admin.post("/v1/sys/auth/diff-login", json={"type": "userpass"}).raise_for_status()
        admin.post("/v1/auth/diff-login/users/dl", json={"password": "pw"}).raise_for_status()
        try:
            with httpx.Client(base_url=server.address, timeout=10) as anonymous:
                first = anonymous.post("/v1/auth/diff-login/login/dl", json={"password": "pw"}).json()["auth"]
                shapes.append(sorted(first))
                token, entity_id = first["client_token"], first["entity_id"]
                admin.post(f"/v1/identity/entity/id/{entity_id}", json={"policies": ["p-dl"]})
                second = anonymous.post("/v1/auth/diff-login/login/dl", json={"password": "pw"}).json()[
                    "auth"
                ]
                shapes.append((sorted(second), second["policies"], second["identity_policies"]))
            lookup = admin.post("/v1/auth/token/lookup", json={"token": token}).json()["data"]
            shapes.append(
                (sorted(lookup), lookup["identity_policies"], lookup["external_namespace_policies"])
            )
            entity = admin.get(f"/v1/identity/entity/id/{entity_id}").json()["data"]
            shapes.append(sorted(entity["aliases"][0]))
            admin.post(f"/v1/identity/entity/id/{entity_id}", json={"disabled": True})
            with server.client(token) as user:
                refused = user.get("/v1/auth/token/lookup-self")
                shapes.append((refused.status_code, refused.json()))
            admin.delete(f"/v1/identity/entity/id/{entity_id}").raise_for_status()
        finally:
            admin.delete("/v1/sys/auth/diff-login").raise_for_status()
    return shapes


def test_login_identity_fields_as_openbao(server: RunningServer, bao: RunningServer) -> None:
    assert _login_shapes(server) == _login_shapes(bao)


GROUP_TEMPLATED = 'path "secret/data/grp/{{identity.groups.names.tpl-team.id}}" { capabilities = ["read"] }'


def test_group_policies_reach_members_through_nested_groups_at_once(
    server: RunningServer, root: httpx.Client, userpass: str
) -> None:
    root.put("/v1/sys/policies/acl/ent-login", json={"policy": SECRET_POLICY}).raise_for_status()
    root.post("/v1/secret/data/ent-login/g", json={"data": {"v": "1"}}).raise_for_status()
    auth = _login(server)
    entity_id = auth["entity_id"]
    inner = root.post("/v1/identity/group", json={"name": "tpl-team", "member_entity_ids": [entity_id]})
    inner_id = inner.json()["data"]["id"]
    outer = root.post("/v1/identity/group", json={"name": "tpl-outer", "member_group_ids": [inner_id]})
    outer_id = outer.json()["data"]["id"]
    root.post(f"/v1/secret/data/grp/{inner_id}", json={"data": {"v": "1"}}).raise_for_status()
    with server.client(str(auth["client_token"])) as user:
        assert user.get("/v1/secret/data/ent-login/g").status_code == 403
        root.post(f"/v1/identity/group/id/{outer_id}", json={"policies": ["ent-login"]}).raise_for_status()
        assert user.get("/v1/secret/data/ent-login/g").status_code == 200
        assert user.get("/v1/auth/token/lookup-self").json()["data"]["identity_policies"] == ["ent-login"]
        # Leaving the inner group leaves the outer one's policies behind too.
        root.post(f"/v1/identity/group/id/{inner_id}", json={"member_entity_ids": []}).raise_for_status()
        assert user.get("/v1/secret/data/ent-login/g").status_code == 403
        root.put("/v1/sys/policies/acl/ent-grp", json={"policy": GROUP_TEMPLATED}).raise_for_status()
        root.post(f"/v1/identity/entity/id/{entity_id}", json={"policies": ["ent-grp"]}).raise_for_status()
        assert user.get(f"/v1/secret/data/grp/{inner_id}").status_code == 403
        root.post(
            f"/v1/identity/group/id/{inner_id}", json={"member_entity_ids": [entity_id]}
        ).raise_for_status()
        assert user.get(f"/v1/secret/data/grp/{inner_id}").status_code == 200
    for group in (outer_id, inner_id):
        root.delete(f"/v1/identity/group/id/{group}").raise_for_status()
    root.delete(f"/v1/identity/entity/id/{entity_id}").raise_for_status()
    for policy in ("ent-login", "ent-grp"):
        root.delete(f"/v1/sys/policies/acl/{policy}").raise_for_status()


def test_jwt_groups_claim_moves_external_group_membership(server: RunningServer, root: httpx.Client) -> None:
    key = rsa_key("identity-groups")
    root.post("/v1/sys/auth/ent-jwt", json={"type": "jwt"}).raise_for_status()
    try:
        root.post(
            "/v1/auth/ent-jwt/config", json={"jwt_validation_pubkeys": [key.public_pem()]}
        ).raise_for_status()
        role = {"role_type": "jwt", "user_claim": "sub", "groups_claim": "groups", "bound_audiences": "api"}
        root.post("/v1/auth/ent-jwt/role/app", json=role).raise_for_status()
        accessor = root.get("/v1/sys/auth").json()["data"]["ent-jwt/"]["accessor"]
        root.put("/v1/sys/policies/acl/ent-login", json={"policy": SECRET_POLICY}).raise_for_status()
        root.post("/v1/secret/data/ent-login/j", json={"data": {"v": "1"}}).raise_for_status()
        group = root.post(
            "/v1/identity/group", json={"name": "jwt-devs", "type": "external", "policies": "ent-login"}
        )
        group_id = group.json()["data"]["id"]
        root.post(
            "/v1/identity/group-alias",
            json={"name": "devs", "mount_accessor": accessor, "canonical_id": group_id},
        ).raise_for_status()

        def login(groups: list[str]) -> dict[str, object]:
            token = key.sign(claims(subject="jay", aud="api", groups=groups))
            with httpx.Client(base_url=server.address, timeout=10) as anonymous:
                answer = anonymous.post("/v1/auth/ent-jwt/login", json={"role": "app", "jwt": token})
            assert answer.status_code == 200, answer.text
            auth: dict[str, object] = answer.json()["auth"]
            return auth

        member = login(["devs", "other"])
        assert member["identity_policies"] == ["ent-login"]
        entity = root.get(f"/v1/identity/entity/id/{member['entity_id']}").json()["data"]
        assert (entity["aliases"][0]["name"], entity["direct_group_ids"]) == ("jay", [group_id])
        with server.client(str(member["client_token"])) as user:
            assert user.get("/v1/secret/data/ent-login/j").status_code == 200
            left = login(["other"])
            assert "identity_policies" not in left
            assert left["entity_id"] == member["entity_id"]
            assert user.get("/v1/secret/data/ent-login/j").status_code == 403
        root.delete(f"/v1/identity/group/id/{group_id}").raise_for_status()
        root.delete(f"/v1/identity/entity/id/{member['entity_id']}").raise_for_status()
        root.delete("/v1/sys/policies/acl/ent-login").raise_for_status()
    finally:
        root.delete("/v1/sys/auth/ent-jwt").raise_for_status()


SUDO_POLICY = 'path "auth/token/create" { capabilities = ["create", "update", "sudo"] }'


def test_entity_policies_count_for_sudo_on_token_create(
    server: RunningServer, root: httpx.Client, userpass: str
) -> None:
    """Vault's token store asks for sudo with the token's and its entity's policies alike."""
    root.put("/v1/sys/policies/acl/ent-sudo", json={"policy": SUDO_POLICY}).raise_for_status()
    auth = _login(server)
    entity_id = auth["entity_id"]
    root.post(f"/v1/identity/entity/id/{entity_id}", json={"policies": ["ent-sudo"]}).raise_for_status()
    with server.client(str(auth["client_token"])) as user:
        # An orphan token needs sudo on auth/token/create; the entity's policy grants it.
        made = user.post("/v1/auth/token/create", json={"no_parent": True, "policies": ["default"]})
        assert made.status_code == 200, made.text
        root.post(f"/v1/identity/entity/id/{entity_id}", json={"policies": []}).raise_for_status()
        refused = user.post("/v1/auth/token/create", json={"no_parent": True, "policies": ["default"]})
        assert refused.status_code == 403
    root.delete(f"/v1/identity/entity/id/{entity_id}").raise_for_status()
    root.delete("/v1/sys/policies/acl/ent-sudo").raise_for_status()


def _entity_alias_steps(server: RunningServer) -> list[object]:
    """Token creation through a role's allowed_entity_aliases: status, errors, and what the entity holds."""
    steps: list[object] = []
    with server.client() as admin:
        role = {"allowed_entity_aliases": ["app-*"], "orphan": True}
        admin.post("/v1/auth/token/roles/ent-alias", json=role).raise_for_status()
        accessor = admin.get("/v1/sys/auth").json()["data"]["token/"]["accessor"]

        def create(body: dict[str, object], path: str = "auth/token/create/ent-alias") -> httpx.Response:
            return admin.post(f"/v1/{path}", json=body)

        first = create({"entity_alias": "App-One"})
        steps.append((first.status_code, sorted(first.json()["auth"])))
        entity_id = first.json()["auth"]["entity_id"]
        steps.append(bool(entity_id))
        steps.append(create({"entity_alias": "app-one"}).json()["auth"]["entity_id"] == entity_id)
        looked = admin.post(
            "/v1/identity/lookup/entity", json={"alias_name": "App-One", "alias_mount_accessor": accessor}
        )
        alias = looked.json()["data"]["aliases"][0]
        steps.append((looked.json()["data"]["id"] == entity_id, alias["mount_type"], alias["mount_path"]))
        for body, path in (
            ({"entity_alias": "other"}, "auth/token/create/ent-alias"),
            ({"entity_alias": "app-one"}, "auth/token/create"),
        ):
            refused = create(body, path)
            steps.append((refused.status_code, refused.json()["errors"]))
        admin.post(f"/v1/identity/entity/id/{entity_id}", json={"disabled": True}).raise_for_status()
        disabled = create({"entity_alias": "App-One"})
        steps.append((disabled.status_code, disabled.json()["errors"]))
        admin.delete(f"/v1/identity/entity/id/{entity_id}").raise_for_status()
        admin.delete("/v1/auth/token/roles/ent-alias").raise_for_status()
    return steps


def test_token_role_entity_alias_as_openbao(server: RunningServer, bao: RunningServer) -> None:
    assert _entity_alias_steps(server) == _entity_alias_steps(bao)


EVENTS_POLICY = """
path "sys/events/subscribe/kv-v2/data-write" { capabilities = ["read", "subscribe"] }
path "secret/data/ent-events/*" { capabilities = ["read"] }
"""


async def test_entity_policies_open_event_subscriptions(
    server: RunningServer, root: httpx.Client, userpass: str
) -> None:
    root.put("/v1/sys/policies/acl/ent-events", json={"policy": EVENTS_POLICY}).raise_for_status()
    auth = _login(server)
    url = server.address.replace("http://", "ws://") + "/v1/sys/events/subscribe/kv-v2/data-write?json=true"
    headers = {"X-Vault-Token": str(auth["client_token"])}
    with pytest.raises(InvalidStatus):
        async with connect(url, additional_headers=headers):
            pass
    root.post(
        f"/v1/identity/entity/id/{auth['entity_id']}", json={"policies": ["ent-events"]}
    ).raise_for_status()
    async with connect(url, additional_headers=headers) as ws:
        root.post("/v1/secret/data/ent-events/k", json={"data": {"v": "1"}}).raise_for_status()
        event = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
        assert event["data"]["event"]["metadata"]["path"] == "secret/data/ent-events/k"
    root.delete(f"/v1/identity/entity/id/{auth['entity_id']}").raise_for_status()
    root.delete("/v1/sys/policies/acl/ent-events").raise_for_status()


SEAL_POLICY = 'path "sys/seal" { capabilities = ["update", "sudo"] }'


def test_entity_policies_count_for_the_lifecycle_sudo_checks(tmp_path: Path) -> None:
    """sys/seal is judged outside the pipeline (core.require_sudo): the entity's policies count there too.
    A server of its own, since the test seals it."""
    with strongroom_dev_server(tmp_path) as server, server.client() as root:
        root.put("/v1/sys/policies/acl/ent-seal", json={"policy": SEAL_POLICY}).raise_for_status()
        root.post("/v1/sys/auth/ent-up", json={"type": "userpass"}).raise_for_status()
        root.post("/v1/auth/ent-up/users/ann", json={"password": "pw"}).raise_for_status()
        auth = _login(server)
        with server.client(str(auth["client_token"])) as user:
            assert user.put("/v1/sys/seal").status_code == 403
            root.post(f"/v1/identity/entity/id/{auth['entity_id']}", json={"policies": ["ent-seal"]})
            assert user.put("/v1/sys/seal").status_code == 204
        assert root.get("/v1/sys/seal-status").json()["sealed"] is True


def _capabilities_steps(server: RunningServer) -> list[object]:
    """What the three capability queries say for a user whose only grant comes through a group (one exact
    path) and a templated entity policy (a path by entity name)."""
    with server.client("root") as root:
        root.post("/v1/sys/auth/cap-up", json={"type": "userpass"}).raise_for_status()
        root.post("/v1/auth/cap-up/users/cap", json={"password": "pw"}).raise_for_status()
        root.put("/v1/sys/policies/acl/cap-grp", json={"policy": SECRET_POLICY}).raise_for_status()
        root.put("/v1/sys/policies/acl/cap-tpl", json={"policy": TEMPLATED}).raise_for_status()
        with httpx.Client(base_url=server.address, timeout=10) as anonymous:
            auth = anonymous.post("/v1/auth/cap-up/login/cap", json={"password": "pw"}).json()["auth"]
        entity = auth["entity_id"]
        root.post(f"/v1/identity/entity/id/{entity}", json={"name": "cap-ent", "policies": ["cap-tpl"]})
        group = root.post("/v1/identity/group", json={"name": "cap-team", "member_entity_ids": [entity]})
        group_id = group.json()["data"]["id"]
        root.post(f"/v1/identity/group/id/{group_id}", json={"policies": ["cap-grp"]}).raise_for_status()
        paths = ["secret/data/ent-login/x", "secret/data/by-name/cap-ent/y", "secret/data/by-name/other/y"]
        steps: list[object] = []
        with server.client(str(auth["client_token"])) as user:
            steps.append(user.post("/v1/sys/capabilities-self", json={"paths": paths}).json()["data"])
        steps.append(
            root.post("/v1/sys/capabilities", json={"token": auth["client_token"], "paths": paths}).json()[
                "data"
            ]
        )
        steps.append(
            root.post(
                "/v1/sys/capabilities-accessor", json={"accessor": auth["accessor"], "paths": paths}
            ).json()["data"]
        )
        root.delete(f"/v1/identity/group/id/{group_id}").raise_for_status()
        root.delete(f"/v1/identity/entity/id/{entity}").raise_for_status()
        root.delete("/v1/sys/auth/cap-up").raise_for_status()
        return steps


def test_capability_queries_count_identity_policies_as_openbao(
    server: RunningServer, bao: RunningServer
) -> None:
    ours = _capabilities_steps(server)
    assert ours[0] == {
        "secret/data/ent-login/x": ["read"],
        "secret/data/by-name/cap-ent/y": ["read"],
        "secret/data/by-name/other/y": ["deny"],
    }
    assert ours == _capabilities_steps(bao)
