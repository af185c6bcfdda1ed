"""Advisories about ACL policy checks: a token reaching past its policy through the shape of the path.

GHSA-xp3c-3jw3-4vcr (OpenBao 2.6.0): a LIST of a folder walked past `deny` on the folder's wildcard when a
parent wildcard granted `list`.
HCSEC-2026-05 / CVE-2026-3605 (Vault 2.0.0; OpenBao 2.5.3 forbids `.` and `..` segments): a token holding a
KV v2 path through a glob deleted secrets it had no rights on, by a path the ACL check and the engine read
differently.
"""

from __future__ import annotations

import httpx
import pytest

from tests.security.advisories import BOTH, enable_secrets, ok, raw, target, token_with, write_policy


@BOTH
def test_ghsa_xp3c_3jw3_4vcr_list_walks_past_wildcard_deny(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    with running.client() as root:
        mount = enable_secrets(root, "kv", options={"version": "2"})
        ok(root.post(f"/v1/{mount}/data/private/app", json={"data": {"k": "v"}}))
        ok(root.post(f"/v1/{mount}/data/public/app", json={"data": {"k": "v"}}))
        policy = write_policy(
            root,
            f'path "{mount}/metadata/*" {{ capabilities = ["list"] }}\n'
            f'path "{mount}/metadata/private/*" {{ capabilities = ["deny"] }}\n',
        )
        token = token_with(root, [policy])
    with running.client(token) as client:
        # The grant works where no deny reaches: the test can tell a refusal from a broken setup.
        assert client.request("LIST", f"/v1/{mount}/metadata/public").json()["data"]["keys"] == ["app"]
        for attempt in (
            client.request("LIST", f"/v1/{mount}/metadata/private"),
            client.request("LIST", f"/v1/{mount}/metadata/private/"),
            client.get(f"/v1/{mount}/metadata/private", params={"list": "true"}),
        ):
            assert attempt.status_code == 403, (attempt.request.url, attempt.text)
            assert "app" not in attempt.text


def _glob_writer(root: httpx.Client) -> tuple[str, str]:
    """A KV v2 mount with a secret at `prod/db`, and a token that may only work under `labs/`."""
    mount = enable_secrets(root, "kv", options={"version": "2"})
    ok(root.post(f"/v1/{mount}/data/prod/db", json={"data": {"password": "s3cret"}}))
    policy = write_policy(
        root,
        f'path "{mount}/data/labs/*" {{ capabilities = ["create", "read", "update", "delete"] }}\n'
        f'path "{mount}/metadata/labs/*" {{ capabilities = ["read", "list", "delete"] }}\n'
        f'path "{mount}/delete/labs/*" {{ capabilities = ["update"] }}\n'
        f'path "{mount}/destroy/labs/*" {{ capabilities = ["update"] }}\n',
    )
    return mount, token_with(root, [policy])


@BOTH
def test_hcsec_2026_05_cve_2026_3605_kvv2_glob_cannot_delete_outside_by_dot_segments(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    with running.client() as root:
        mount, token = _glob_writer(root)
        with running.client(token) as client:
            ok(client.post(f"/v1/{mount}/data/labs/mine", json={"data": {"x": "1"}}))
            for method, path, body in (
                ("DELETE", f"/v1/{mount}/metadata/labs/../prod/db", None),
                ("DELETE", f"/v1/{mount}/metadata/labs/./../prod/db", None),
                ("DELETE", f"/v1/{mount}/data/labs/../prod/db", None),
                ("DELETE", f"/v1/{mount}/data/labs/../../metadata/prod/db", None),
                ("POST", f"/v1/{mount}/destroy/labs/../prod/db", {"versions": [1]}),
                ("POST", f"/v1/{mount}/delete/labs/../prod/db", {"versions": [1]}),
                ("DELETE", f"/v1/{mount}/metadata/labs/%2e%2e/prod/db", None),
            ):
                attempt = raw(client, method, path, json=body) if body else raw(client, method, path)
                # OpenBao's Go mux answers 307 to the cleaned path (where this token has no rights); what
                # matters is that nothing succeeds here.
                assert attempt.status_code >= 300, (method, path, attempt.status_code, attempt.text)
                assert attempt.status_code < 500, (method, path, attempt.status_code, attempt.text)
        # The secret outside the glob, and its first version, are untouched.
        kept = ok(root.get(f"/v1/{mount}/data/prod/db")).json()["data"]
        assert kept["data"] == {"password": "s3cret"}
        assert kept["metadata"]["deletion_time"] == ""
