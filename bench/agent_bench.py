"""Benchmark strongroom's agent against OpenBao Agent in one run: update latency and resident memory.

Run by hand, never in CI:  uv run python bench/agent_bench.py [--rounds 20] [--templates 1,10]
                           uv run python bench/agent_bench.py --bao-interval 2s

Starts a strongroom dev server and an OpenBao dev server, gives each the same policy, AppRole role and
KV v2 secrets, and runs `strongroom agent` and `bao agent` beside them with the same agent.hcl (approle
auto-auth, a file sink, one template per secret). Each round writes a new value to one secret (HTTP PUT)
and polls the rendered file every millisecond until it shows the value: the latency is counted from just
after the write returns (and, in the 'send' column, from just before it was sent). Rounds alternate
between the two agents and are spaced by a random pause, so a polling agent is caught at random points
of its cycle. Resident memory (VmRSS) is read from /proc after the first render, after every round and
after the last; the peak is the larger of VmHWM and the highest VmRSS seen (the kernel updates VmHWM
lazily, so a Go process returning pages by madvise can show a VmHWM below an RSS read earlier).

strongroom's agent learns of a change from the server's event stream and keeps OpenBao's default
`static_secret_render_interval` (5m) as its fallback, so every update it shows within the run came by an
event. OpenBao Agent has no event stream for KV and re-reads static secrets on that interval; it runs at
`--bao-interval`, default 1s, its fastest in effect. OpenBao 2.7 accepts shorter values ("100ms") and then
reads every ~110 ms, but its trace log answers each read within the same wall-clock second as the last
with "no new data (index was the same)", so changes still land on a one-second grid; with "0s" it never
re-read within 8 s (the 5m default). Prints latency median/p90/max and memory per agent, with
strongroom/OpenBao ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers import RunningServer, bao_binary, bao_dev_server, stop, strongroom_dev_server

AGENTS = ("strongroom", "openbao")
DEFAULT_INTERVAL = "5m"
# A round whose file has not changed by then counts as missed.
MISS_AFTER = 10.0
POLICY = 'path "secret/data/*" { capabilities = ["read"] }\n'
# Vault's capability for the event stream; OpenBao's policy parser refuses it (and has no KV events).
EVENTS_POLICY = 'path "sys/events/subscribe/*" { capabilities = ["read", "subscribe"] }\n'


@dataclass(frozen=True)
class Memory:
    """One reading of a process's memory, in KiB."""

    rss_kib: int
    hwm_kib: int


@dataclass(frozen=True)
class Round:
    """One update: seconds from the end (and the start) of the write until the file showed it."""

    after_write: float
    before_write: float


@dataclass(frozen=True)
class Running:
    """An agent process and the files it renders."""

    name: str
    server: RunningServer
    process: subprocess.Popen[bytes]
    log: Path
    destinations: tuple[Path, ...]


def memory(pid: int) -> Memory:
    """VmRSS and VmHWM of a process, from /proc/<pid>/status."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return Memory(int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0]))


def setup(name: str, server: RunningServer, templates: int) -> tuple[str, str]:
    """Policy, AppRole role (the mount once per server) and one secret per template, each reset to
    "initial"; the role's role_id and a new secret_id."""
    policy = POLICY + (EVENTS_POLICY if name == "strongroom" else "")
    with server.client() as client:
        client.put("/v1/sys/policies/acl/agent", json={"policy": policy}).raise_for_status()
        if "approle/" not in client.get("/v1/sys/auth").json()["data"]:
            client.post("/v1/sys/auth/approle", json={"type": "approle"}).raise_for_status()
        role = {"token_policies": ["agent"], "token_ttl": "1h"}
        client.post("/v1/auth/approle/role/agent", json=role).raise_for_status()
        for i in range(templates):
            client.put(f"/v1/secret/data/bench/t{i}", json={"data": {"value": "initial"}}).raise_for_status()
        role_id = client.get("/v1/auth/approle/role/agent/role-id").json()["data"]["role_id"]
        secret_id = client.post("/v1/auth/approle/role/agent/secret-id").json()["data"]["secret_id"]
        return str(role_id), str(secret_id)


