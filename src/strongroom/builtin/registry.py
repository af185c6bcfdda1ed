"""The one table of built-in secrets engines: mount type -> factory. Layer: builtin.

A new engine is one line here; nothing registers itself at import time. The mount layer resolves the
"kv-v2" alias (KV_V2_ALIAS) to type "kv" with options {"version": "2"} before looking a type up.
"""

from __future__ import annotations

from collections.abc import Mapping

from strongroom.builtin.secrets.cubbyhole.backend import cubbyhole_factory
from strongroom.builtin.secrets.kv.backend import KV_V2_ALIAS, kv_factory
from strongroom.logical import BackendFactory

SECRETS_ENGINES: Mapping[str, BackendFactory] = {
    "kv": kv_factory,
    "cubbyhole": cubbyhole_factory,
}

__all__ = ["KV_V2_ALIAS", "SECRETS_ENGINES"]
