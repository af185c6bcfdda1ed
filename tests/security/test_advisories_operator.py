"""Advisories about the operator endpoints that work without a token.

HCSEC-2026-08 / CVE-2026-5807 (OpenBao 2.5.3 `disable_unauthed_generate_root_endpoints`, on by default):
anyone who could reach the API started and cancelled root-token generation, so the operators holding the
unseal keys could never finish one.
HCSEC-2025-11 / CVE-2025-4656, CVE-2025-52894 (OpenBao 2.3.1; `disable_unauthed_rekey_endpoints`, on by
default since 2.5.0): the same with rekey, cancelling the key holders' rekey without a token.
"""

from __future__ import annotations

import httpx
import pytest

from tests.security.advisories import BOTH, target


def _without_token(address: str, method: str, path: str, body: object = None) -> httpx.Response:
    return httpx.request(method, f"{address}/v1/{path}", json=body, timeout=10)


def _cancel(address: str, path: str) -> None:
    """Leave the shared server as it was, should a vulnerable server have let the attempt start."""
    httpx.delete(f"{address}/v1/{path}", headers={"X-Vault-Token": "root"}, timeout=10)


@BOTH
def test_hcsec_2026_08_cve_2026_5807_generate_root_needs_a_token(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    request.addfinalizer(lambda: _cancel(running.address, "sys/generate-root/attempt"))
    for method, path, body in (
        ("PUT", "sys/generate-root/attempt", {}),
        ("DELETE", "sys/generate-root/attempt", None),
        ("PUT", "sys/generate-root/update", {"key": "AAAA", "nonce": "x"}),
    ):
        answer = _without_token(running.address, method, path, body)
        assert 400 <= answer.status_code < 500, (method, path, answer.status_code, answer.text)
    # No attempt was started by anyone without a token.
    with running.client() as root:
        status = root.get("/v1/sys/generate-root/attempt")
        assert status.status_code >= 400 or status.json()["started"] is False, status.text


@BOTH
def test_hcsec_2025_11_cve_2025_4656_rekey_needs_a_token(request: pytest.FixtureRequest, which: str) -> None:
    running = target(request, which)
    request.addfinalizer(lambda: _cancel(running.address, "sys/rekey/init"))
    for method, path, body in (
        ("PUT", "sys/rekey/init", {"secret_shares": 1, "secret_threshold": 1}),
        ("DELETE", "sys/rekey/init", None),
        ("PUT", "sys/rekey/update", {"key": "AAAA", "nonce": "x"}),
    ):
        answer = _without_token(running.address, method, path, body)
        assert 400 <= answer.status_code < 500, (method, path, answer.status_code, answer.text)
    with running.client() as root:
        status = root.get("/v1/sys/rekey/init")
        assert status.status_code >= 400 or status.json()["started"] is False, status.text
