"""CPU per request of the hot path: an authenticated, audited KV v2 read, measured in-process.

Run by hand, never in CI:  uv run python bench/hotpath.py [--requests 5000] [--rounds 5] [--profile]
                           uv run python bench/hotpath.py --op token-lookup | kv-write | approle-login
                           uv run python bench/hotpath.py --op sys-health
Builds the ASGI app as server.py does (dev mode, in memory, unsealed, KV v2 at secret/), gives a token the
same policy as bench/bench.py, enables one file audit device, writes 100 secrets and then drives the app
directly with ASGI calls (no HTTP server, no sockets): the figure is the server's own CPU per request,
steady under the load of other processes where wall-clock throughput is not. Prints the minimum and the
median of the rounds' process CPU µs per request (the minimum is the steadier figure when other processes
compete for the cores); `--profile` prints a cProfile of one round instead (also kept in /tmp/hotpath.prof).
`--storage sqlite` runs on the persistent dev server's SQLite file instead of memory (its commit thread's
CPU counts too). `--stub-core` answers every request with the core's first answer, leaving the HTTP layer's
own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from strongroom.config.server import ServerConfig, StorageConfig
from strongroom.http.app import VaultAPI
from strongroom.server import DevOptions, start_dev_core

POLICY = """
path "secret/data/*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/*" { capabilities = ["list", "read"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
"""
KEYS = 100


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the bench's requests present: the policy token and the AppRole's role_id and secret_id."""

    token: str
    role_id: str
    secret_id: str


async def call(app: VaultAPI, method: str, path: str, token: str, body: Any = None) -> tuple[int, bytes]:
    """One ASGI request to `app`; answers its status and body."""
    payload = b"" if body is None else orjson.dumps(body)
    headers = [(b"host", b"127.0.0.1:8200")]
    if token:
        headers.append((b"x-vault-token", token.encode()))
    if payload:
        headers.append((b"content-length", str(len(payload)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8200),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def prepare(audit_log: Path | None, data_dir: str = "") -> tuple[VaultAPI, Credentials]:
    # As bench/bench.py's dev server: audit devices may be enabled through the API.
    config = ServerConfig(
        storage=StorageConfig(type="sqlite" if data_dir else "inmem"),
        listeners=(),
        unsafe_allow_api_audit_creation=True,
    )
    core, start = await start_dev_core(DevOptions(root_token_id="root", data_dir=data_dir), config)
    app = VaultAPI(core)
    root = start.root_token
    checks = [await call(app, "PUT", "/v1/sys/policies/acl/bench", root, {"policy": POLICY})]
    if audit_log is not None:
        device = {"type": "file", "options": {"file_path": str(audit_log)}}
        checks.append(await call(app, "PUT", "/v1/sys/audit/file", root, device))
    for i in range(KEYS):
        secret = {"data": {"password": f"pw-{i}"}}
        checks.append(await call(app, "PUT", f"/v1/secret/data/bench/r{i}", root, secret))
    checks.append(await call(app, "POST", "/v1/sys/auth/approle", root, {"type": "approle"}))
    role = {"token_policies": ["bench"], "token_ttl": "20m"}
    checks.append(await call(app, "POST", "/v1/auth/approle/role/bench", root, role))
    status, body = await call(app, "GET", "/v1/auth/approle/role/bench/role-id", root)
    checks.append((status, body))
    role_id = orjson.loads(body)["data"]["role_id"] if status == 200 else ""
    status, body = await call(app, "POST", "/v1/auth/approle/role/bench/secret-id", root)
    checks.append((status, body))
    secret_id = orjson.loads(body)["data"]["secret_id"] if status == 200 else ""
    token = {"policies": ["bench"], "ttl": "2h"}
    status, body = await call(app, "POST", "/v1/auth/token/create", root, token)
    checks.append((status, body))
    for status, answer in checks:
        if status >= 300:
            sys.exit(f"setup failed: {status} {answer!r}")
    return app, Credentials(orjson.loads(body)["auth"]["client_token"], role_id, secret_id)


async def round_of(app: VaultAPI, creds: Credentials, op: str, requests: int) -> float:
    """Process CPU µs per request over `requests` requests."""
    token = creds.token
    login = {"role_id": creds.role_id, "secret_id": creds.secret_id}
    started = time.process_time()
    for i in range(requests):
        if op == "kv-read":
            status, _ = await call(app, "GET", f"/v1/secret/data/bench/r{i % KEYS}", token)
        elif op == "sys-health":
            status, _ = await call(app, "GET", "/v1/sys/health", token)
        elif op == "kv-write":
            secret = {"data": {"password": f"pw-{i}", "user": "app"}}
            status, _ = await call(app, "POST", f"/v1/secret/data/bench/w{i % 1000}", token, secret)
        elif op == "approle-login":
            status, _ = await call(app, "POST", "/v1/auth/approle/login", "", login)
        else:
            status, _ = await call(app, "GET", "/v1/auth/token/lookup-self", token)
        if status != 200:
            sys.exit(f"request failed: {status}")
    return (time.process_time() - started) / requests * 1e6


async def stub_core(app: VaultAPI, creds: Credentials, op: str) -> None:
    """From now on the core answers every request at once with its answer to one `op` request."""
    core: Any = app._core
    serve = core.handle
    answers: list[Any] = []

    async def first(request: Any) -> Any:
        answer = await serve(request)
        answers.append(answer)
        return answer

    core.handle = first
    await round_of(app, creds, op, 1)
    canned = answers[0]

    async def canned_answer(_request: Any) -> Any:
        return canned

    core.handle = canned_answer


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--op",
        choices=["kv-read", "token-lookup", "kv-write", "approle-login", "sys-health"],
        default="kv-read",
    )
    parser.add_argument(
        "--storage",
        choices=["memory", "sqlite"],
        default="memory",
        help="sqlite: the persistent dev server's storage (synchronous=FULL: one fsync per commit)",
    )
    parser.add_argument("--no-audit", action="store_true", help="no audit device (to see what audit costs)")
    parser.add_argument(
        "--stub-core",
        action="store_true",
        help="answer every request with the core's first answer: the HTTP layer's own cost around the core",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one round instead of timing")
    parser.add_argument("--sort", default="cumulative", help="the profile's order: cumulative, tottime, ...")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        data_dir = str(Path(workdir) / "data") if args.storage == "sqlite" else ""
        app, creds = await prepare(None if args.no_audit else Path(workdir) / "audit.log", data_dir)
        await round_of(app, creds, args.op, 500)  # warm caches and code paths
        if args.stub_core:
            await stub_core(app, creds, args.op)
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            await round_of(app, creds, args.op, args.requests)
            profile.disable()
            profile.dump_stats("/tmp/hotpath.prof")
            pstats.Stats(profile).sort_stats(args.sort).print_stats(60)
            return
        figures = [await round_of(app, creds, args.op, args.requests) for _ in range(args.rounds)]
        rounds = ", ".join(f"{f:.1f}" for f in figures)
        low, middle = min(figures), statistics.median(figures)
        print(f"{args.op}: min {low:.1f}, median {middle:.1f} µs CPU/request (rounds: {rounds})")


if __name__ == "__main__":
    asyncio.run(main())
