"""The "ssh" secrets engine factory: an SSH certificate authority, Vault/OpenBao-compatible.

Layer: builtin. Imports framework, logical and the ssh path modules. Key work lives in keys.py and
certs.py, the role rules in signing.py (no framework there); what is stored is in models.py and store.py,
through the mount's storage view, so the barrier encrypts the CA key.
"""

from __future__ import annotations

from strongroom.builtin.secrets.ssh import paths_ca, paths_roles, paths_sign
from strongroom.framework import FrameworkBackend
from strongroom.logical import Backend, BackendConfig, SpecialPaths

HELP = """
The SSH backend signs SSH public keys with a certificate authority: configure the CA
with "config/ca", create roles with "roles/<name>", then sign keys with "sign/<role>"
or have a key pair made and signed with "issue/<role>".
"""

# The CA public key is for hosts and clients that hold no token (Vault's unauthenticated paths).
UNAUTHENTICATED = ("public_key",)


async def ssh_factory(config: BackendConfig) -> Backend:
    """An ssh engine over the mount's storage."""
    return FrameworkBackend(
        [*paths_ca.paths(), *paths_roles.paths(), *paths_sign.paths(config.system, config.clock)],
        help=HELP,
        special_paths=SpecialPaths(unauthenticated=UNAUTHENTICATED),
    )
