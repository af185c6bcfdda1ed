"""The composition root: config -> physical -> barrier -> seal -> Core -> ASGI app -> native HTTP listeners.

Layer: top. The only module that knows every layer; it wires them and serves until SIGINT or SIGTERM.
SIGHUP reloads TLS certificates and the log level.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import signal
import socket
import ssl
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from strongroom import __version__
from strongroom.audit import DeviceSpec, validate_spec
from strongroom.builtin.registry import BACKENDS
from strongroom.config.server import ListenerConfig, ServerConfig, StorageConfig, load_server_config
from strongroom.core.core import Core
from strongroom.core.mounts import SystemTTLs
from strongroom.errors import ConfigError, InvalidRequestError, StorageError
from strongroom.http.app import VaultAPI
from strongroom.http.forwarded import ForwardedFor
from strongroom.physical.base import HABackend, PhysicalBackend, Transactional
from strongroom.physical.cache import CachedBackend
from strongroom.physical.inmem import InmemBackend
from strongroom.physical.registry import create_backend
from strongroom.seal.static import StaticKeys, load_static_keys
from strongroom.telemetry import Telemetry
from strongroom.util.http_server import HTTPServer, TLSFiles

log = logging.getLogger("strongroom.server")

_LOG_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "err": logging.ERROR,
    "error": logging.ERROR,
}
DEV_KEY_FILE = "unseal.key"
DEV_DB_FILE = "strongroom.db"
# How long a stopping server lets requests in flight finish.
DRAIN_SECONDS = 10


@dataclass(frozen=True, slots=True)
class DevOptions:
    """What `server -dev` was asked for."""

    listen_address: str = "127.0.0.1:8200"
    root_token_id: str = ""
    # With a data directory, dev mode keeps its data in SQLite there and unseals from a key file in it.
    data_dir: str = ""
    # -config files, which add to the dev defaults as OpenBao's do: listeners, audit devices, options.
    configs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DevStart:
    """What a dev server shows at start: its unseal key, and its root token when it made one now."""

    unseal_key: bytes
    root_token: str
    persistent: bool = False
    notices: tuple[str, ...] = field(default=())


def split_address(address: str) -> tuple[str, int]:
    """("127.0.0.1", 8200) from "127.0.0.1:8200"; ValueError for anything else."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid listen address {address!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


async def _enable_dev_kv(core: Core) -> None:
    await core.services.mounts.enable(
        "mounts", "secret", "kv", description="key/value secret storage", options={"version": "2"}
    )


def dev_config(options: DevOptions) -> ServerConfig:
    """The dev server's config: its -config files read as additions to the dev defaults."""
    if options.configs:
        return load_server_config(options.configs, dev=True)
    return ServerConfig(storage=StorageConfig(type="inmem"), listeners=())


def _dev_core(
    physical: PhysicalBackend, storage_type: str, options: DevOptions, config: ServerConfig
) -> Core:
    # As OpenBao's: no audit device through the API, nor a prefix, unless the config says so (dev mode too).
    return Core(
        physical,
        BACKENDS,
        storage_type=storage_type,
        ttls=system_ttls(config),
        allow_api_audit_creation=config.unsafe_allow_api_audit_creation,
        allow_audit_log_prefixing=config.allow_audit_log_prefixing,
        audit_protected_paths=config_paths(options.configs),
        audit_devices=audit_devices(config, options.configs),
        # As OpenBao's dev mode: the dev listener is the API address (identity tokens' issuer).
        api_addr=config.api_addr or f"http://{options.listen_address}",
        failed_login_limit=config.failed_login_rate_limit,
    )


async def start_dev_core(options: DevOptions, config: ServerConfig | None = None) -> tuple[Core, DevStart]:
    """A dev core: initialized with one key share, unsealed, KV v2 at secret/; in memory unless data_dir.
    `config` is dev_config(options), when the caller has read it already."""
    config = config or dev_config(options)
    if options.data_dir:
        return await _start_persistent_dev_core(options, config)
    core = _dev_core(InmemBackend(), "inmem", options, config)
    result = await core.initialize(1, 1, root_token_id=options.root_token_id or None)
    await core.unseal(result.keys[0])
    await _enable_dev_kv(core)
    return core, DevStart(unseal_key=result.keys[0], root_token=result.root_token)


