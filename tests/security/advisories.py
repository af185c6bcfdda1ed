"""What the advisory regression tests share: one parametrization that runs a test against strongroom and
against OpenBao 2.7.2 (patched for every advisory here, so a test that passes there is known to test
something real), and a few setup steps every advisory's attack starts from.

Each helper is a plain HTTP request over loopback; none of them asserts anything an advisory is about.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

import httpx
import pytest

from tests.servers import RunningServer

BOTH = pytest.mark.parametrize("which", ["strongroom", "openbao"])
"""Run the test once against each server; the test takes `request` and `which` and calls `target`."""


def target(request: pytest.FixtureRequest, which: str) -> RunningServer:
    """The session's strongroom (`server`) or OpenBao (`bao`) dev server, by `which`."""
    return request.getfixturevalue("server" if which == "strongroom" else "bao")  # type: ignore[no-any-return]


def unique(prefix: str) -> str:
    """A name no other test of the session uses (servers are shared by the whole session)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ok(response: httpx.Response) -> httpx.Response:
    """`response`, after checking that it succeeded (setup steps must not fail silently)."""
    assert response.status_code < 300, (response.request.method, response.request.url, response.text)
    return response


def enable_secrets(root: httpx.Client, engine: str, **options: object) -> str:
    """Mount `engine` at a fresh path; its path (without slashes)."""
    path = unique(engine)
    ok(root.post(f"/v1/sys/mounts/{path}", json={"type": engine, **options}))
    return path


def enable_auth(root: httpx.Client, method: str, **options: object) -> str:
    """Enable auth method `method` at a fresh path; the path (without `auth/`)."""
    path = unique(method)
    ok(root.post(f"/v1/sys/auth/{path}", json={"type": method, **options}))
    return path


def write_policy(root: httpx.Client, rules: str) -> str:
    """Store an ACL policy with `rules` under a fresh name; the name."""
    name = unique("pol")
    ok(root.put(f"/v1/sys/policies/acl/{name}", json={"policy": rules}))
    return name


def token_with(root: httpx.Client, policies: Sequence[str], **options: object) -> str:
    """A child token of root with exactly `policies` (no default policy)."""
    body = {"policies": list(policies), "no_default_policy": True, **options}
    return str(ok(root.post("/v1/auth/token/create", json=body)).json()["auth"]["client_token"])


def raw(client: httpx.Client, method: str, target_path: str, **kwargs: object) -> httpx.Response:
    """Send `target_path` exactly as written (httpx would resolve `.` and `..` segments before sending)."""
    return client.request(method, target_path, extensions={"target": target_path.encode()}, **kwargs)  # type: ignore[arg-type]


def errors_of(response: httpx.Response) -> list[str]:
    """The `errors` list of a Vault-shaped error answer (empty when there is none)."""
    try:
        body = response.json()
    except ValueError:
        return []
    return list(body.get("errors") or []) if isinstance(body, dict) else []


def contains_any(haystack: str, needles: Iterable[str]) -> list[str]:
    """The needles found in haystack."""
    return [needle for needle in needles if needle in haystack]
