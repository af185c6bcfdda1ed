"""Benchmark strongroom against OpenBao in one run: KV v2 reads and writes, token lookups, AppRole logins,
sys/health, transit encryption and decryption, PKI issuing and dynamic PostgreSQL credentials.

Run by hand, never in CI:  uv run python bench/bench.py [--seconds 5] [--connections 16] [--rounds 3]
                           uv run python bench/bench.py --ops approle-login
                           uv run python bench/bench.py --ops transit-encrypt,transit-decrypt,pki-issue
                           uv run python bench/bench.py --ops database-creds
                           uv run python bench/bench.py --storage persistent --ops kv-write,kv-read
                           uv run python bench/bench.py --storage postgresql --ops kv-write,kv-read
                           uv run python bench/bench.py --audit --ops kv-read
                           uv run python bench/bench.py --startup 5
Needs `wrk` (Debian package wrk). With `--storage memory` (the default) both run as dev servers in memory;
with `--storage persistent`, strongroom runs on SQLite and OpenBao on its integrated raft storage; with
`--storage postgresql`, each runs on its own database of one local PostgreSQL (tests/postgres.py); the last
two are initialized and unsealed from a config file (on PostgreSQL with both servers' default pools, which
keep two idle connections). Each gets the same policy-bearing non-root token, the
same requests from the same load generator, interleaved round by round. Prints throughput, p99 latency and
server CPU time per request, with strongroom/OpenBao ratios, and each server's RSS before and after the run.
`--startup N` instead starts each dev server N times and prints the median start to ready and idle RSS
(bench/start.py's measurement, with compiled bytecode cached as an installed package has it).

pki-issue issues P-256 EC certificates from an EC root: an RSA key costs a prime search that swamps the
rest of the request and varies run to run. database-creds creates one PostgreSQL role per request against
the one PostgreSQL both servers' database engines share; after each run (of at most DATABASE_SECONDS) and
once the requests still in flight have finished, the leases are revoked, which drops the roles, and any
role left over is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import start  # bench/start.py, beside this file
from start import rss_mb
from tests.postgres import Postgres, postgres_server
from tests.servers import (
    ConfigServer,
    RunningServer,
    bao_dev_server,
    bao_server,
    free_port,
    sqlite_config,
    strongroom_config_server,
    strongroom_dev_server,
)

POLICY = """
path "secret/data/*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/*" { capabilities = ["list", "read"] }
path "transit/encrypt/bench" { capabilities = ["update"] }
path "transit/decrypt/bench" { capabilities = ["update"] }
path "pki/issue/bench" { capabilities = ["update"] }
path "database/creds/app" { capabilities = ["read"] }
"""
PLAINTEXT = "c2VjcmV0LXBheWxvYWQtZm9yLXRoZS1iZW5jaG1hcmstMDEyMzQ1Njc4OQ=="
DATABASE_SECONDS = 3
# OpenBao's storage "postgresql" table, created by hand from its documentation's SQL.
BAO_TABLE = """
CREATE TABLE openbao_kv_store (
  parent_path TEXT COLLATE "C" NOT NULL,
  path        TEXT COLLATE "C",
  key         TEXT COLLATE "C",
  value       BYTEA,
  CONSTRAINT pkey PRIMARY KEY (path, key)
);
CREATE INDEX parent_path_idx ON openbao_kv_store (parent_path);
"""

# wrk scripts: each request is built in Lua so paths and bodies vary; done() prints one JSON line.
LUA = {
    "kv-write": """
counter = 0
request = function()
  counter = counter + 1
  local body = '{"data":{"password":"pw-' .. counter .. '","user":"app"}}'
  return wrk.format("POST", "/v1/secret/data/bench/w" .. (counter % 1000), {["X-Vault-Token"]=TOKEN,
    ["Content-Type"]="application/json"}, body)
end
""",
    "kv-read": """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/v1/secret/data/bench/r" .. (counter % 100), {["X-Vault-Token"]=TOKEN})
end
""",
    "token-lookup-self": """
request = function()
  return wrk.format("GET", "/v1/auth/token/lookup-self", {["X-Vault-Token"]=TOKEN})
end
""",
    "approle-login": """
request = function()
  local body = '{"role_id":"' .. ROLE_ID .. '","secret_id":"' .. SECRET_ID .. '"}'
  return wrk.format("POST", "/v1/auth/approle/login", {["Content-Type"]="application/json"}, body)
end
""",
    "sys-health": """