def agent_config(name: str, directory: Path, server: RunningServer, templates: int, interval: str) -> Path:
    """agent.hcl: approle auto-auth, a file sink, `templates` templates (one secret each)."""
    role_id, secret_id = setup(name, server, templates)
    (directory / "role_id").write_text(role_id)
    (directory / "secret_id").write_text(secret_id)
    blocks = "".join(
        f'template {{\n  destination = "{directory}/out-{i}"\n'
        f'  contents = "{{{{ with secret \\"secret/data/bench/t{i}\\" }}}}{{{{ .Data.data.value }}}}'
        f'{{{{ end }}}}"\n}}\n'
        for i in range(templates)
    )
    config = directory / "agent.hcl"
    config.write_text(
        f'vault {{\n  address = "{server.address}"\n}}\n'
        f'auto_auth {{\n  method "approle" {{\n    config = {{\n'
        f'      role_id_file_path = "{directory}/role_id"\n'
        f'      secret_id_file_path = "{directory}/secret_id"\n'
        f"      remove_secret_id_file_after_reading = false\n    }}\n  }}\n"
        f'  sink "file" {{\n    config = {{\n      path = "{directory}/token"\n    }}\n  }}\n}}\n'
        f'template_config {{\n  static_secret_render_interval = "{interval}"\n}}\n' + blocks
    )
    return config


def start_agent(name: str, server: RunningServer, directory: Path, templates: int, interval: str) -> Running:
    """Start one agent and wait until every template shows its initial value."""
    directory.mkdir()
    config = agent_config(name, directory, server, templates, interval)
    if name == "strongroom":
        argv = [sys.executable, "-m", "strongroom", "agent", f"-config={config}"]
    else:
        argv = [bao_binary(), "agent", f"-config={config}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    log = directory / "agent.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env | {"HOME": str(directory)}
        )
    running = Running(name, server, process, log, tuple(directory / f"out-{i}" for i in range(templates)))
    deadline = time.monotonic() + 60
    while not all(read(path) == "initial" for path in running.destinations):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            sys.exit(f"{name} agent never rendered its templates:\n{log.read_text()[-3000:]}")
        time.sleep(0.01)
    return running


def read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def update(agent: Running, index: int, timeout: float) -> Round | None:
    """Write a new value to template `index`'s secret; time until its file shows it (None: never did)."""
    value = uuid.uuid4().hex
    destination = agent.destinations[index]
    with agent.server.client() as client:
        before = time.perf_counter()
        client.put(f"/v1/secret/data/bench/t{index}", json={"data": {"value": value}}).raise_for_status()
        after = time.perf_counter()
    while read(destination) != value:
        if time.perf_counter() - after > timeout:
            return None
        time.sleep(0.001)
    seen = time.perf_counter()
    return Round(after_write=seen - after, before_write=seen - before)


def quantiles(values: list[float]) -> tuple[float, float, float]:
    """Median, p90 (nearest rank) and max."""
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered)) - 1))]
    return statistics.median(ordered), p90, ordered[-1]


@dataclass(frozen=True)
class Result:
    """One agent at one template count."""

    rounds: tuple[Round, ...]
    missed: int
    first: Memory
    last: Memory
    peak_kib: int

    def figures(self) -> tuple[float, ...]:
        """The table's numeric columns after `missed`: latencies in ms, then memory in MiB."""
        after = [r.after_write * 1000 for r in self.rounds] or [0.0]
        send = statistics.median(r.before_write * 1000 for r in self.rounds) if self.rounds else 0.0
        return (*quantiles(after), send, self.first.rss_kib / 1024, self.last.rss_kib / 1024,
                self.peak_kib / 1024)  # fmt: skip


