"""A seeded random differential of the ACL: random policies, random requests, strongroom against OpenBao.

Each round writes one or two random policies (exact paths, "*" prefixes, "+" segments, trailing slashes,
deny, and every capability) to both servers, gives a token those policies, and sends the same random
requests with it to both: reads, writes, deletes, LIST with and without its trailing slash and as
GET ?list=true, on a KV v2 and a KV v1 mount, on userpass users and AppRole roles named in any case, on sys
paths (policy names in any case), and on paths that no mount handles. Every status code must be the same
(but for the few differences outside the ACL listed in EXCUSED), and so must sys/capabilities' answer for
random paths of every shape.

Both servers are the session's dev servers; the mounts and policies here carry a run-unique suffix, so the
state the requests meet is the same on both. The seed is fixed (set ACL_DIFF_SEED to explore others).
"""

from __future__ import annotations

import os
import random
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.servers import RunningServer

SEED = int(os.environ.get("ACL_DIFF_SEED", "18"))
ROUNDS = 60
REQUESTS_PER_ROUND = 50
CAPABILITY_PATHS_PER_ROUND = 20

SUFFIX = uuid.uuid4().hex[:6]
KV2 = f"kv2-{SUFFIX}"
KV1 = f"kv1-{SUFFIX}"
NOWHERE = f"nowhere-{SUFFIX}"
USERPASS = f"up-{SUFFIX}"
APPROLE = f"ar-{SUFFIX}"
# Names the userpass and AppRole backends fold: the ACL must see them folded, on both servers.
FOLDED = ("admin", "ADMIN", "Admin", "bob", "BOB")
GUARDED = f"guarded-{SUFFIX}"
NAMES = ("a", "b", "ab", "private", "x")
SEEDED = ("a", "a/b", "ab", "private/a", "private/b/c", "x")
CAPABILITIES = ("create", "read", "update", "patch", "delete", "list", "sudo")

# Differences outside the ACL, on requests both servers allowed: (regex over "METHOD path", our status,
# OpenBao's, why). Any other status mismatch fails the test.
EXCUSED: tuple[tuple[str, int, int, str], ...] = (
    (
        r"(GET|LIST) /v1/sys/mounts(/|\?list=true|/\?list=true)?$",
        200,
        404,
        "the sys backend's routing: a GET of sys/mounts/ lists the mounts where OpenBao's pattern takes no "
        "trailing slash (404, unsupported path)",
    ),
    (r"(LIST|GET) /v1/sys/mounts(/|\?list=true|/\?list=true)?$", 405, 404, "the same, for LIST"),
    (
        r"GET /v1/sys/policies/acl/[^/?]+/$",
        404,
        200,
        "the policy store: OpenBao reads sys/policies/acl/<name>/ as policy <name> (so there a deny on "
        "sys/policies/acl/<name> is dodged by the slash); strongroom looks for a policy named '<name>/'",
    ),
    (
        r"(LIST /v1/sys/policies/acl/[^/?]+/?|GET /v1/sys/policies/acl/[^/?]+/?\?list=true)$",
        405,
        404,
        "the sys backend's routing: a LIST of a policy's own path is 405 (unsupported operation) here, "
        "404 (unsupported path) in OpenBao",
    ),
    (
        rf"GET /v1/{KV2}/metadata/.+/$",
        404,
        200,
        "the KV v2 engine: OpenBao reads metadata/<key>/ as the metadata of <key>; strongroom finds no key",
    ),
    (
        rf"GET /v1/{KV2}/data/.+/$",
        404,
        500,
        "the KV v2 engine: OpenBao fails a read of data/<key>/ of a written key with 500 (could not find "
        "version data); strongroom finds no key",
    ),
)


@dataclass(frozen=True)
class Call:
    """One request as data: sent alike to both servers."""

    method: str
    path: str
    body: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}" + (f" {self.body}" if self.body is not None else "")


def segments(rng: random.Random) -> list[str]:
    """A random path below the API root, as segments, over the mounts the test made and sys."""
    kind = rng.choice(("kv2", "kv2", "kv1", "nowhere", "sys", "userpass", "approle"))
    names = [rng.choice(NAMES) for _ in range(rng.randint(0, 3))]
    if kind == "userpass":
        # Only users/<name>: OpenBao leaves users/<name>/password and /policies unfolded (tests/api/
        # test_acl_http.py shows that strongroom folds them too).
        return ["auth", USERPASS, "users", *[rng.choice(FOLDED)][: rng.randint(0, 1)]]
    if kind == "approle":
        more = rng.choice(([], [], ["role-id"], ["policies"], ["secret-id"]))
        return ["auth", APPROLE, "role", rng.choice(FOLDED), *more]
    if kind == "kv2":
        return [KV2, rng.choice(("data", "metadata", "data", "metadata", "config")), *names]
    if kind == "kv1":
        return [KV1, *names]
    if kind == "nowhere":
        return [NOWHERE, *names[:2]]
    policy = rng.choice((GUARDED, GUARDED.upper()))
    return ["sys", *rng.choice((["policies", "acl"], ["policy"], ["mounts"], ["policies", "acl", policy]))]


