"""Resident memory with many live login tokens: strongroom against OpenBao.

Run by hand, never in CI:  uv run python bench/tokens_rss.py [--tokens 20000] [--connections 16]
                           uv run python bench/tokens_rss.py --storage persistent

Both servers start as `bench.py` starts them (dev servers in memory by default, with one file audit device
each unless --no-audit), get the same AppRole (token_ttl 20m, so no token expires during the run), and then
`--tokens` AppRole logins each, sent over `--connections` connections. Every login leaves a live service
token with its lease. Prints each server's RSS idle, after the setup, and after the logins, the memory each
token costs, and the login rate this client reached (a figure for throughput is bench.py's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench import setup, start_servers
from start import rss_mb


async def login_many(address: str, variables: dict[str, str], tokens: int, connections: int) -> int:
    """`tokens` AppRole logins over `connections` keep-alive connections; how many succeeded. A bare
    HTTP/1.1 client: httpx would cap the rate at a few hundred logins a second on this machine."""
    body = json.dumps({"role_id": variables["ROLE_ID"], "secret_id": variables["SECRET_ID"]}).encode()
    host, port = address.removeprefix("http://").rsplit(":", 1)
    request = (
        f"POST /v1/auth/approle/login HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    left = iter(range(tokens))
    issued = 0

    async def connection() -> None:
        nonlocal issued
        reader, writer = await asyncio.open_connection(host, int(port))
        for _ in left:
            writer.write(request)
            status = (await reader.readline()).split()[1]
            length = 0
            while (line := await reader.readline()) != b"\r\n":
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            issued += status == b"200"
        writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return issued


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--storage", choices=("memory", "persistent"), default="memory")
    parser.add_argument("--no-audit", action="store_true", help="no audit device")
    args = parser.parse_args()
    audit = not args.no_audit and args.storage == "memory"  # bench.py audits dev servers only
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        servers = start_servers(stack, workdir, args.storage, audit, None)
        idle = {name: rss_mb(server.process.pid) for name, server in servers.items()}
        variables = {name: setup(server, ["approle-login"], None) for name, server in servers.items()}
        ready = {name: rss_mb(server.process.pid) for name, server in servers.items()}
        print(f"{'server':10} {'idle MB':>8} {'set up MB':>10} {'tokens MB':>10} {'KB/token':>9} "
              f"{'logins/s':>9}")  # fmt: skip
        for name, server in servers.items():
            started = time.perf_counter()
            issued = asyncio.run(login_many(server.address, variables[name], args.tokens, args.connections))
            took = time.perf_counter() - started
            time.sleep(1)  # background work the logins started (audit writes, lease bookkeeping) settles
            after = rss_mb(server.process.pid)
            per_token = (after - ready[name]) * 1024 / max(issued, 1)
            note = f"  (only {issued} issued)" if issued < args.tokens else ""
            print(f"{name:10} {idle[name]:8.1f} {ready[name]:10.1f} {after:10.1f} {per_token:9.2f} "
                  f"{issued / took:9.0f}{note}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
