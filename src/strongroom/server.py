"""The composition root: config -> physical -> barrier -> seal -> Core -> ASGI app -> uvicorn.

Layer: top. The only module that knows every layer; it wires them and starts serving.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from strongroom import __version__
from strongroom.builtin.registry import SECRETS_ENGINES
from strongroom.core.core import Core, InitResult
from strongroom.http.app import VaultAPI
from strongroom.physical.inmem import InmemBackend

log = logging.getLogger("strongroom.server")


@dataclass(frozen=True, slots=True)
class DevOptions:
    """What `server -dev` was asked for."""

    listen_address: str = "127.0.0.1:8200"
    root_token_id: str = ""


def split_address(address: str) -> tuple[str, int]:
    """("127.0.0.1", 8200) from "127.0.0.1:8200"; ValueError for anything else."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid listen address {address!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


async def start_dev_core(options: DevOptions) -> tuple[Core, InitResult]:
    """An in-memory core, initialized with one key share, unsealed, with KV v2 at secret/."""
    core = Core(InmemBackend(), SECRETS_ENGINES, storage_type="inmem")
    result = await core.initialize(1, 1, root_token_id=options.root_token_id or None)
    await core.unseal(result.keys[0])
    await core.services.mounts.enable(
        "mounts", "secret", "kv", description="key/value secret storage", options={"version": "2"}
    )
    return core, result


def dev_banner(address: str, result: InitResult) -> str:
    """What `server -dev` prints, after Vault's dev banner."""
    return f"""==> strongroom server configuration:

             Api Address: {address}
                 Storage: inmem
                 Version: strongroom v{__version__}

==> strongroom server started! Log data will stream in below:

WARNING! dev mode is enabled! In this mode, strongroom runs entirely in-memory
and starts unsealed with a single unseal key. The root token is already
authenticated to the CLI, so you can immediately begin using strongroom.

You may need to set the following environment variables:

    $ export STRONGROOM_ADDR='{address}'

The unseal key and root token are displayed below in case you want to
seal/unseal the Vault or re-authenticate.

Unseal Key: {base64.b64encode(result.keys[0]).decode()}
Root Token: {result.root_token}

Development mode should NOT be used in production installations!
"""


async def serve_dev(options: DevOptions, on_ready: Callable[[str, InitResult], None]) -> None:
    """Run a dev server until interrupted."""
    host, port = split_address(options.listen_address)
    core, result = await start_dev_core(options)
    address = f"http://{options.listen_address}"
    config = uvicorn.Config(
        VaultAPI(core, core),
        host=host,
        port=port,
        # h11, not httptools: llhttp refuses the LIST method, which hvac and other Vault clients send.
        http="h11",
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=False,
    )
    server = uvicorn.Server(config)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not serving.done():
        await asyncio.sleep(0.01)
    if server.started:
        on_ready(address, result)
    try:
        await serving
    finally:
        await core.seal()


def run_dev(options: DevOptions, on_ready: Callable[[str, InitResult], None]) -> None:
    """Serve on uvloop until SIGINT or SIGTERM."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s [%(levelname)s] %(message)s"
    )
    try:
        import uvloop

        uvloop.run(serve_dev(options, on_ready))
    except ImportError:  # uvloop is not built for every platform; asyncio serves the same API
        asyncio.run(serve_dev(options, on_ready))