def random_path(rng: random.Random) -> str:
    path = "/".join(segments(rng))
    return path + "/" if rng.random() < 0.25 else path


def random_pattern(rng: random.Random) -> str:
    """A policy path: a random path with some segments made "+", ending exact, in "/", "*" or "<part>*"."""
    parts = [("+" if rng.random() < 0.2 else part) for part in segments(rng)]
    ending = rng.random()
    pattern = "/".join(parts)
    if ending < 0.3:
        return pattern + "/*"
    if ending < 0.45 and parts[-1] != "+":
        # "+*" is not a pattern Vault accepts.
        return pattern + "*"
    if ending < 0.55 and parts[-1] != "+":
        return pattern[: len(pattern) - rng.randint(1, len(parts[-1]))] + "*"
    if ending < 0.65:
        return pattern + "/"
    if ending < 0.7:
        return pattern + "/+"
    return pattern


def random_policy(rng: random.Random) -> str:
    rules = []
    for _ in range(rng.randint(1, 6)):
        deny = rng.random() < 0.2
        capabilities = ["deny"] if deny else rng.sample(CAPABILITIES, rng.randint(1, 4))
        names = ", ".join(f'"{c}"' for c in capabilities)
        rules.append(f'path "{random_pattern(rng)}" {{ capabilities = [{names}] }}')
    return "\n".join(rules) + "\n"


def random_call(rng: random.Random) -> Call:
    path = random_path(rng)
    kind = rng.random()
    if kind < 0.3:
        return Call("GET", f"/v1/{path}")
    if kind < 0.5:
        return Call("LIST", f"/v1/{path}")
    if kind < 0.6:
        return Call("GET", f"/v1/{path}?list=true")
    if path.startswith("sys/"):
        # Requests that could change the servers' shared state (mounts, policies) are never sent.
        return Call("GET", f"/v1/{path}")
    if kind < 0.85:
        return Call("POST", f"/v1/{path}", write_body(path))
    return Call("DELETE", f"/v1/{path}")


def write_body(path: str) -> dict[str, Any]:
    if path.startswith(f"{KV2}/data/"):
        return {"data": {"v": "1"}}
    if path.startswith(f"auth/{USERPASS}/"):
        return {"password": "pw"}
    if path.startswith(f"auth/{APPROLE}/") and path.endswith("/policies"):
        return {"token_policies": "default"}
    if path.startswith(f"auth/{APPROLE}/"):
        return {} if path.endswith("/secret-id") else {"token_ttl": "1h"}
    return {"v": "1"}


def random_query_path(rng: random.Random) -> str:
    path = random_path(rng)
    shape = rng.random()
    if shape < 0.1:
        return "/" + path
    if shape < 0.2:
        return path.rstrip("/") + "/+"
    return path


@dataclass(frozen=True)
class Round:
    """One token's policies, requests and capability queries."""

    policies: tuple[str, ...]
    calls: tuple[Call, ...]
    queried: tuple[str, ...]


def script(seed: int) -> list[Round]:
    rng = random.Random(seed)
    return [
        Round(
            policies=tuple(random_policy(rng) for _ in range(rng.randint(1, 2))),
            calls=tuple(random_call(rng) for _ in range(REQUESTS_PER_ROUND)),
            queried=tuple(random_query_path(rng) for _ in range(CAPABILITY_PATHS_PER_ROUND)),
        )
        for _ in range(ROUNDS)
    ]


@dataclass(frozen=True)
class Answers:
    statuses: list[int]
    capabilities: list[dict[str, list[str]]]


def prepare(server: RunningServer) -> None:
    with server.client() as root:
        for mount, version in ((KV2, "2"), (KV1, "1")):
            answer = root.post(
                f"/v1/sys/mounts/{mount}", json={"type": "kv", "options": {"version": version}}
            )
            assert answer.status_code == 204, answer.text
        for key in SEEDED:
            assert root.post(f"/v1/{KV2}/data/{key}", json={"data": {"v": "0"}}).status_code == 200
            assert root.post(f"/v1/{KV1}/{key}", json={"v": "0"}).status_code == 204
        for mount, kind in ((USERPASS, "userpass"), (APPROLE, "approle")):
            assert root.post(f"/v1/sys/auth/{mount}", json={"type": kind}).status_code == 204
        for name in ("admin", "bob"):
            assert root.post(f"/v1/auth/{USERPASS}/users/{name}", json={"password": "pw"}).status_code == 204
            assert root.post(f"/v1/auth/{APPROLE}/role/{name}", json={"token_ttl": "1h"}).status_code == 204
        policy = {"policy": 'path "a" { capabilities = ["read"] }'}
        assert root.put(f"/v1/sys/policies/acl/{GUARDED}", json=policy).status_code == 204


