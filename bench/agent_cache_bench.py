"""Benchmark KV reads through strongroom's agent cache against OpenBao Agent's proxy, in one run.

Run by hand, never in CI:
    uv run python bench/agent_cache_bench.py [--seconds 5] [--clients 1,4] [--rounds 20]

Starts a strongroom dev server and an OpenBao dev server (both allowing audit devices through the API),
each with a KV v2 secret and a file audit device, and beside each its agent with the same agent.hcl:
token_file auto-auth (the root token), `api_proxy { use_auto_auth_token = true }`, `cache {}` and a TCP
listener. OpenBao Agent's `cache {}` is its lease cache, which does not cache KV reads; strongroom's
caches them per token and path and drops an entry on the server's KV event.

Measured per agent:
- reads/s: `--clients` threads, each with its own keep-alive connection, GET the secret through the
  agent in a loop for `--seconds`;
- server requests per client read: the audit log's responses during that loop over the client reads;
- change to cached value: a new value is written to the server (HTTP PUT) and one client polls the agent
  until it answers with it; from just after the write returned; `--rounds` times.
- leased reads: `--leased` GETs of database credentials (a real PostgreSQL, started here) through the
  agent, one client: reads/s, server requests, and distinct leases handed out (both agents' lease caches
  keep the first answer and renew it, so 1 and 1 is the expected answer).
The load generator is Python on the same machine, so reads/s are a floor: a client request costs about
a millisecond, /agent/v1/metrics (no proxying at all) answers only ~0.2 ms faster than a cached read, so
the client, not the cache, is the limit; the server's side of it is the server-requests column.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.postgres import Postgres, postgres_server
from tests.servers import (
    API_AUDIT,
    RunningServer,
    bao_binary,
    bao_dev_server,
    free_port,
    stop,
    strongroom_dev_server,
)

SECRET = "secret/data/bench"


def prepare(server: RunningServer, directory: Path) -> Path:
    """The secret and the audit device on `server`; the audit log's path."""
    audit = directory / "audit.log"
    with server.client() as root:
        root.put(f"/v1/{SECRET}", json={"data": {"v": "0"}}).raise_for_status()
        answer = root.put("/v1/sys/audit/bench", json={"type": "file", "options": {"file_path": str(audit)}})
        answer.raise_for_status()
    return audit


def start_agent(name: str, server: RunningServer, directory: Path) -> tuple[str, subprocess.Popen[bytes]]:
    (directory / "token").write_text(server.root_token)
    port = free_port()
    config = directory / "agent.hcl"
    config.write_text(
        f'vault {{\n  address = "{server.address}"\n}}\n'
        f'auto_auth {{\n  method "token_file" {{\n    config = {{ token_file_path = "{directory}/token" }}\n'
        "  }\n}\n"
        "cache {\n}\napi_proxy {\n  use_auto_auth_token = true\n}\n"
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
    )
    argv = (
        [sys.executable, "-m", "strongroom", "agent", f"-config={config}"]
        if name == "strongroom"
        else [bao_binary(), "agent", f"-config={config}"]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    with (directory / "agent.log").open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env | {"HOME": str(directory)}
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/v1/{SECRET}", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            sys.exit(f"{name} agent never answered:\n{(directory / 'agent.log').read_text()[-3000:]}")
        time.sleep(0.05)
    # strongroom's cache opens the token's event subscription on the first read: let it settle.
    time.sleep(1)
    return url, process


def audited(audit: Path, path: str = "") -> int:
    """Responses in the audit log (to requests for `path` only, when given)."""
    count = 0
    for line in audit.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("type") == "response" and (not path or (entry.get("request") or {}).get("path") == path):
            count += 1
    return count


def leased(
    server: RunningServer, url: str, audit: Path, postgres: Postgres, reads: int
) -> tuple[float, int, int]:
    """`reads` GETs of database credentials through the agent: reads/s, server requests, distinct leases."""
    with server.client() as root:
        postgres.enable_database(root, "db")
    before = audited(audit, "db/creds/app")
    with httpx.Client(base_url=url, timeout=10) as http:
        began = time.monotonic()
        leases = {http.get("/v1/db/creds/app").raise_for_status().json()["lease_id"] for _ in range(reads)}
        took = time.monotonic() - began
    return reads / took, audited(audit, "db/creds/app") - before, len(leases)


def load(url: str, clients: int, seconds: float) -> int:
    """Client reads done by `clients` threads in `seconds`."""
    done = [0] * clients
    stop_at = time.monotonic() + seconds

    def worker(index: int) -> None:
        with httpx.Client(base_url=url, timeout=10) as http:
            while time.monotonic() < stop_at:
                http.get(f"/v1/{SECRET}").raise_for_status()
                done[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done)


def change_latency(server: RunningServer, url: str, rounds: int) -> list[float]:
    delays = []
    with server.client() as root, httpx.Client(base_url=url, timeout=10) as http:
        for index in range(rounds):
            value = f"r{index}-{time.monotonic_ns()}"
            root.put(f"/v1/{SECRET}", json={"data": {"v": value}}).raise_for_status()
            written = time.monotonic()
            while http.get(f"/v1/{SECRET}").json()["data"]["data"]["v"] != value:
                if time.monotonic() - written > 10:
                    sys.exit("a change never reached the agent")
            delays.append(time.monotonic() - written)
            time.sleep(0.2)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", default="1,4", help="client thread counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--leased", type=int, default=1000, help="leased reads per agent")
    args = parser.parse_args()
    rows = []
    leases = []
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        postgres = stack.enter_context(postgres_server())
        for name in ("strongroom", "openbao"):
            directory = workdir / name
            directory.mkdir()
            starter = strongroom_dev_server if name == "strongroom" else bao_dev_server
            server = stack.enter_context(starter(directory, config=API_AUDIT))
            audit = prepare(server, directory)
            url, process = start_agent(name, server, directory)
            stack.callback(stop, process)
            for clients in (int(text) for text in args.clients.split(",")):
                before = audited(audit)
                reads = load(url, clients, args.seconds)
                per_read = (audited(audit) - before) / reads
                rows.append((name, clients, reads / args.seconds, per_read))
            delays = change_latency(server, url, args.rounds)
            rows.append((name, -1, statistics.median(delays) * 1000, max(delays) * 1000))
            leases.append((name, *leased(server, url, audit, postgres, args.leased)))
    print(f"{'agent':<11} {'clients':>7} {'reads/s':>10} {'server req/read':>16}")
    for name, clients, first, second in rows:
        if clients > 0:
            print(f"{name:<11} {clients:>7} {first:>10.0f} {second:>16.4f}")
    print(f"\n{'agent':<11} {'change->value median ms':>24} {'max ms':>8}")
    for name, clients, first, second in rows:
        if clients < 0:
            print(f"{name:<11} {first:>24.1f} {second:>8.1f}")
    print(f"\n{'agent':<11} {'leased reads':>12} {'reads/s':>10} {'server requests':>16} {'leases':>7}")
    for name, rate, requests, distinct in leases:
        print(f"{name:<11} {args.leased:>12} {rate:>10.0f} {requests:>16} {distinct:>7}")


if __name__ == "__main__":
    main()
