"""Differential test of auth/kubernetes: one script to strongroom and to OpenBao, both configured against
the same stand-in API server (tests/kubeapi.py; no cluster here), answers compared: config and role
validation, role reads, and logins that pass or are refused locally or by the TokenReview.

Every difference kept on purpose is in INTENDED with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from tests.interop.differential import Answer, Intended, Step, assert_alike, run
from tests.kubeapi import Account, KubeAPI, kube_api_server
from tests.servers import RunningServer

M = "diffk8s"
ROLE = f"auth/{M}/role"
LOGIN = f"auth/{M}/login"
NAMES = {"bound_service_account_names": "billing", "bound_service_account_namespaces": "apps"}


def get(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "GET", f"/v1/{path}", **kw)


def post(name: str, path: str, body: Any = None, **kw: Any) -> Step:
    return Step(name, "POST", f"/v1/{path}", body={} if body is None else body, **kw)


def lst(name: str, path: str) -> Step:
    return Step(name, "LIST", f"/v1/{path}")


def steps(kube: KubeAPI) -> list[Step]:
    app = Account("apps", "billing", uid="4f1e6c2a-7a51-4c1e-9a7e-0b3f4d5e6a7b")
    config = {"kubernetes_host": kube.address, "kubernetes_ca_cert": kube.ca_pem}
    revoked = kube.issue(app)
    team_a, team_b = Account("team-a", "web"), Account("team-b", "web")
    kube.namespaces |= {"team-a": {"team": "a"}, "team-b": {"team": "b"}}
    reviewer = kube.issue(Account("strongroom", "strongroom"))
    kube.reviewers.add(reviewer)
    claims = jwt.decode(kube.issue(app), options={"verify_signature": False})
    hs256 = jwt.encode(claims, "a-shared-secret-of-32-bytes-or-more", algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    kube.revoke(revoked)
    return [
        post("enable", f"sys/auth/{M}", {"type": "kubernetes"}),
        get("read config unset", f"auth/{M}/config"),
        post("role before config", f"{ROLE}/early", NAMES),
        post("login before config", LOGIN, {"role": "early", "jwt": kube.issue(app)}, token=""),
        post("config without host", f"auth/{M}/config", {}),
        post("config local disabled without ca", f"auth/{M}/config", {"kubernetes_host": kube.address,
             "disable_local_ca_jwt": True}),
        post("config bad pem key", f"auth/{M}/config", {**config, "pem_keys": "garbage"}),
        post("config no ca outside a pod", f"auth/{M}/config", {"kubernetes_host": kube.address}),
        post("config", f"auth/{M}/config", {**config, "pem_keys": [kube.key.public_pem()]}),
        get("read config", f"auth/{M}/config"),
        post("config plain", f"auth/{M}/config", {**config, "token_reviewer_jwt": "",
             "disable_local_ca_jwt": True}),
        get("read config plain", f"auth/{M}/config"),
        lst("list none", ROLE),
        post("role empty", f"{ROLE}/r", {}),
        post("role no namespaces", f"{ROLE}/r", {"bound_service_account_names": "a"}),
        post("role star mixed in names", f"{ROLE}/r", {**NAMES, "bound_service_account_names": "a,*"}),
        post("role star mixed in namespaces", f"{ROLE}/r",
             {**NAMES, "bound_service_account_namespaces": "x,*"}),
        post("role selector not yaml", f"{ROLE}/r", {"bound_service_account_names": "a",
             "bound_service_account_namespace_selector": "not yaml: ["}),
        post("role selector expressions", f"{ROLE}/r", {"bound_service_account_names": "a",
             "bound_service_account_namespace_selector": '{"matchExpressions": []}'}),
        post("role selector list", f"{ROLE}/r", {"bound_service_account_names": "a",
             "bound_service_account_namespace_selector": "[1, 2]"}),
        post("role bad alias source", f"{ROLE}/r", {**NAMES, "alias_name_source": "bogus"}),
        post("role ttl over max", f"{ROLE}/r", {**NAMES, "token_ttl": "2h", "token_max_ttl": "1h"}),
        post("role bad token type", f"{ROLE}/r", {**NAMES, "token_type": "bad"}),
        post("role period over mount max", f"{ROLE}/r", {**NAMES, "token_period": "999999h"}),
        post("role legacy fields", f"{ROLE}/legacy", {**NAMES, "audience": "vault", "policies": "p1",
             "ttl": 60, "period": "2m"}),
        get("read legacy", f"{ROLE}/legacy"),
        post("role selector yaml", f"{ROLE}/sel", {"bound_service_account_names": "*",
             "bound_service_account_namespace_selector": "matchLabels:\n  team: x\n"}),
        get("read selector role", f"{ROLE}/sel"),
        post("update clears selector", f"{ROLE}/sel", {"token_ttl": 30}),
        post("role upper case", f"{ROLE}/APP", {**NAMES, "token_policies": "app-read", "token_ttl": "1h",
             "alias_name_source": "serviceaccount_name"}),
        get("read app", f"{ROLE}/app"),
        get("read app upper", f"{ROLE}/App"),
        get("read missing", f"{ROLE}/nope"),
        lst("list roles", ROLE),
        post("login without role", LOGIN, {"jwt": "x"}, token=""),
        post("login without jwt", LOGIN, {"role": "app"}, token=""),
        post("login unknown role", LOGIN, {"role": "nope", "jwt": "x"}, token=""),
        post("login garbage jwt", LOGIN, {"role": "app", "jwt": "x"}, token=""),
        post("login hs256 jwt", LOGIN, {"role": "app", "jwt": hs256}, token=""),
        post("login unsigned jwt", LOGIN, {"role": "app", "jwt": unsigned}, token=""),
        post("login", LOGIN, {"role": "app", "jwt": kube.issue(app)}, token="",
             save={"tok": "auth.client_token"}),
        get("lookup login token", "auth/token/lookup-self", token="${tok}"),
        post("login upper role", LOGIN, {"role": "APP", "jwt": kube.issue(app)}, token=""),
        post("login legacy token", LOGIN, {"role": "app", "jwt": kube.issue(app, legacy=True)}, token=""),
        post("login wrong name", LOGIN, {"role": "app", "jwt": kube.issue(Account("apps", "payroll"))},
             token=""),
        post("login wrong namespace", LOGIN, {"role": "app", "jwt": kube.issue(Account("dev", "billing"))},
             token=""),
        post("login revoked", LOGIN, {"role": "app", "jwt": revoked}, token=""),
        post("login expired", LOGIN, {"role": "app", "jwt": kube.issue(app, lifetime=-600)}, token=""),
        post("login wrong audience", LOGIN, {"role": "legacy", "jwt": kube.issue(app)}, token=""),
        post("login right audience", LOGIN, {"role": "legacy", "jwt": kube.issue(app, audience="vault")},
             token=""),
        post("role selector team a", f"{ROLE}/sel2", {"bound_service_account_names": "*",
             "bound_service_account_namespace_selector": '{"matchLabels": {"team": "a"}}'}),
        post("selector login without reviewer", LOGIN, {"role": "sel2", "jwt": kube.issue(team_a)}, token=""),
        post("config with reviewer", f"auth/{M}/config", {**config, "token_reviewer_jwt": reviewer}),
        get("read config with reviewer", f"auth/{M}/config"),
        post("selector login labelled", LOGIN, {"role": "sel2", "jwt": kube.issue(team_a)}, token=""),
        post("selector login other team", LOGIN, {"role": "sel2", "jwt": kube.issue(team_b)}, token=""),
        post("selector login unknown namespace", LOGIN,
             {"role": "sel2", "jwt": kube.issue(Account("nowhere", "web"))}, token=""),
        post("reviewer login", LOGIN, {"role": "app", "jwt": kube.issue(app)}, token=""),
        Step("disable", "DELETE", f"/v1/sys/auth/{M}"),
    ]  # fmt: skip


_NEVER_500 = "OpenBao answers 500 for this; strongroom answers 400 with the same words"
INTENDED: list[Intended] = [
    Intended("login before config", "status", _NEVER_500),
]


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeAPI]:
    with kube_api_server(tmp_path_factory.mktemp("kubeapi")) as api:
        yield api


@pytest.fixture(scope="module")
def script(kube: KubeAPI) -> list[Step]:
    return steps(kube)


@pytest.fixture(scope="module")
def answers(
    server: RunningServer, bao: RunningServer, script: list[Step]
) -> tuple[list[Answer], list[Answer]]:
    return run(server, script), run(bao, script)


def test_script_is_broad_and_names_are_unique(script: list[Step]) -> None:
    names = [step.name for step in script]
    assert len(names) >= 40
    assert len(set(names)) == len(names)


def test_logins_reached_the_stand_in(answers: tuple[list[Answer], list[Answer]], script: list[Step]) -> None:
    ours, theirs = answers
    index = [step.name for step in script].index("login")
    assert ours[index].status == theirs[index].status == 200
    assert ours[index].body["auth"]["metadata"]["service_account_name"] == "billing"


def test_kubernetes_answers_as_openbao_does(
    answers: tuple[list[Answer], list[Answer]], script: list[Step]
) -> None:
    ours, theirs = answers
    assert_alike(script, ours, theirs, INTENDED)