def play(server: RunningServer, rounds: list[Round]) -> Answers:
    """Every round against `server`, in order: status codes and capability answers."""
    statuses: list[int] = []
    capabilities: list[dict[str, list[str]]] = []
    with server.client() as root, httpx.Client(base_url=server.address, timeout=10) as client:
        for index, round_ in enumerate(rounds):
            names = []
            for number, text in enumerate(round_.policies):
                name = f"acl-diff-{SUFFIX}-{index}-{number}"
                answer = root.put(f"/v1/sys/policies/acl/{name}", json={"policy": text})
                assert answer.status_code == 204, (text, answer.text)
                names.append(name)
            created = root.post("/v1/auth/token/create", json={"policies": names, "no_default_policy": True})
            token = created.json()["auth"]["client_token"]
            for call in round_.calls:
                answer = client.request(
                    call.method, call.path, json=call.body, headers={"X-Vault-Token": token}
                )
                statuses.append(answer.status_code)
            answer = root.post("/v1/sys/capabilities", json={"token": token, "paths": list(round_.queried)})
            assert answer.status_code == 200, answer.text
            capabilities.append({path: answer.json()["data"][path] for path in round_.queried})
    return Answers(statuses, capabilities)


@pytest.fixture(scope="module")
def answers(server: RunningServer, bao: RunningServer) -> tuple[list[Round], Answers, Answers]:
    rounds = script(SEED)
    prepare(server)
    prepare(bao)
    with ThreadPoolExecutor(2) as pool:
        ours, theirs = pool.map(lambda target: play(target, rounds), (server, bao))
    return rounds, ours, theirs


def test_the_script_is_broad() -> None:
    """The generator reaches every shape the ACL distinguishes (so the comparison below means something)."""
    rounds = script(SEED)
    patterns = "\n".join(text for r in rounds for text in r.policies)
    calls = [c for r in rounds for c in r.calls]
    for needle in ('/+"', "/+/", '*"', '/"', '["deny"]', NOWHERE, '"sudo"'):
        assert needle in patterns, needle
    for method in ("GET", "LIST", "POST", "DELETE"):
        assert any(c.method == method for c in calls), method
    assert any(c.method == "LIST" and not c.path.endswith("/") for c in calls)
    assert any(c.method == "LIST" and c.path.endswith("/") for c in calls)
    assert any(c.path.endswith("?list=true") for c in calls)
    for folded in (f"{USERPASS}/users/ADMIN", f"{APPROLE}/role/Admin/", f"acl/{GUARDED.upper()}"):
        assert any(folded in c.path for c in calls), folded
    assert sum(len(r.calls) + len(r.queried) for r in rounds) >= 3000


def test_every_status_is_openbaos(answers: tuple[list[Round], Answers, Answers]) -> None:
    rounds, ours, theirs = answers
    calls = [(index, call) for index, r in enumerate(rounds) for call in r.calls]
    mismatches = []
    for (index, call), mine, reference in zip(calls, ours.statuses, theirs.statuses, strict=True):
        if mine == reference or any(
            re.match(pattern, f"{call.method} {call.path}") and (mine, reference) == (a, b)
            for pattern, a, b, _why in EXCUSED
        ):
            continue
        mismatches.append(
            f"round {index} {call}: strongroom {mine}, OpenBao {reference}\n{rounds[index].policies}"
        )
    assert not mismatches, f"{len(mismatches)} of {len(calls)} differ:\n" + "\n".join(mismatches[:20])


def test_every_capabilities_answer_is_openbaos(answers: tuple[list[Round], Answers, Answers]) -> None:
    rounds, ours, theirs = answers
    mismatches = [
        f"round {index} {path}: strongroom {mine[path]}, OpenBao {reference[path]}\n{rounds[index].policies}"
        for index, (mine, reference) in enumerate(zip(ours.capabilities, theirs.capabilities, strict=True))
        for path in mine
        if mine[path] != reference[path]
    ]
    assert not mismatches, f"{len(mismatches)} differ:\n" + "\n".join(mismatches[:20])
