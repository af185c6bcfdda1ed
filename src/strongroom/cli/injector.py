"""`strongroom injector`: run the Kubernetes agent injector (a mutating admission webhook over HTTPS).

Layer: cli. Imports click, cli.flags and injector. Flags follow Vault's injector (vault-k8s) and may be given
as its AGENT_INJECT_* environment variables: -listen, -tls-cert-file, -tls-key-file, -vault-address,
-vault-auth-path, and -agent-image (vault-k8s: -vault-image) for the image the agent containers run.
SIGTERM and SIGINT stop it (exit 0).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click

from strongroom.cli.flags import USAGE_EXIT, Failure, VaultCommand
from strongroom.injector.annotations import Defaults
from strongroom.injector.webhook import make_server


def _address(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not port.isdigit():
        raise Failure(f'-listen "{listen}" is not HOST:PORT or :PORT', USAGE_EXIT)
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - a webhook listens on the pod's address


@click.command(cls=VaultCommand)
@click.option("--listen", envvar="AGENT_INJECT_LISTEN", default=":8080", help="Address to listen on.")
@click.option("--tls-cert-file", envvar="AGENT_INJECT_TLS_CERT_FILE", default="", help="PEM certificate.")
@click.option("--tls-key-file", envvar="AGENT_INJECT_TLS_KEY_FILE", default="", help="PEM private key.")
@click.option("--vault-address", envvar="AGENT_INJECT_VAULT_ADDR", default="", help="The server's address.")
@click.option(
    "--vault-auth-path", envvar="AGENT_INJECT_VAULT_AUTH_PATH", default="auth/kubernetes",
    help="Mount path of the kubernetes auth method.",
)  # fmt: skip
@click.option(
    "--agent-image", envvar="AGENT_INJECT_VAULT_IMAGE", default="strongroom:latest",
    help="Image of the injected agent containers.",
)  # fmt: skip
@click.option("--log-level", envvar="AGENT_INJECT_LOG_LEVEL", default="info", help="Log level.")
def injector(
    *, listen: str, tls_cert_file: str, tls_key_file: str, vault_address: str, vault_auth_path: str,
    agent_image: str, log_level: str,
) -> None:  # fmt: skip
    """Run the Kubernetes agent injector (a mutating admission webhook)."""
    if not tls_cert_file or not tls_key_file:
        raise Failure("-tls-cert-file and -tls-key-file are required: the API server calls webhooks over "
                      "HTTPS only", USAGE_EXIT)  # fmt: skip
    if not vault_address:
        raise Failure("-vault-address is required", USAGE_EXIT)
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s [%(levelname)s] %(name)s: %(message)s",
    )
    defaults = Defaults(vault_address=vault_address, agent_image=agent_image, auth_path=vault_auth_path)
    try:
        server = make_server(_address(listen), tls_cert_file, tls_key_file, defaults)
    except OSError as exc:
        raise Failure(f"strongroom injector: {exc}", 1) from None

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.getLogger("strongroom.injector").info("listening on %s (HTTPS)", listen)
    try:
        server.serve_forever()
    finally:
        server.server_close()
