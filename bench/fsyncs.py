"""Count the fsyncs behind acknowledged KV writes: strongroom on SQLite against OpenBao on raft.

Run by hand, never in CI:  uv run python bench/fsyncs.py [--seconds 5] [--connections 1,16]

Needs `wrk` and `strace` (Debian packages). Both servers run in production mode on persistent storage, set
up as `bench.py --storage persistent` sets them up. For each connection count, strace attaches to each
server in turn (every thread) for one wrk run of KV v2 writes and counts fsync and fdatasync calls; every
write wrk counts was acknowledged with a 200 (errors are printed). Throughput is not reported here: strace
stops the server at every system call it makes, so measure speed with bench.py, untraced.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench import run_wrk, setup, start_servers
from tests.servers import RunningServer


def traced_writes(
    server_name: str,
    servers: dict[str, RunningServer],
    tokens: dict[str, dict[str, str]],
    seconds: int,
    connections: int,
    workdir: Path,
) -> str:
    """One wrk run of KV writes with strace attached to the server: its line of the report."""
    server = servers[server_name]
    summary = workdir / f"{server_name}-{connections}.strace"
    tracer = subprocess.Popen(
        ["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", str(summary),
         "-p", str(server.process.pid)],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)  # strace attaches to every thread before the run starts
    sample = run_wrk(server, tokens[server_name], "kv-write", seconds, connections)
    tracer.send_signal(signal.SIGINT)
    tracer.wait(timeout=30)
    # strace -c's table: % time, seconds, usecs/call, calls, [errors,] syscall.
    rows = [line.split() for line in summary.read_text().splitlines()]
    calls = sum(int(row[3]) for row in rows if row and row[-1] in ("fsync", "fdatasync"))
    writes = sample.requests - sample.errors
    per_100 = 100 * calls / writes if writes else 0.0
    return (f"{connections:>11} {server_name:10} {writes:>8} {calls:>8} {per_100:>15.1f}"
            f"{'' if not sample.errors else f'  ({sample.errors} errors)'}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", default="1,16")
    args = parser.parse_args()
    for tool in ("wrk", "strace"):
        if shutil.which(tool) is None:
            sys.exit(f"needs {tool}: apt-get install {tool}")
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        servers = start_servers(stack, workdir, "persistent", False, None)
        tokens = {name: setup(server, ["kv-write"], None) for name, server in servers.items()}
        print(f"{'connections':>11} {'server':10} {'writes':>8} {'fsyncs':>8} {'fsyncs/100 w':>15}")
        for connections in (int(c) for c in args.connections.split(",")):
            for name in ("strongroom", "openbao"):
                print(traced_writes(name, servers, tokens, args.seconds, connections, workdir), flush=True)


if __name__ == "__main__":
    main()
