"""The tables of built-in backends: mount type -> factory, for secrets engines and auth methods.

Layer: builtin. A new engine or auth method is one line here; nothing registers itself at import time.
The mount layer resolves the "kv-v2" alias (KV_V2_ALIAS) to type "kv" with options {"version": "2"}
before looking a type up.
"""

from __future__ import annotations

from collections.abc import Mapping

from strongroom.builtin.auth.approle.backend import approle_factory
from strongroom.builtin.auth.jwt.backend import jwt_factory
from strongroom.builtin.auth.userpass.backend import userpass_factory
from strongroom.builtin.secrets.cubbyhole.backend import cubbyhole_factory
from strongroom.builtin.secrets.database.backend import database_factory
from strongroom.builtin.secrets.kv.backend import KV_V2_ALIAS, kv_factory
from strongroom.builtin.secrets.pki.backend import pki_factory
from strongroom.builtin.secrets.transit.backend import transit_factory
from strongroom.logical import BackendFactory

SECRETS_ENGINES: Mapping[str, BackendFactory] = {
    "kv": kv_factory,
    "cubbyhole": cubbyhole_factory,
    "database": database_factory,
    "transit": transit_factory,
    "pki": pki_factory,
}

AUTH_METHODS: Mapping[str, BackendFactory] = {
    "approle": approle_factory,
    "userpass": userpass_factory,
    "jwt": jwt_factory,
    "oidc": jwt_factory,
}

BACKENDS: Mapping[str, Mapping[str, BackendFactory]] = {"mounts": SECRETS_ENGINES, "auth": AUTH_METHODS}
"""Both tables, keyed as the mount tables are: what the core is built with."""

__all__ = ["AUTH_METHODS", "BACKENDS", "KV_V2_ALIAS", "SECRETS_ENGINES"]
