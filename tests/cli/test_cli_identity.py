"""The generic CLI commands on identity paths, and `token lookup` with a token that has an entity and
identity policies: our CLI and the bao CLI print the same, against strongroom and against OpenBao.
"""

from __future__ import annotations

import json
import re

from tests.cli.dual import Run, api, bao_cli, dual_target, same, strongroom
from tests.servers import RunningServer

__all__ = ["bao_cli", "dual_target", "strongroom"]

_COUNTDOWN = re.compile(r"^(ttl\s+)\S+$", re.MULTILINE)


def _entity_token(server: RunningServer, name: str) -> tuple[str, str]:
    """A userpass login of a user whose entity is in a group with policy "<name>-group": (token, entity)."""
    api(server, "POST", f"sys/auth/{name}", {"type": "userpass"})
    api(server, "POST", f"auth/{name}/users/u", {"password": "pw", "token_policies": "default"})
    with server.client("") as anonymous:
        auth = anonymous.post(f"/v1/auth/{name}/login/u", json={"password": "pw"}).json()["auth"]
    api(server, "POST", f"identity/entity/id/{auth['entity_id']}", {"policies": [f"{name}-entity"]})
    api(
        server,
        "POST",
        f"identity/group/name/{name}",
        {"member_entity_ids": [auth["entity_id"]], "policies": [f"{name}-group"]},
    )
    return auth["client_token"], auth["entity_id"]


def _without_countdown(text: str) -> str:
    return _COUNTDOWN.sub(r"\1<ttl>", text)


def test_token_lookup_shows_identity_fields_as_bao_does(
    dual_target: RunningServer, strongroom: Run, bao_cli: Run, unique: str
) -> None:
    token, entity = _entity_token(dual_target, unique)
    ours, theirs = strongroom("token", "lookup", token), bao_cli("token", "lookup", token)
    assert _without_countdown(ours.out) == _without_countdown(theirs.out)
    assert (ours.code, ours.err) == (theirs.code, theirs.err) == (0, "")
    assert re.search(rf"^entity_id\s+{entity}$", ours.out, re.MULTILINE)
    assert re.search(rf"^identity_policies\s+\[{unique}-entity {unique}-group\]$", ours.out, re.MULTILINE)
    ours_json = json.loads(strongroom("token", "lookup", "-format=json", token).out)
    theirs_json = json.loads(bao_cli("token", "lookup", "-format=json", token).out)
    for answer in (ours_json, theirs_json):
        answer["data"]["ttl"] = answer["request_id"] = None
    assert ours_json == theirs_json
    assert ours_json["data"]["identity_policies"] == [f"{unique}-entity", f"{unique}-group"]
    assert ours_json["data"]["external_namespace_policies"] == {}


def test_generic_commands_reach_identity(
    dual_target: RunningServer, strongroom: Run, bao_cli: Run, unique: str
) -> None:
    for run in (strongroom, bao_cli):
        name = f"{unique}-{'s' if run is strongroom else 'b'}"
        wrote = run("write", f"identity/entity/name/{name}", "policies=p1", "metadata=team=blue")
        assert wrote.code == 0, wrote.err
        read = run("read", "-format=json", f"identity/entity/name/{name}")
        assert json.loads(read.out)["data"]["metadata"] == {"team": "blue"}
        listed = run("list", "-format=json", "identity/entity/name")
        assert name in json.loads(listed.out)
        assert run("delete", f"identity/entity/name/{name}").code == 0
        assert run("read", f"identity/entity/name/{name}").code == 2
    same(
        strongroom("read", "identity/entity/name/nobody-here"),
        bao_cli("read", "identity/entity/name/nobody-here"),
    )
    same(strongroom("list", "identity/group/name/none/"), bao_cli("list", "identity/group/name/none/"))
    ours = strongroom("write", "identity/group", "type=nope")
    theirs = bao_cli("write", "identity/group", "type=nope")
    assert (ours.code, ours.err.replace(dual_target.address, "ADDR")) == (
        theirs.code,
        theirs.err.replace(dual_target.address, "ADDR"),
    )