async def _start_persistent_dev_core(options: DevOptions, config: ServerConfig) -> tuple[Core, DevStart]:
    directory = Path(options.data_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    physical = await create_backend("sqlite", {"path": str(directory / DEV_DB_FILE)})
    core = _dev_core(physical, "sqlite", options, config)
    key_file = directory / DEV_KEY_FILE
    if not (await core.seal_status())["initialized"]:
        result = await core.initialize(1, 1, root_token_id=options.root_token_id or None)
        write_private_file(key_file, base64.b64encode(result.keys[0]) + b"\n")
        await core.unseal(result.keys[0])
        await _enable_dev_kv(core)
        return core, DevStart(unseal_key=result.keys[0], root_token=result.root_token, persistent=True)
    try:
        key = base64.b64decode(key_file.read_bytes().strip(), validate=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{key_file}: cannot read the dev unseal key: {type(exc).__name__}") from None
    await core.unseal(key)
    return core, DevStart(unseal_key=key, root_token="", persistent=True)


def write_private_file(path: Path, content: bytes) -> None:
    """Write `content` atomically to `path` with mode 0600 (temp file in the same folder, fsync, rename)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)


def dev_banner(address: str, start: DevStart) -> str:
    """What `server -dev` prints, after Vault's dev banner."""
    storage = "sqlite (persistent dev mode)" if start.persistent else "inmem"
    where = (
        "keeps its data in SQLite in the data directory and unseals itself from the key file there"
        if start.persistent
        else "runs entirely in-memory and starts unsealed with a single unseal key"
    )
    token = f"Root Token: {start.root_token}\n" if start.root_token else "Root Token: (made on first start)\n"
    return f"""==> strongroom server configuration:

             Api Address: {address}
                 Storage: {storage}
                 Version: strongroom v{__version__}

==> strongroom server started! Log data will stream in below:

WARNING! dev mode is enabled! In this mode, strongroom {where}.
The root token is already authenticated to the CLI, so you can immediately begin using strongroom.

You may need to set the following environment variables:

    $ export STRONGROOM_ADDR='{address}'

The unseal key and root token are displayed below in case you want to
seal/unseal the Vault or re-authenticate.

Unseal Key: {base64.b64encode(start.unseal_key).decode()}
{token}
Development mode should NOT be used in production installations!
"""


def _tls_files(listener: ListenerConfig) -> TLSFiles | None:
    """The listener's TLS files, checked now: the native server reads them when a worker starts, and an
    unreadable file must stop the server (or fail a reload) with a clear error instead."""
    if listener.tls_disable:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(listener.tls_cert_file, listener.tls_key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"error loading TLS certificate {listener.tls_cert_file}: {exc}") from None
    if listener.tls_client_ca_file:
        try:
            context.load_verify_locations(cafile=listener.tls_client_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"error loading client CA file {listener.tls_client_ca_file}: {exc}") from None
    return TLSFiles(
        cert_file=listener.tls_cert_file,
        key_file=listener.tls_key_file,
        min_version=listener.tls_min_version,
        client_ca_file=listener.tls_client_ca_file,
        require_client_cert=listener.tls_require_and_verify_client_cert,
    )


class Listening(Protocol):
    """What serving one listener takes: HTTPServer, or the relay in front of one (util.tls_relay)."""

    def start(self) -> None: ...
    def reload(self) -> None: ...
    def stop(self) -> None: ...
    async def wait(self) -> None: ...


def _listen(app: VaultAPI, listener: ListenerConfig, tls: TLSFiles | None) -> Listening:
    """The server of one listener. With tls_request_client_certs, TLS is terminated where the client's
    certificate can be read (the relay), for auth/cert; otherwise granian's own TLS serves it."""
    if tls is not None and listener.tls_request_client_certs:
        # Imported here: pyOpenSSL loads cryptography's x509, which most servers never need.
        from strongroom.util.tls_relay import RelayedTLSServer

        return RelayedTLSServer(app, _bind(listener.address), tls)
    return HTTPServer(app, _bind(listener.address), tls)


def _bind(address: str) -> socket.socket:
    host, port = split_address(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def serve(
    core: Core,
    listeners: Sequence[ListenerConfig],
    on_ready: Callable[[], None],
    on_reload: Callable[[], None] = lambda: None,
    *,
    ui: bool = False,
) -> None:
    """Serve `core` on every listener (with the web UI when `ui`) until SIGINT or SIGTERM; then drain, seal
    and return."""
    served: list[tuple[Listening, ListenerConfig]] = []
    apps: list[VaultAPI] = []
    for listener in listeners:
        tls = _tls_files(listener)
        app = VaultAPI(
            core,
            max_request_size=listener.max_request_size,
            unauthenticated_metrics=listener.unauthenticated_metrics_access,
            unauthed_generate_root=not listener.disable_unauthed_generate_root_endpoints,
            unauthed_rekey=not listener.disable_unauthed_rekey_endpoints,
            forwarded_for=ForwardedFor(
                authorized_addrs=listener.x_forwarded_for_authorized_addrs,
                hop_skips=listener.x_forwarded_for_hop_skips,
                reject_not_authorized=listener.x_forwarded_for_reject_not_authorized,
                reject_not_present=listener.x_forwarded_for_reject_not_present,
            ),
            ui=ui,
        )
        apps.append(app)
        served.append((_listen(app, listener, tls), listener))
        if tls is not None and listener.tls_min_version in ("tls10", "tls11"):
            log.warning(
                "listener %s: TLS 1.0 and 1.1 are not offered; the minimum is TLS 1.2", listener.address
            )

    def reload() -> None:
        # Every file is checked before any listener changes, so a bad file leaves them all as they were.
        tls = [server for server, listener in served if _tls_files(listener) is not None]
        for server in tls:
            server.reload()
        core.reopen_audit_devices()
        on_reload()
        log.info("reloaded TLS certificates and configuration")

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    loop.add_signal_handler(signal.SIGHUP, _guard(reload))
    try:
        for server, _ in served:
            server.start()
        on_ready()
        await stopping.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        for server, _ in served:
            server.stop()
        await _drain([server for server, _ in served])
        await core.seal()
        for app in apps:
            await app.aclose()


async def _drain(servers: Sequence[Listening]) -> None:
    """Let requests in flight finish, for at most DRAIN_SECONDS."""
    try:
        await asyncio.wait_for(asyncio.gather(*(server.wait() for server in servers)), DRAIN_SECONDS)
    except TimeoutError:
        log.warning("requests still in flight after %ds: stopping without them", DRAIN_SECONDS)


def _guard(action: Callable[[], None]) -> Callable[[], None]:
    """A signal handler that logs a failed reload instead of crashing the server."""

    def run() -> None:
        try:
            action()
        except ConfigError as exc:
            log.error("reload failed: %s", exc)

    return run


def configure_logging(level: str, log_format: str) -> None:
    """Server logs on stderr, as text or one JSON object a line."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LOG_LEVELS[level])
    # httpx logs every request's URL at info level, and a forwarded path may hold a token
    # (auth/token/lookup/...): its warnings and errors only, whatever the server's level.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The native HTTP server logs its workers' starts and stops and clients' transport errors at info.
    logging.getLogger("_granian").setLevel(logging.WARNING)


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "@timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "@level": record.levelname.lower(),
            "@module": record.name,
            "@message": record.getMessage(),
        }
        if record.exc_info:
            entry["@exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def _run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine function on uvloop where it is built, else asyncio."""
    try:
        import uvloop
    except ImportError:  # uvloop is not built for every platform; asyncio serves the same API
        asyncio.run(main())
        return
    uvloop.run(main())


def run_dev(options: DevOptions, on_ready: Callable[[str, DevStart], None]) -> None:
    """Serve a dev server until SIGINT or SIGTERM: the dev listener first, then the config's listeners."""
    config = dev_config(options)
    configure_logging(config.log_level, config.log_format)
    for notice in config.notices:
        log.info("%s", notice)
    address = f"http://{options.listen_address}"

    async def main() -> None:
        core, start = await start_dev_core(options, config)
        # As Vault's dev listener, it serves sys/metrics without a token.
        listener = ListenerConfig(
            address=options.listen_address, tls_disable=True, unauthenticated_metrics_access=True
        )
        # As Vault's dev mode, the web UI is on.
        await serve(core, [listener, *config.listeners], lambda: on_ready(address, start), ui=True)

    _run(main)


def _static_seal(config: ServerConfig) -> StaticKeys | None:
    """The static seal's keys, when the config has one; ConfigError for any other seal type."""
    if not config.seals:
        return None
    if len(config.seals) > 1 or config.seals[0].type != "static":
        kinds = ", ".join(repr(s.type) for s in config.seals)
        raise ConfigError(f'unsupported seal configuration ({kinds}): only one seal "static" is supported')
    return load_static_keys(config.seals[0].options)


def config_paths(paths: Sequence[str]) -> tuple[str, ...]:
    """The config files and directories as given to -config, resolved: no audit file goes in or over one
    (every *.hcl or *.json in a directory given is read as config at the next start)."""
    return tuple(str(Path(p).resolve()) for p in paths)


def audit_devices(config: ServerConfig, paths: Sequence[str] = ()) -> tuple[DeviceSpec, ...]:
    """The declared audit devices, checked now so a bad option stops the server before it serves."""
    devices = tuple(
        DeviceSpec(path=a.path, type=a.type, description=a.description, options=a.options, local=a.local)
        for a in config.audit
    )
    for device in devices:
        try:
            validate_spec(
                device, allow_prefixing=config.allow_audit_log_prefixing, protected=config_paths(paths)
            )
        except InvalidRequestError as exc:
            raise ConfigError(f"audit {device.path!r}: {exc}") from None
    return devices


def system_ttls(config: ServerConfig) -> SystemTTLs:
    """The default and maximum lease TTLs: the config's, else Vault's."""
    defaults = SystemTTLs()
    return SystemTTLs(
        default=config.default_lease_ttl or min(defaults.default, config.max_lease_ttl or defaults.default),
        max=config.max_lease_ttl or defaults.max,
    )


def run_config(paths: Sequence[str], on_ready: Callable[[ServerConfig], None]) -> None:
    """Serve from configuration files until SIGINT or SIGTERM."""
    config = load_server_config(paths)
    configure_logging(config.log_level, config.log_format)
    for notice in config.notices:
        log.info("%s", notice)

    static = _static_seal(config)
    devices = audit_devices(config, paths)

    def reload_log_level() -> None:
        fresh = load_server_config(paths)
        logging.getLogger().setLevel(_LOG_LEVELS[fresh.log_level])

    async def main() -> None:
        physical = await create_backend(config.storage.type, config.storage.options)
        ha = physical if isinstance(physical, HABackend) and physical.ha_enabled else None
        storage = physical
        if not config.disable_cache and isinstance(physical, Transactional):
            # An HA server caches only while active (Core turns it on when it takes the lock).
            storage = CachedBackend(physical, config.cache_size, enabled=ha is None)
        core = Core(
            storage,
            BACKENDS,
            storage_type=config.storage.type,
            ttls=system_ttls(config),
            static_seal=static,
            allow_api_audit_creation=config.unsafe_allow_api_audit_creation,
            allow_audit_log_prefixing=config.allow_audit_log_prefixing,
            audit_protected_paths=config_paths(paths),
            audit_devices=devices,
            telemetry=Telemetry(
                retention=config.telemetry.prometheus_retention_time,
                usage_gauge_period=config.telemetry.usage_gauge_period,
            ),
            ha_lock=None if ha is None else ha.ha_lock(config.api_addr),
            api_addr=config.api_addr,
            failed_login_limit=config.failed_login_rate_limit,
        )
        try:
            await core.unseal_static()
        except (InvalidRequestError, StorageError) as exc:
            # Stay up and sealed, so the operator can see why in seal-status and the log.
            log.error("auto-unseal with the static seal failed: %s", exc)
        if config.pid_file:
            write_private_file(Path(config.pid_file), f"{os.getpid()}\n".encode())
        try:
            await serve(core, config.listeners, lambda: on_ready(config), reload_log_level, ui=config.ui)
        finally:
            if config.pid_file:
                Path(config.pid_file).unlink(missing_ok=True)
            await physical.close()

    _run(main)