def measure(
    servers: dict[str, RunningServer], workdir: Path, templates: int, rounds: int, bao_interval: str
) -> dict[str, Result]:
    """Both agents for one template count, started side by side; rounds alternate which goes first."""
    intervals = {"strongroom": DEFAULT_INTERVAL, "openbao": bao_interval}
    with ExitStack() as stack:
        agents: dict[str, Running] = {}
        for name in AGENTS:
            directory = workdir / f"{name}-{templates}"
            agents[name] = start_agent(name, servers[name], directory, templates, intervals[name])
            stack.callback(stop, agents[name].process)
        time.sleep(1)
        first = {name: memory(agent.process.pid) for name, agent in agents.items()}
        samples: dict[str, list[Round]] = {name: [] for name in AGENTS}
        misses = dict.fromkeys(AGENTS, 0)
        peaks = {name: reading.rss_kib for name, reading in first.items()}
        for round_no in range(rounds):
            for name in AGENTS if round_no % 2 == 0 else AGENTS[::-1]:
                time.sleep(random.uniform(0.05, 0.5))
                sample = update(agents[name], round_no % templates, timeout=MISS_AFTER)
                if sample is None:
                    misses[name] += 1
                else:
                    samples[name].append(sample)
                peaks[name] = max(peaks[name], memory(agents[name].process.pid).rss_kib)
                shown = f"{sample.after_write * 1000:8.1f} ms" if sample else f"MISSED ({MISS_AFTER:.0f} s)"
                print(f"{templates:3} templates round {round_no + 1:3} {name:10} {shown}", file=sys.stderr)
        for name, agent in agents.items():
            if agent.process.poll() is not None:
                tail = agent.log.read_text()[-3000:]
                sys.exit(f"{name} agent exited with {agent.process.returncode}:\n{tail}")
        return {
            name: Result(
                tuple(samples[name]), misses[name], first[name], last, max(peaks[name], last.hwm_kib)
            )
            for name, last in ((name, memory(agent.process.pid)) for name, agent in agents.items())
        }


def report(table: dict[int, dict[str, Result]], bao_interval: str) -> None:
    """The summary table on stdout, with a strongroom/OpenBao ratio line per template count."""
    print(f"\nstatic_secret_render_interval: strongroom {DEFAULT_INTERVAL} (fallback only; updates come by "
          f"events), OpenBao {bao_interval} (OpenBao's default is {DEFAULT_INTERVAL})")  # fmt: skip
    print("latency in ms from the write's return until the file shows the value ('send': from before it);")
    print("memory in MiB: rss0 after the first render, rss after the last round, peak over the run")
    print(f"{'tmpl':>4} {'agent':10} {'median':>8} {'p90':>8} {'max':>8} {'send':>8} {'missed':>6} "
          f"{'rss0':>6} {'rss':>6} {'peak':>6}")  # fmt: skip
    for count, results in table.items():
        figures = {name: results[name].figures() for name in AGENTS}
        for name in AGENTS:
            print(f"{count:4} {name:10} {row(figures[name], 1, str(results[name].missed))}")
        ratios = tuple(
            ours / theirs if theirs else float("nan")
            for ours, theirs in zip(figures["strongroom"], figures["openbao"], strict=True)
        )
        print(f"{count:4} {'ratio s/b':10} {row(ratios, 3, '')}")


def row(figures: tuple[float, ...], digits: int, missed: str) -> str:
    """Four latency columns (width 8), `missed`, then three memory columns (width 6), as in the header."""
    latency = " ".join(f"{value:8.{digits}f}" for value in figures[:4])
    return f"{latency} {missed:>6} " + " ".join(f"{value:6.{digits}f}" for value in figures[4:])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--templates", default="1,10", help="template counts to measure, comma-separated")
    parser.add_argument("--bao-interval", default="1s", help="OpenBao Agent's static_secret_render_interval")
    args = parser.parse_args()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        (workdir / "s").mkdir()
        (workdir / "b").mkdir()
        servers = {
            "strongroom": stack.enter_context(strongroom_dev_server(workdir / "s")),
            "openbao": stack.enter_context(bao_dev_server(workdir / "b")),
        }
        table = {
            count: measure(servers, workdir, count, args.rounds, args.bao_interval)
            for count in (int(text) for text in args.templates.split(","))
        }
    report(table, args.bao_interval)


if __name__ == "__main__":
    main()
