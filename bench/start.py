"""Start to ready, and idle memory, of a dev server: strongroom against OpenBao, interleaved.

Run by hand, never in CI:  uv run python bench/start.py [--rounds 5]

Each round starts `strongroom server -dev` and `bao server -dev` on free loopback ports (alternating which
goes first), times the spawn to the first 200 from sys/health (polled every 5 ms), then waits a second and
reads the idle resident set size. Prints every sample and the medians.

Python's compiled bytecode is kept in a temporary cache (PYTHONPYCACHEPREFIX), filled by one unmeasured
start first, as an installed package has it; PYTHONDONTWRITEBYTECODE would otherwise make every start
compile every module from source. `--no-bytecode-cache` measures that case. (`pip install` compiles every
module at install time, PYTHONDONTWRITEBYTECODE or not; `uv sync` and `uv pip install` do not unless given
--compile-bytecode or UV_COMPILE_BYTECODE=1, and then the first start compiles and caches them, where
PYTHONDONTWRITEBYTECODE is unset and site-packages is writable.)
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers import free_port


def command(name: str, port: int) -> list[str]:
    address = f"127.0.0.1:{port}"
    if name == "strongroom":
        return [sys.executable, "-m", "strongroom", "server", "-dev", f"-dev-listen-address={address}",
                "-dev-root-token-id=root"]  # fmt: skip
    bao = shutil.which("bao", path=str(Path(sys.executable).parent)) or "bao"
    return [bao, "server", "-dev", f"-dev-listen-address={address}", "-dev-root-token-id=root"]


def healthy(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/v1/sys/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sample(name: str, env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawn to a healthy answer, and the idle RSS in MB a second later."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        command(name, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        while not healthy(port):
            if process.poll() is not None or time.perf_counter() - started > 30:
                sys.exit(f"{name} did not start")
            time.sleep(0.005)
        ready = time.perf_counter() - started
        time.sleep(1)
        return ready, rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure(rounds: int, *, bytecode_cache: bool = True) -> None:
    """Start each dev server `rounds` times, interleaved; print every sample and the medians."""
    env = dict(os.environ)
    cache = tempfile.TemporaryDirectory()
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache.name
        sample("strongroom", env)
    samples: dict[str, list[tuple[float, float]]] = {"strongroom": [], "openbao": []}
    for round_no in range(rounds):
        order = ("strongroom", "openbao") if round_no % 2 == 0 else ("openbao", "strongroom")
        for name in order:
            ready, rss = sample(name, env)
            samples[name].append((ready, rss))
            print(
                f"round {round_no + 1} {name:10} ready {ready:6.3f} s  idle rss {rss:6.1f} MB",
                file=sys.stderr,
            )
    print(f"\n{'server':10} {'ready s':>8} {'idle MB':>8}   (medians of {rounds})")
    for name, runs in samples.items():
        ready = statistics.median(r for r, _ in runs)
        rss = statistics.median(m for _, m in runs)
        print(f"{name:10} {ready:8.3f} {rss:8.1f}")
    cache.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--no-bytecode-cache", action="store_true", help="compile every module at every start"
    )
    args = parser.parse_args()
    measure(args.rounds, bytecode_cache=not args.no_bytecode_cache)


if __name__ == "__main__":
    main()
