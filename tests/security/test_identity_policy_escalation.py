"""Identity policy escalation advisories, against strongroom and OpenBao with the same requests.

- HCSEC-2025-13 / CVE-2025-5999 (OpenBao GHSA-vf84-mxrq-crqc): an operator with write on identity entities
  set "root" (in another case or with spaces) as an entity policy and so raised tokens to root. OpenBao
  lowercases and trims entity policies and refuses "root".
- GHSA-7ff4-jw48-3436: the same through identity groups (fixed in OpenBao 2.4.4).
- CVE-2021-41802: whoever could write an entity alias could move it onto another entity that already had an
  alias at that mount and take over its policies; an entity holds one alias per mount.
Strongroom also drops "root" from what an entity grants whatever storage holds, and a login whose identity
policies would include root is refused (core/login.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from strongroom.identity import IdentityStore
from strongroom.logical import InmemStorage, put_json
from strongroom.util.clock import ManualClock
from tests.servers import RunningServer

# What the operator may do: everything under identity/, nothing else (no policy writes, no sys/).
OPERATOR = 'path "identity/*" { capabilities = ["create", "read", "update", "delete", "list"] }'
ROOTS = (["root"], ["Root"], [" ROOT "], "default,rOOt", ["ok", "root "])


def _operator(admin: httpx.Client) -> str:
    admin.put("/v1/sys/policies/acl/esc-operator", json={"policy": OPERATOR}).raise_for_status()
    created = admin.post("/v1/auth/token/create", json={"policies": ["esc-operator"]}).json()
    token: str = created["auth"]["client_token"]
    return token


def _attempts(server: RunningServer) -> Iterator[tuple[str, int, object]]:
    """Each escalation attempt as (name, status, errors) on `server`."""
    with server.client() as admin:
        with server.client(_operator(admin)) as operator:
            for i, policies in enumerate(ROOTS):
                answer = operator.post(
                    "/v1/identity/entity", json={"name": f"esc-e{i}", "policies": policies}
                )
                yield f"entity {policies!r}", answer.status_code, answer.json().get("errors")
                answer = operator.post("/v1/identity/group", json={"name": f"esc-g{i}", "policies": policies})
                yield f"group {policies!r}", answer.status_code, answer.json().get("errors")
            made = operator.post("/v1/identity/entity", json={"name": "esc-victim"}).json()["data"]
            answer = operator.post(f"/v1/identity/entity/id/{made['id']}", json={"policies": ["ROOT"]})
            yield "entity update", answer.status_code, answer.json().get("errors")
            group = operator.post("/v1/identity/group", json={"name": "esc-grp"}).json()["data"]
            answer = operator.post(f"/v1/identity/group/id/{group['id']}", json={"policies": " Root"})
            yield "group update", answer.status_code, answer.json().get("errors")
            answer = operator.post("/v1/identity/group/name/esc-grp", json={"policies": ["root"]})
            yield "group by name", answer.status_code, answer.json().get("errors")
            answer = operator.get("/v1/sys/policies/acl/root")
            yield "operator reads sys", answer.status_code, answer.json().get("errors")
            yield from _alias_takeover(admin, operator, made["id"])
            operator.delete(f"/v1/identity/entity/id/{made['id']}").raise_for_status()
            operator.delete(f"/v1/identity/group/id/{group['id']}").raise_for_status()
        admin.delete("/v1/sys/policies/acl/esc-operator").raise_for_status()


def _alias_takeover(
    admin: httpx.Client, operator: httpx.Client, victim: str
) -> Iterator[tuple[str, int, object]]:
    admin.post("/v1/sys/auth/esc-up", json={"type": "userpass"}).raise_for_status()
    try:
        accessor = admin.get("/v1/sys/auth").json()["data"]["esc-up/"]["accessor"]
        body = {"mount_accessor": accessor, "canonical_id": victim}
        operator.post("/v1/identity/entity-alias", json={**body, "name": "victim"}).raise_for_status()
        mine = operator.post(
            "/v1/identity/entity-alias", json={"name": "attacker", "mount_accessor": accessor}
        )
        moved = operator.post(f"/v1/identity/entity-alias/id/{mine.json()['data']['id']}", json=body)
        yield "alias moved onto victim", moved.status_code, moved.json().get("errors")
        second = operator.post("/v1/identity/entity-alias", json={**body, "name": "attacker2"})
        yield "second alias on victim", second.status_code, second.json().get("errors")
        operator.delete(f"/v1/identity/entity/id/{mine.json()['data']['canonical_id']}").raise_for_status()
    finally:
        admin.delete("/v1/sys/auth/esc-up").raise_for_status()


def test_identity_writers_cannot_reach_root_as_in_openbao(server: RunningServer, bao: RunningServer) -> None:
    ours, theirs = list(_attempts(server)), list(_attempts(bao))
    assert ours == theirs
    refused = [name for name, status, _ in ours if status == 400]
    assert len(refused) == 2 * len(ROOTS) + 5
    assert all(errors == ["policies cannot contain root"] for name, _, errors in ours[: 2 * len(ROOTS)])


async def test_a_stored_root_policy_is_never_granted() -> None:
    """Records written before the rule (or by anything else that reached storage) cannot grant root."""

    class NoMounts:
        def auth_mount(self, accessor: str) -> tuple[str, str] | None:
            return None

    storage = InmemStorage()
    record = {
        "id": "e1", "name": "old", "policies": ["Root", "kept"], "metadata": {}, "disabled": False,
        "aliases": [], "creation_time": 0.0, "last_update_time": 0.0,
    }  # fmt: skip
    await put_json(storage, "entity/e1", record)
    store = IdentityStore(storage, ManualClock(), NoMounts())
    await store.load()
    assert store.grant("e1").policies == ("kept",)
