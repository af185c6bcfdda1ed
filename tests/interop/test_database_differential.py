"""Differential test of the database engine: one script of requests to strongroom and to OpenBao, both
pointed at the same real PostgreSQL, answers compared. Generated usernames, passwords and lease IDs are
random on both sides, so they are masked (after checking their form); every other difference kept on
purpose is in INTENDED with its reason."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from tests.interop.differential import Answer, Intended, Step, assert_alike, run
from tests.postgres import CREATE_ROLE, Postgres
from tests.servers import RunningServer

M = "diffdb"
PLUGIN = "postgresql-database-plugin"
USERNAME = re.compile(r"^v-(root|token)-app-[A-Za-z0-9]{20}-\d{10}$")
PASSWORD = re.compile(r"^[A-Za-z0-9-]{20}$")
LEASE = re.compile(rf"^{M}/creds/app/[A-Za-z0-9]{{24}}$")


def get(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "GET", f"/v1/{path}", **kw)


def post(name: str, path: str, body: Any = None, **kw: Any) -> Step:
    return Step(name, "POST", f"/v1/{path}", body={} if body is None else body, **kw)


def put(name: str, path: str, body: Any, **kw: Any) -> Step:
    return Step(name, "PUT", f"/v1/{path}", body=body, **kw)


def delete(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "DELETE", f"/v1/{path}", **kw)


def lst(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "LIST", f"/v1/{path}", **kw)


def steps(postgres: Postgres) -> list[Step]:
    url = postgres.url("{{username}}", "{{password}}")
    config = {"plugin_name": PLUGIN, "connection_url": url, "username": "postgres", "password": "pw"}
    role = {"db_name": "pg", "creation_statements": CREATE_ROLE}
    return [
        post("enable", f"sys/mounts/{M}", {"type": "database"}),
        post("config", f"{M}/config/pg", {**config, "allowed_roles": "app,other", "max_open_connections": 3}),
        get("config read", f"{M}/config/pg"),
        lst("config list", f"{M}/config"),
        post("config update", f"{M}/config/pg", {"allowed_roles": ["app"], "extra_detail": "x"}),
        get("config read after update", f"{M}/config/pg"),
        post("config other plugin", f"{M}/config/my", {**config, "plugin_name": "mysql-database-plugin"}),
        post("config without plugin", f"{M}/config/my", {"connection_url": url}),
        post("config without url", f"{M}/config/my", {"plugin_name": PLUGIN}),
        get("config read missing", f"{M}/config/my"),
        post("role", f"{M}/roles/app", {**role, "default_ttl": "1h", "max_ttl": "2h"}),
        get("role read", f"{M}/roles/app"),
        post("role update ttl", f"{M}/roles/app", {"default_ttl": 1800}),
        get("role read after update", f"{M}/roles/app"),
        post("role without db", f"{M}/roles/nodb", {"creation_statements": CREATE_ROLE}),
        post("role bad ttl", f"{M}/roles/bad", {"db_name": "pg", "default_ttl": "soon"}),
        post("role not allowed", f"{M}/roles/notallowed", role),
        lst("role list", f"{M}/roles"),
        get("role read missing", f"{M}/roles/none"),
        get("creds", f"{M}/creds/app", save={"lease": "lease_id"}),
        put("renew", "sys/leases/renew", {"lease_id": "${lease}", "increment": "1h"}),
        put("renew past max", "sys/leases/renew", {"lease_id": "${lease}", "increment": "5h"}),
        put("lookup", "sys/leases/lookup", {"lease_id": "${lease}"}),
        put("revoke", "sys/leases/revoke", {"lease_id": "${lease}"}),
        put("lookup revoked", "sys/leases/lookup", {"lease_id": "${lease}"}),
        get("creds unknown role", f"{M}/creds/none"),
        get("creds not allowed", f"{M}/creds/notallowed"),
        post("creds by POST", f"{M}/creds/app"),
        post("reset", f"{M}/reset/pg"),
        post("reset missing", f"{M}/reset/nope"),
        post("rotate-root missing", f"{M}/rotate-root/nope"),
        delete("role delete", f"{M}/roles/app"),
        delete("role delete again", f"{M}/roles/app"),
        delete("config delete", f"{M}/config/pg"),
        lst("config list after delete", f"{M}/config"),
        delete("disable", f"sys/mounts/{M}"),
    ]  # fmt: skip


_NEVER_500 = "OpenBao answers 500 for this bad input; strongroom answers 400"
_MULTIERROR = "Vault's multierror wrapping of a 500; the plain message here"
INTENDED: list[Intended] = [
    Intended(
        "config other plugin", "errors[0]", "only the PostgreSQL plugin exists here; OpenBao tries mysql"
    ),
    *(
        Intended(step, where, why)
        for step in ("creds not allowed", "reset missing", "rotate-root missing")
        for where, why in (("status", _NEVER_500), ("errors[0]", _MULTIERROR))
    ),
]


def _masked(answer: Answer) -> Answer:
    """`answer` with its random credentials and lease ID replaced, once their form is checked."""
    body = answer.body
    if not isinstance(body, dict):
        return answer
    body = dict(body)
    data = body.get("data")
    if isinstance(data, dict) and "password" in data:
        assert USERNAME.match(data["username"]), data["username"]
        assert PASSWORD.match(data["password"])
        body["data"] = {**data, "username": "<username>", "password": "<password>"}
    if body.get("lease_id"):
        assert LEASE.match(body["lease_id"]), body["lease_id"]
        body["lease_id"] = "<lease>"
    if isinstance(data, dict) and str(data.get("id", "")).startswith(f"{M}/creds/"):
        assert LEASE.match(data["id"]), data["id"]
        body["data"] = {**data, "id": "<lease>"}
    return replace(answer, body=body)


def test_database_answers_as_openbao_does(
    server: RunningServer, bao: RunningServer, postgres: Postgres
) -> None:
    script = steps(postgres)
    assert len({step.name for step in script}) == len(script) >= 30
    ours, theirs = run(server, script), run(bao, script)
    by_name = dict(zip((step.name for step in script), ours, strict=True))
    assert by_name["creds"].body["lease_duration"] == 1800
    assert by_name["renew past max"].body["lease_duration"] <= 7200
    assert by_name["lookup revoked"].status == 400
    assert_alike(script, [_masked(a) for a in ours], [_masked(a) for a in theirs], INTENDED)
