"""`strongroom server`: start a server. The one CLI module that imports the server (lazily, from main).

Layer: cli, reaching the composition root by design: starting a server is what this command is for.
"""

from __future__ import annotations

import os

import click

from strongroom import __version__
from strongroom.cli.flags import USAGE_EXIT, Failure, VaultCommand
from strongroom.config.server import ServerConfig
from strongroom.errors import ConfigError, StorageError
from strongroom.server import DevOptions, DevStart, dev_banner, run_config, run_dev, split_address


def _env(*names: str) -> str:
    return next((os.environ[n] for n in names if os.environ.get(n)), "")


@click.command(cls=VaultCommand)
@click.option("--config", "configs", multiple=True, help="A config file or directory; may be repeated.")
@click.option("--dev", is_flag=True, help="Start a development server, unsealed, with a root token.")
@click.option("--dev-root-token-id", default="", help="The root token ID of the dev server.")
@click.option("--dev-listen-address", default="", help="The address the dev server listens on.")
@click.option("--dev-data-dir", default="", help="Keep dev data in SQLite in this directory across restarts.")
def server(configs: tuple[str, ...], dev: bool, dev_root_token_id: str, dev_listen_address: str,
           dev_data_dir: str) -> None:  # fmt: skip
    """Start a strongroom server."""
    if dev:
        _dev(dev_root_token_id, dev_listen_address, dev_data_dir, configs)
        return
    if not configs:
        raise Failure("No configuration files found. Use -config=FILE, or -dev for a development server.",
                      USAGE_EXIT)  # fmt: skip

    def ready(config: ServerConfig) -> None:
        click.echo("==> strongroom server configuration:\n")
        click.echo(f"                 Storage: {config.storage.type}{_durability(config)}")
        for listener in config.listeners:
            tls = "disabled" if listener.tls_disable else "enabled"
            click.echo(f"                Listener: tcp (addr: {listener.address!r}, tls: {tls!r})")
        click.echo(f"                 Version: strongroom v{__version__}\n")
        click.echo("==> strongroom server started! Log data will stream in below:\n", nl=True)

    try:
        run_config(configs, ready)
    except ConfigError as exc:
        raise Failure(f"Error loading configuration: {exc}", USAGE_EXIT) from None
    except StorageError as exc:
        raise Failure(f"Error initializing storage: {exc}", USAGE_EXIT) from None
    except OSError as exc:
        raise Failure(f"Error initializing listener: {exc}", USAGE_EXIT) from None


def _durability(config: ServerConfig) -> str:
    """A relaxed durability setting, shown beside the storage type so nobody runs it unawares."""
    synchronous = config.storage.options.get("synchronous", "full").lower()
    if config.storage.type != "sqlite" or synchronous == "full":
        return ""
    return f" (synchronous={synchronous}: writes acknowledged before a power loss may be lost)"


def _dev(root_token_id: str, listen_address: str, data_dir: str, configs: tuple[str, ...]) -> None:
    options = DevOptions(
        listen_address=listen_address
        or _env("STRONGROOM_DEV_LISTEN_ADDRESS", "VAULT_DEV_LISTEN_ADDRESS", "BAO_DEV_LISTEN_ADDRESS")
        or "127.0.0.1:8200",
        root_token_id=root_token_id
        or _env("STRONGROOM_DEV_ROOT_TOKEN_ID", "VAULT_DEV_ROOT_TOKEN_ID", "BAO_DEV_ROOT_TOKEN_ID"),
        data_dir=data_dir,
        configs=configs,
    )
    try:
        split_address(options.listen_address)
    except ValueError as exc:
        raise Failure(f"Error parsing listener configuration: {exc}", USAGE_EXIT) from None

    def ready(address: str, start: DevStart) -> None:
        if start.root_token:
            # Imported once serving: the client package brings httpx, which a server does not need.
            from strongroom.client.token_helper import store_token

            store_token(start.root_token)
        click.echo(dev_banner(address, start))

    try:
        run_dev(options, ready)
    except ConfigError as exc:
        raise Failure(f"Error starting the dev server: {exc}", USAGE_EXIT) from None
    except OSError as exc:
        raise Failure(f"Error initializing listener: {exc}", USAGE_EXIT) from None
