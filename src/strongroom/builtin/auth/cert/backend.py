"""The "cert" auth method factory: trusted certificates, config, and login with a TLS client certificate.

Layer: builtin. Imports errors, framework, logical, util and the cert package's modules.

A login's token renews while its trusted certificate entry exists and grants the same policies, with the
entry's current TTLs (Vault's pathLoginRenew). Vault also checks, unless the config's disable_binding is
set, that the renewing connection presents the login's certificate again; the core's renewal does not carry
the renewing request's connection to the auth method, so that check is not made here.
"""

from __future__ import annotations

from strongroom.builtin.auth.cert import paths_certs, paths_crls, paths_login
from strongroom.builtin.auth.cert.models import load_cert
from strongroom.errors import InvalidRequestError
from strongroom.framework import FrameworkBackend
from strongroom.framework.tokenutil import equivalent_policies
from strongroom.logical import Auth, Backend, BackendConfig, Request, SpecialPaths

HELP = """
The "cert" credential provider allows authentication using
TLS client certificates. A client connects to Vault and uses
the "login" endpoint to generate a client token.

Trusted certificates are configured using the "certs/" endpoint
by a user with root access. A certificate authority can be trusted,
which permits all keys signed by it. Alternatively, self-signed
certificates can be trusted avoiding the need for a CA.
"""


class CertBackend(FrameworkBackend):
    """A cert mount: a FrameworkBackend whose logins' tokens renew on their entry's terms."""

    def __init__(self, config: BackendConfig) -> None:
        super().__init__(
            [*paths_certs.paths(config.system), *paths_crls.paths(), *paths_login.paths(config.clock)],
            help=HELP,
            special_paths=SpecialPaths(unauthenticated=("login",)),
        )

    async def renew_login(self, request: Request, auth: Auth) -> Auth | None:
        assert request.storage is not None
        entry = await load_cert(request.storage, auth.metadata.get("cert_name", ""))
        if entry is None:
            return None  # as Vault: the entry is gone, the token is left to expire
        if not equivalent_policies(entry.token.policies, auth.token_policies):
            raise InvalidRequestError("policies have changed, not renewing")
        return entry.token.renewal(auth)


async def cert_factory(config: BackendConfig) -> Backend:
    """The registry's factory."""
    return CertBackend(config)
