"""Advisories about what the HTTP layer accepts before any handler runs, and what its errors say.

HCSEC-2023-34 / CVE-2023-6337: a request body larger than `max_request_size` was read into memory anyway.
HCSEC-2025-24 / CVE-2025-6203, CVE-2025-59043 (OpenBao 2.4.1 `max_request_json_memory`; HCSEC-2025-31 and
HCSEC-2025-32 the incomplete first fix): a JSON body within the size limit whose parse costs far more
memory than its bytes (deep nesting, millions of tiny values), or holds so many strings that auditing it
(one HMAC each) takes seconds, exhausted the server before any check.
HCSEC-2025-09 / CVE-2025-4166 and CVE-2025-52893 (OpenBao 2.2.2, 2.3.1): an invalid request to KV v2 put
the submitted (secret) value into the error answer and the server log.
"""

from __future__ import annotations

import httpx
import orjson
import pytest

from tests.security.advisories import BOTH, errors_of, target
from tests.servers import RunningServer

LIMIT = 32 * 1024 * 1024
"""Vault's and OpenBao's default max_request_size, which both servers keep."""


def _healthy(address: str) -> bool:
    return httpx.get(f"{address}/v1/sys/health", timeout=10).status_code == 200


def _refused_as_too_complex(running: RunningServer, path: str, body: bytes) -> None:
    """`body` written to `path` is refused for its complexity, before the token is looked at and with root
    too, and nothing is stored."""
    for token in ("", running.root_token):
        answer = httpx.post(
            f"{running.address}{path}",
            content=body,
            headers={"Content-Type": "application/json", "X-Vault-Token": token},
            timeout=60,
        )
        assert answer.status_code == 400, answer.text[:200]
        assert "complexity" in " ".join(errors_of(answer)), answer.text[:200]
    with running.client() as root:
        assert root.get(path).status_code == 404


@BOTH
def test_hcsec_2023_34_cve_2023_6337_body_over_the_limit_is_refused(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    body = b'{"data": {"blob": "' + b"x" * (LIMIT + 1024) + b'"}}'
    with running.client() as root:
        answer = root.post(
            "/v1/secret/data/too-big", content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 413, answer.text[:200]
        assert root.get("/v1/secret/data/too-big").status_code == 404
    assert _healthy(running.address)


@BOTH
def test_hcsec_2025_24_cve_2025_6203_json_nesting_is_refused(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    nested = b'{"data": {"k": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    answer = httpx.post(
        f"{running.address}/v1/secret/data/deep",
        content=nested,
        headers={"X-Vault-Token": running.root_token, "Content-Type": "application/json"},
        timeout=30,
    )
    assert 400 <= answer.status_code < 500, answer.text[:200]
    assert _healthy(running.address)


@BOTH
def test_hcsec_2025_24_cve_2025_59043_json_memory_amplification_is_refused(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    # 6 MiB of empty lists: two million values, each costing dozens of bytes once parsed; well within the
    # size limit, far beyond what the parse of an honest 6 MiB body costs.
    count = 2 * 1024 * 1024
    body = b'{"data": {"k": [' + b"[]," * (count - 1) + b"[]]}}"
    _refused_as_too_complex(running, "/v1/secret/data/wide", body)
    assert _healthy(running.address)


@BOTH
def test_hcsec_2025_24_cve_2025_59043_json_string_count_is_bounded(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    # Every string is one HMAC per audit device: 100,000 of them cost seconds of server time.
    many = orjson.dumps({"data": {"k": ["a"] * 100_000}})
    _refused_as_too_complex(running, "/v1/secret/data/strings", many)
    with running.client() as root:
        # OpenBao's bound (1,000 strings, keys included) holds exactly.
        assert root.post("/v1/secret/data/strings", json={"data": {"k": ["a"] * 998}}).status_code == 200
        assert root.post("/v1/secret/data/strings", json={"data": {"k": ["a"] * 999}}).status_code == 400


SENTINEL = "hunter2-sentinel-9f3c1e"


@BOTH
def test_hcsec_2025_09_cve_2025_4166_invalid_kv_write_does_not_echo_the_value(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    with running.client() as root:
        for body in (
            {"data": SENTINEL},
            {"data": [SENTINEL]},
            {"data": {"k": "v"}, "options": SENTINEL},
            {"data": {"k": "v"}, "options": {"cas": SENTINEL}},
        ):
            answer = root.post("/v1/secret/data/malformed", json=body)
            assert 400 <= answer.status_code < 500, (body, answer.status_code, answer.text)
            assert errors_of(answer), answer.text
            assert SENTINEL not in answer.text, answer.text
    assert SENTINEL not in running.log.read_text(errors="replace")
