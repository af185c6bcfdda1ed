"""The "cert" auth method factory: trusted certificates, config, and login with a TLS client certificate.

Layer: builtin. Imports errors, framework, logical, util and the cert package's modules.

A login's token renews while its trusted certificate entry exists and grants the same policies, with the
entry's current TTLs (Vault's pathLoginRenew); unless the config's disable_binding is set, the renewal must
come over a connection presenting the login's certificate, still trusted by that entry. Vault compares the
certificate's bytes, kept in the token's internal data; the token store here keeps only its metadata, so the
certificate is recognized by its serial number and key identifiers there.
"""

from __future__ import annotations

from strongroom.builtin.auth.cert import paths_certs, paths_crls, paths_login
from strongroom.builtin.auth.cert.models import load_cert, load_config
from strongroom.errors import InvalidRequestError
from strongroom.framework import FrameworkBackend
from strongroom.framework.tokenutil import equivalent_policies
from strongroom.logical import Auth, Backend, BackendConfig, Request, SpecialPaths
from strongroom.logical.backend import RenewalRefusedError

HELP = """
The "cert" credential provider allows authentication using
TLS client certificates. A client connects to Vault and uses
the "login" endpoint to generate a client token.

Trusted certificates are configured using the "certs/" endpoint
by a user with root access. A certificate authority can be trusted,
which permits all keys signed by it. Alternatively, self-signed
certificates can be trusted avoiding the need for a CA.
"""


# The login metadata that names the certificate itself.
_IDENTITY = ("serial_number", "authority_key_id", "subject_key_id", "common_name")


class CertBackend(FrameworkBackend):
    """A cert mount: a FrameworkBackend whose logins' tokens renew on their entry's terms."""

    def __init__(self, config: BackendConfig) -> None:
        self._clock = config.clock
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
        if not (await load_config(request.storage)).disable_binding:
            try:
                chain = paths_login.client_chain(request)
                await paths_login.matching_entry(request.storage, chain, entry.name, self._clock)
            except InvalidRequestError as exc:  # Vault's error responses, sent as they are
                raise RenewalRefusedError(str(exc)) from None
            presented = paths_login.login_metadata(chain[0], entry)
            if any(presented[key] != auth.metadata.get(key) for key in _IDENTITY):
                raise InvalidRequestError(
                    "client identity during renewal not matching client identity used during login"
                )
        return entry.token.renewal(auth)


async def cert_factory(config: BackendConfig) -> Backend:
    """The registry's factory."""
    return CertBackend(config)