request = function()
  return wrk.format("GET", "/v1/sys/health", {})
end
""",
    "transit-encrypt": """
request = function()
  return wrk.format("POST", "/v1/transit/encrypt/bench", {["X-Vault-Token"]=TOKEN,
    ["Content-Type"]="application/json"}, '{"plaintext":"' .. PLAINTEXT .. '"}')
end
""",
    "transit-decrypt": """
request = function()
  return wrk.format("POST", "/v1/transit/decrypt/bench", {["X-Vault-Token"]=TOKEN,
    ["Content-Type"]="application/json"}, '{"ciphertext":"' .. CIPHERTEXT .. '"}')
end
""",
    "pki-issue": """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/v1/pki/issue/bench", {["X-Vault-Token"]=TOKEN,
    ["Content-Type"]="application/json"}, '{"common_name":"h' .. counter .. '.bench.example"}')
end
""",
    "database-creds": """
request = function()
  return wrk.format("GET", "/v1/database/creds/app", {["X-Vault-Token"]=TOKEN})
end
""",
}
DONE = """
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"requests": %d, "seconds": %f, "p99_us": %d, "p50_us": %d, "errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(99), latency:percentile(50), errors))
end
"""


@dataclass(frozen=True)
class Sample:
    """One wrk run against one server."""

    requests: int
    seconds: float
    p99_ms: float
    cpu_seconds: float
    errors: int

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / max(self.requests, 1) * 1e6


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process and its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def production(configured: ConfigServer) -> RunningServer:
    """Initialize and unseal a config-file server, mount KV v2 at secret/, and wait until it serves."""
    shares = {"secret_shares": 1, "secret_threshold": 1}
    keys = httpx.put(f"{configured.address}/v1/sys/init", json=shares, timeout=120).json()
    httpx.put(
        f"{configured.address}/v1/sys/unseal", json={"key": keys["keys"][0]}, timeout=120
    ).raise_for_status()
    server = RunningServer(configured.address, keys["root_token"], configured.process, configured.log)
    deadline = time.monotonic() + 90
    with server.client() as client:
        while True:
            try:
                if (
                    client.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}, timeout=30).status_code
                    == 204
                ):
                    break
            except httpx.TimeoutException:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"{configured.address} never became active:\n{configured.log.read_text()[-2000:]}")
            time.sleep(0.5)
        while client.get("/v1/secret/config").status_code != 200:
            time.sleep(0.2)
    return server


def start_servers(
    stack: ExitStack, workdir: Path, storage: str, audit: bool, postgres: Postgres | None
) -> dict[str, RunningServer]:
    """Both servers, in memory (dev mode) or on persistent storage (SQLite against raft, or each on its own
    database of `postgres`); with `audit`, each writes a file audit device declared in its dev config."""
    (workdir / "s").mkdir()
    (workdir / "b").mkdir()
    if storage == "memory":

        def config(name: str) -> str:
            if not audit:
                return ""
            log = workdir / name / "audit.log"
            return f'audit "file" "file" {{\n  options {{\n    file_path = "{log}"\n  }}\n}}\n'

        return {
            "strongroom": stack.enter_context(strongroom_dev_server(workdir / "s", config=config("s"))),
            "openbao": stack.enter_context(bao_dev_server(workdir / "b", config=config("b"))),
        }
    if audit:
        sys.exit("--audit is measured on in-memory dev servers only")
    port = free_port()
    if storage == "postgresql":
        assert postgres is not None
        ours_config = postgresql_storage(database(postgres, "strongroom")) + listener(port)
        theirs_storage = postgresql_storage(database(postgres, "openbao"))
        with psycopg.connect(database(postgres, "openbao"), autocommit=True) as connection:
            connection.execute(BAO_TABLE.encode())
    else:
        ours_config = sqlite_config(workdir / "s", port)
        theirs_storage = (
            f'storage "raft" {{\n  path = "{workdir / "b"}"\n  node_id = "bench"\n}}\n'
            f'cluster_addr = "http://127.0.0.1:{free_port()}"\napi_addr = "http://127.0.0.1:8200"\n'
        )
    ours = stack.enter_context(strongroom_config_server(workdir / "s", ours_config, port))
    theirs = stack.enter_context(bao_server(workdir / "b", theirs_storage))
    return {"strongroom": production(ours), "openbao": production(theirs)}


def database(postgres: Postgres, name: str) -> str:
    """The URL of database `name` on `postgres`, created on first use."""
    if not postgres.query("SELECT 1 FROM pg_database WHERE datname = %s", name):
        postgres.query(f"CREATE DATABASE {name}")
    return postgres.url().replace("/postgres?", f"/{name}?")


def postgresql_storage(url: str) -> str:
    return f'storage "postgresql" {{\n  connection_url = "{url}"\n}}\n'


def listener(port: int) -> str:
    return f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'


def setup(server: RunningServer, ops: list[str], postgres: Postgres | None) -> dict[str, str]:
    """Write the policy, seed secrets to read, make an AppRole, and set up the engines `ops` use; return
    the Lua variables: a non-root token bearing the policy, the role's role_id and secret_id, and a
    ciphertext this server made with its transit key."""
    with server.client() as client:
        client.put("/v1/sys/policies/acl/bench", json={"policy": POLICY}).raise_for_status()
        for i in range(100):
            client.post(
                f"/v1/secret/data/bench/r{i}", json={"data": {"password": f"pw-{i}"}}
            ).raise_for_status()
        answer = client.post("/v1/auth/token/create", json={"policies": ["bench"], "ttl": "2h"})
        answer.raise_for_status()
        client.post("/v1/sys/auth/approle", json={"type": "approle"}).raise_for_status()
        role = {"token_policies": ["bench"], "token_ttl": "20m"}
        client.post("/v1/auth/approle/role/bench", json=role).raise_for_status()
        role_id = client.get("/v1/auth/approle/role/bench/role-id").json()["data"]["role_id"]
        secret_id = client.post("/v1/auth/approle/role/bench/secret-id").json()["data"]["secret_id"]
        variables = {
            "TOKEN": answer.json()["auth"]["client_token"], "ROLE_ID": role_id, "SECRET_ID": secret_id,
            "PLAINTEXT": PLAINTEXT,
        }  # fmt: skip
        if any(op.startswith("transit-") for op in ops):
            variables["CIPHERTEXT"] = setup_transit(client)
        if "pki-issue" in ops:
            setup_pki(client)
        if "database-creds" in ops:
            assert postgres is not None
            postgres.enable_database(client, "database", default_ttl="1h")
        return variables


def setup_transit(client: httpx.Client) -> str:
    """An aes256-gcm96 key "bench" at transit/; return a ciphertext of PLAINTEXT under it."""
    client.post("/v1/sys/mounts/transit", json={"type": "transit"}).raise_for_status()
    client.post("/v1/transit/keys/bench", json={"type": "aes256-gcm96"}).raise_for_status()
    answer = client.post("/v1/transit/encrypt/bench", json={"plaintext": PLAINTEXT})
    answer.raise_for_status()
    return str(answer.json()["data"]["ciphertext"])


def setup_pki(client: httpx.Client) -> None:
    """An EC P-256 root CA at pki/ and a role "bench" issuing EC P-256 leaves for *.bench.example."""
    mount = {"type": "pki", "config": {"max_lease_ttl": "720h"}}
    client.post("/v1/sys/mounts/pki", json=mount).raise_for_status()
    root = {"common_name": "bench root", "key_type": "ec", "key_bits": 256, "ttl": "720h"}
    client.post("/v1/pki/root/generate/internal", json=root).raise_for_status()
    role = {
        "allowed_domains": ["bench.example"], "allow_subdomains": True, "key_type": "ec", "key_bits": 256,
        "ttl": "1h", "max_ttl": "24h",
    }  # fmt: skip
    client.post("/v1/pki/roles/bench", json=role).raise_for_status()


def revoke_database_leases(server: RunningServer, postgres: Postgres, baseline: int) -> str:
    """Revoke every lease of database/creds/app, which drops its PostgreSQL roles; say how many roles beyond
    `baseline` there were, how long revoking took, and how many are left (after up to 10 s)."""
    time.sleep(2)  # requests wrk left in flight finish first: their roles would otherwise look leaked
    created = role_count(postgres) - baseline
    started = time.monotonic()
    with server.client() as client:
        client.put("/v1/sys/leases/revoke-prefix/database/creds/app", timeout=600).raise_for_status()
    took = time.monotonic() - started
    deadline = time.monotonic() + 10
    while (left := role_count(postgres) - baseline) > 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    return f"{created} roles revoked in {took:.1f} s, {left} left"


def role_count(postgres: Postgres) -> int:
    count = postgres.query("SELECT count(*) FROM pg_roles")[0][0]
    assert isinstance(count, int)
    return count


def run_wrk(
    server: RunningServer, variables: dict[str, str], op: str, seconds: int, connections: int
) -> Sample:
    """One wrk run; CPU time measured on the server process around it."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("".join(f'{k} = "{v}"\n' for k, v in variables.items()) + LUA[op] + DONE)
    before = cpu_seconds(server.process.pid)
    result = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "-s", script.name, server.address],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    after = cpu_seconds(server.process.pid)
    os.unlink(script.name)
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("{"))
    stats = json.loads(line)
    return Sample(
        requests=stats["requests"],
        seconds=stats["seconds"],
        p99_ms=stats["p99_us"] / 1000,
        cpu_seconds=after - before,
        errors=stats["errors"],
    )


