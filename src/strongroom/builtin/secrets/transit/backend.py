"""The "transit" secrets engine factory: encryption as a service, Vault-compatible.

Layer: builtin. Imports framework, logical and the transit path modules. The crypto lives in keygen.py and
operations.py (no framework there); what is stored is in models.py; store.py reads and writes it through the
mount's storage view, so the barrier encrypts every key.
"""

from __future__ import annotations

from strongroom.builtin.secrets.transit import (
    paths_backup,
    paths_crypt,
    paths_export,
    paths_import,
    paths_keys,
    paths_sign,
    paths_util,
)
from strongroom.builtin.secrets.transit.store import KeyStore
from strongroom.framework import FrameworkBackend
from strongroom.logical import Backend, BackendConfig

HELP = """
The transit backend provides key management, encryption, decryption, signing and
HMAC as a service: data sent to it is never stored, and the keys never leave it
unless they were created exportable.
"""


async def transit_factory(config: BackendConfig) -> Backend:
    """A transit engine over the mount's storage."""
    store = KeyStore(config.clock)
    return FrameworkBackend(
        [
            *paths_keys.paths(store),
            *paths_crypt.paths(store),
            *paths_sign.paths(store),
            *paths_util.paths(),
            *paths_export.paths(store),
            *paths_backup.paths(store),
            *paths_import.paths(store),
        ],
        help=HELP,
    )
