"""The "pki" secrets engine factory: a certificate authority, Vault/OpenBao-compatible.

Layer: builtin. Imports framework, logical and the pki path modules. The X.509 work lives in keys.py,
certs.py, names.py and issuing.py (no framework there); what is stored is in models.py; store.py reads and
writes it through the mount's storage view, so the barrier encrypts every private key.
"""

from __future__ import annotations

from strongroom.builtin.secrets.pki import (
    paths_ca,
    paths_certs,
    paths_crl,
    paths_fetch,
    paths_issue,
    paths_issuer_revocation,
    paths_issuers,
    paths_keys,
    paths_ocsp,
    paths_revoke,
    paths_roles,
    paths_tidy,
    paths_urls,
)
from strongroom.builtin.secrets.pki.acme.engine import AcmeEngine
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.framework import FrameworkBackend
from strongroom.logical import Backend, BackendConfig, SpecialPaths

HELP = """
The PKI backend dynamically generates X509 server and client certificates.

After mounting this backend, create a CA with "root/generate/internal" (or an
intermediate with "intermediate/generate/internal" and "intermediate/set-signed"),
then issue certificates against roles with "issue/<role>" or "sign/<role>".
"""

# Vault's unauthenticated pki paths: the public certificates and CRLs, for clients that hold no token; and
# the ACME endpoints, which authenticate with JWS signatures instead.
UNAUTHENTICATED = (
    "cert/*",
    "ca/pem",
    "ca_chain",
    "ca",
    "crl/delta",
    "crl/delta/pem",
    "crl/pem",
    "crl",
    "ocsp",
    "ocsp/*",
    *AcmeEngine.unauthenticated,
)
# Each issuer's certificate and CRL, and the issuer list (Vault's LIST arrives with its trailing slash).
ISSUER_UNAUTHENTICATED = (
    "issuer/+/crl/der",
    "issuer/+/crl/pem",
    "issuer/+/crl",
    "issuer/+/crl/delta/der",
    "issuer/+/crl/delta/pem",
    "issuer/+/crl/delta",
    "issuer/+/pem",
    "issuer/+/der",
    "issuer/+/json",
    "issuers/",
)


async def pki_factory(config: BackendConfig) -> Backend:
    """A pki engine over the mount's storage."""
    store = PkiStore(config.storage, config.clock)
    issue_paths, pki_secret = paths_issue.paths(store, config.system, config.clock)
    acme = AcmeEngine(store, config)
    return FrameworkBackend(
        [
            *acme.paths,
            *paths_ca.paths(store, config.system, config.clock),
            *paths_fetch.paths(store),
            *paths_urls.paths(store),
            *paths_issuers.paths(store),
            *paths_keys.paths(store),
            *paths_issuer_revocation.paths(store, config.clock),
            *paths_certs.paths(store),
            *paths_roles.paths(store),
            *issue_paths,
            *paths_revoke.paths(store, config.clock),
            *paths_crl.paths(store),
            *paths_tidy.paths(store, config.clock),
            *paths_ocsp.paths(store, config.clock),
        ],
        help=HELP,
        special_paths=SpecialPaths(unauthenticated=UNAUTHENTICATED + ISSUER_UNAUTHENTICATED),
        secrets=[pki_secret],
        on_initialize=acme.resume,
        on_cleanup=acme.close,
    )
