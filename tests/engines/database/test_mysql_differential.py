"""The MySQL plugin, differentially against OpenBao (both on the same MariaDB, each with users of its
own): the same requests get the same status and words, reads and credentials show the same fields and
forms. OpenBao answers a failed statement with a 500; strongroom with a 400 (INTENDED)."""

from __future__ import annotations

import json
import re
import uuid

import httpx

from tests.mariadb import CREATE_USER, ROOT_PASSWORD, MariaDB
from tests.servers import RunningServer

# Passwords, usernames, lease IDs and times are random or moments: their form is checked, then masked.
MASKS = (
    (re.compile(r'"password":"[A-Za-z0-9-]{20}"'), '"password":"<password>"'),
    (re.compile(r"v-token-app-[A-Za-z0-9]{20}"), "<username>"),
    (re.compile(r"/creds/app/[A-Za-z0-9]{24}"), "/creds/app/<id>"),
    (re.compile(r'"last_vault_rotation":"[0-9T:.-]+Z"'), '"last_vault_rotation":"<time>"'),
    (re.compile(r"st_[0-9a-f]{8}"), "<user>"),
)
INTENDED_STATUS = {500: 400}


def normalized(response: httpx.Response) -> tuple[int, str]:
    if response.status_code == 204:
        return 204, ""
    payload = response.json()
    body = payload.get("errors") or {
        k: payload[k] for k in ("data", "lease_duration", "renewable") if k in payload
    }
    text = (
        json.dumps(body, sort_keys=True, separators=(",", ":"))
        .replace("1 error occurred:\\n\\t* ", "")
        .replace("\\n\\n", "")
    )
    for pattern, mask in MASKS:
        text = pattern.sub(mask, text)
    return INTENDED_STATUS.get(response.status_code, response.status_code), text


def script(client: httpx.Client, mariadb: MariaDB, mount: str, user: str) -> list[tuple[int, str]]:
    config = {
        "plugin_name": "mysql-database-plugin", "connection_url": mariadb.dsn(), "username": "root",
        "password": ROOT_PASSWORD, "allowed_roles": "*",
    }  # fmt: skip
    steps = [
        ("POST", "config/my", config),
        ("GET", "config/my", None),
        ("POST", "config/bad", {**config, "password": "wrong"}),
        ("POST", "config/bad", {**config, "connection_url": "nonsense"}),
        ("POST", "roles/app", {"db_name": "my", "creation_statements": [CREATE_USER]}),
        ("GET", "roles/app", None),
        ("GET", "creds/app", None),
        ("POST", "static-roles/st", {"db_name": "my", "username": user, "rotation_period": "1h"}),
        ("GET", "static-roles/st", None),
        ("GET", "static-creds/st", None),
        ("POST", "static-roles/gone", {"db_name": "my", "username": "nobody_x", "rotation_period": "1h"}),
        ("POST", "roles/bad", {"db_name": "my", "creation_statements": [CREATE_USER + " OOPS"]}),
        ("GET", "creds/bad", None),
    ]
    return [normalized(client.request(m, f"/v1/{mount}/{p}", json=b)) for m, p, b in steps]


def test_mysql_answers_as_openbao(server: RunningServer, bao: RunningServer, mariadb: MariaDB) -> None:
    mount = f"my-{uuid.uuid4().hex[:8]}"
    answers, users = [], []
    with server.client() as ours, bao.client() as theirs:
        try:
            for client in (ours, theirs):
                user = f"st_{uuid.uuid4().hex[:8]}"
                users.append(user)
                mariadb.query(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'initial-pw'")
                client.post(f"/v1/sys/mounts/{mount}", json={"type": "database"}).raise_for_status()
                answers.append(script(client, mariadb, mount, user))
        finally:
            for client in (ours, theirs):
                client.delete(f"/v1/sys/mounts/{mount}")
            for user in users:
                mariadb.query(f"DROP USER IF EXISTS '{user}'@'%'")
    ours_answers, theirs_answers = answers
    for step, (mine, reference) in enumerate(zip(ours_answers, theirs_answers, strict=True)):
        assert mine == reference, f"step {step}"