def rounds(ops: list[str], count: int) -> Iterator[tuple[int, str, str]]:
    """Interleave: each round runs every op on both servers, alternating which goes first."""
    for round_no in range(count):
        for op in ops:
            order = ("strongroom", "openbao") if round_no % 2 == 0 else ("openbao", "strongroom")
            for name in order:
                yield round_no, op, name


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ops", default=",".join(LUA))
    parser.add_argument("--storage", choices=("memory", "persistent", "postgresql"), default="memory")
    parser.add_argument("--audit", action="store_true", help="one file audit device on each server")
    parser.add_argument(
        "--startup", type=int, default=0, metavar="N", help="only start to ready and idle RSS, N starts each"
    )
    args = parser.parse_args()
    if args.startup:
        start.measure(args.startup)
        return
    if shutil.which("wrk") is None:
        sys.exit("bench needs wrk: apt-get install wrk")
    ops = args.ops.split(",")
    unknown = sorted(set(ops) - set(LUA))
    if unknown:
        sys.exit(f"unknown op {unknown[0]!r}: choose from {', '.join(LUA)}")
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        postgres = None
        if args.storage == "postgresql" or "database-creds" in ops:
            postgres = stack.enter_context(postgres_server())
        servers = start_servers(stack, workdir, args.storage, args.audit, postgres)
        idle = {name: rss_mb(server.process.pid) for name, server in servers.items()}
        tokens = {name: setup(server, ops, postgres) for name, server in servers.items()}
        samples: dict[tuple[str, str], list[Sample]] = {}
        for round_no, op, name in rounds(ops, args.rounds):
            seconds = min(args.seconds, DATABASE_SECONDS) if op == "database-creds" else args.seconds
            baseline = role_count(postgres) if postgres is not None and op == "database-creds" else 0
            sample = run_wrk(servers[name], tokens[name], op, seconds, args.connections)
            samples.setdefault((op, name), []).append(sample)
            print(f"round {round_no + 1} {op:18} {name:10} {sample.throughput:9.0f} req/s "
                  f"p99 {sample.p99_ms:7.2f} ms  cpu {sample.cpu_us_per_request:7.1f} us/req "
                  f"errors {sample.errors}", file=sys.stderr)  # fmt: skip
            if postgres is not None and op == "database-creds":
                print(f"{'':26}{revoke_database_leases(servers[name], postgres, baseline)}", file=sys.stderr)
        after = {name: rss_mb(server.process.pid) for name, server in servers.items()}
    print(f"\n{'operation':18} {'server':10} {'req/s':>9} {'p99 ms':>8} {'cpu us/req':>11}")
    for op in ops:
        medians = {}
        for name in ("strongroom", "openbao"):
            runs = samples[(op, name)]
            medians[name] = (
                statistics.median(s.throughput for s in runs),
                statistics.median(s.p99_ms for s in runs),
                statistics.median(s.cpu_us_per_request for s in runs),
            )
            rps, p99, cpu = medians[name]
            print(f"{op:18} {name:10} {rps:9.0f} {p99:8.2f} {cpu:11.1f}")
        (s_rps, s_p99, s_cpu), (b_rps, b_p99, b_cpu) = medians["strongroom"], medians["openbao"]
        print(f"{op:18} {'ratio s/b':10} {s_rps / b_rps:9.2f} {s_p99 / b_p99:8.2f} {s_cpu / b_cpu:11.2f}")
    print(f"\n{'server':10} {'RSS MB before':>14} {'after the run':>14}")
    for name in ("strongroom", "openbao"):
        print(f"{name:10} {idle[name]:14.1f} {after[name]:14.1f}")


if __name__ == "__main__":
    main()
