"""The tables of built-in backends: mount type -> factory, for secrets engines and auth methods.

Layer: builtin. A new engine or auth method is one line here; nothing registers itself at import time.
Each line names its factory as "module:attribute", imported when a mount of that type is first built, so
an engine's libraries (psycopg, PyJWT, cryptography's x509, argon2...) load only on a server that uses it.
The mount layer resolves the "kv-v2" alias (KV_V2_ALIAS) to type "kv" with options {"version": "2"}
before looking a type up.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from strongroom.logical import Backend, BackendConfig, BackendFactory

KV_V2_ALIAS = ("kv-v2", "kv", {"version": "2"})
"""(alias type, real type, options it implies)."""


def lazy(target: str) -> BackendFactory:
    """The factory `target` ("package.module:attribute"), its module imported on the first call."""
    module, _, attribute = target.partition(":")

    async def factory(config: BackendConfig) -> Backend:
        real: BackendFactory = getattr(importlib.import_module(module), attribute)
        return await real(config)

    factory.__qualname__ = factory.__name__ = attribute
    return factory


SECRETS_ENGINES: Mapping[str, BackendFactory] = {
    "kv": lazy("strongroom.builtin.secrets.kv.backend:kv_factory"),
    # Vault's old name of KV; the mount keeps the type "generic" and is always version 1.
    "generic": lazy("strongroom.builtin.secrets.kv.backend:kv_factory"),
    "cubbyhole": lazy("strongroom.builtin.secrets.cubbyhole.backend:cubbyhole_factory"),
    "database": lazy("strongroom.builtin.secrets.database.backend:database_factory"),
    "transit": lazy("strongroom.builtin.secrets.transit.backend:transit_factory"),
    "pki": lazy("strongroom.builtin.secrets.pki.backend:pki_factory"),
    "totp": lazy("strongroom.builtin.secrets.totp.backend:totp_factory"),
    "ssh": lazy("strongroom.builtin.secrets.ssh.backend:ssh_factory"),
}

AUTH_METHODS: Mapping[str, BackendFactory] = {
    "approle": lazy("strongroom.builtin.auth.approle.backend:approle_factory"),
    "userpass": lazy("strongroom.builtin.auth.userpass.backend:userpass_factory"),
    "jwt": lazy("strongroom.builtin.auth.jwt.backend:jwt_factory"),
    "oidc": lazy("strongroom.builtin.auth.jwt.backend:jwt_factory"),
    "kubernetes": lazy("strongroom.builtin.auth.kubernetes.backend:kubernetes_factory"),
    "ldap": lazy("strongroom.builtin.auth.ldap.backend:ldap_factory"),
    "cert": lazy("strongroom.builtin.auth.cert.backend:cert_factory"),
}

BACKENDS: Mapping[str, Mapping[str, BackendFactory]] = {"mounts": SECRETS_ENGINES, "auth": AUTH_METHODS}
"""Both tables, keyed as the mount tables are: what the core is built with."""

__all__ = ["AUTH_METHODS", "BACKENDS", "KV_V2_ALIAS", "SECRETS_ENGINES", "lazy"]
