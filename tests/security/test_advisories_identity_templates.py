"""GHSA-59w7-v8rr-pr4p (OpenBao 2.4): a policy template filled with a value holding `*`, `+` or `/` turned
one user's path into a wildcard or another user's path. An entity whose metadata (which an auth method
may copy from claims a user controls) says `team = "*"` read every team's secrets through
`secret/data/teams/{{identity.entity.metadata.team}}`. Fixed servers grant nothing through
such a rule. Runs against strongroom and OpenBao with the same requests.
"""

from __future__ import annotations

import pytest

from tests.security.advisories import BOTH, enable_auth, ok, target, unique, write_policy

TEMPLATED = """
path "secret/data/teams/{{identity.entity.metadata.team}}" { capabilities = ["read"] }
path "secret/data/teams/{{identity.entity.metadata.team}}/*" { capabilities = ["read"] }
"""


@BOTH
@pytest.mark.parametrize("team", ["*", "+", "blue/../red", "red/x", "re*"])
def test_ghsa_59w7_v8rr_pr4p_template_values_cannot_widen_a_path(
    request: pytest.FixtureRequest, which: str, team: str
) -> None:
    running = target(request, which)
    with running.client() as root:
        for key in ("blue", "red", "red/x", "red/x/y"):
            ok(root.post(f"/v1/secret/data/teams/{key}", json={"data": {"v": key}}))
        policy = write_policy(root, TEMPLATED)
        mount = enable_auth(root, "userpass")
        user = unique("u")
        ok(
            root.post(
                f"/v1/auth/{mount}/users/{user}", json={"password": "pw-long-enough", "policies": policy}
            )
        )
        login = ok(root.post(f"/v1/auth/{mount}/login/{user}", json={"password": "pw-long-enough"}))
        token, entity = login.json()["auth"]["client_token"], login.json()["auth"]["entity_id"]
        ok(root.post(f"/v1/identity/entity/id/{entity}", json={"metadata": {"team": team}}))
        control = unique("team")
        ok(root.post(f"/v1/secret/data/teams/{control}", json={"data": {"v": "mine"}}))
        with running.client(token) as user_client:
            for key in ("blue", "red", "red/x", "red/x/y"):
                answer = user_client.get(f"/v1/secret/data/teams/{key}")
                # OpenBao refuses every request of such a token (400 "Forbidden"); strongroom leaves the rule
                # out (403). Either way nothing is read.
                assert answer.status_code in (400, 403), (team, key, answer.text)
                assert "data" not in answer.json(), (team, key, answer.text)
        # The same template with a plain value does grant: the refusals above are the rule left out.
        ok(root.post(f"/v1/identity/entity/id/{entity}", json={"metadata": {"team": control}}))
        with running.client(token) as user_client:
            assert user_client.get(f"/v1/secret/data/teams/{control}").status_code == 200
        root.delete(f"/v1/sys/auth/{mount}")
