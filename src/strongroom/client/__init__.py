"""The HTTP client for the Vault API that the CLI, the agent and the tests use.

Layer: client. Imports httpx and stdlib; never the server.
"""

from strongroom.client.client import (
    Client,
    TLSOptions,
    address_from_env,
    namespace_from_env,
    tls_from_env,
    token_from_env,
)
from strongroom.client.errors import ClientError, TransportError
from strongroom.client.token_helper import read_token_file, store_token, token_file_path

__all__ = [
    "Client",
    "ClientError",
    "TLSOptions",
    "TransportError",
    "address_from_env",
    "namespace_from_env",
    "read_token_file",
    "store_token",
    "tls_from_env",
    "token_file_path",
    "token_from_env",
]
