"""Which ACME directory a request addresses, and what it may issue: the mount-relative prefix
("acme/", "roles/<role>/acme/", "issuer/<ref>/acme/", "issuer/<ref>/roles/<role>/acme/"), its public URL
from config/cluster, the role (or sign-verbatim) and issuer config/acme allows for it.
Layer: builtin (imports the pki engine's models and store, and the ACME modules).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from strongroom.builtin.secrets.pki.acme.models import AcmeConfig
from strongroom.builtin.secrets.pki.acme.problems import AcmeDisabled, AcmeProblem
from strongroom.builtin.secrets.pki.acme.store import AcmeStore
from strongroom.builtin.secrets.pki.models import Issuer, Role
from strongroom.builtin.secrets.pki.store import PkiStore

NO_CLUSTER_PATH = "ACME feature requires local cluster 'path' field configuration to be set"
MARKER = "/acme/"


@dataclass(frozen=True, slots=True)
class Directory:
    """One ACME directory as a request sees it."""

    prefix: str  # mount-relative, ending in "acme/"
    cluster_url: str  # config/cluster's path, without a trailing slash
    role: Role
    issuer: Issuer
    config: AcmeConfig

    @property
    def base_url(self) -> str:
        return f"{self.cluster_url}/{self.prefix}"

    def url(self, *parts: str) -> str:
        return self.base_url + "/".join(parts)

    def request_url(self, path: str) -> str:
        """The URL a JWS must name to be addressed to `path` (mount-relative)."""
        return f"{self.cluster_url}/{path}"

    @property
    def index_link(self) -> str:
        return f'<{self.url("directory")}>;rel="index"'


def prefix_of(path: str) -> str:
    """The directory prefix of a mount-relative ACME path: everything up to and including "acme/"."""
    cut = ("/" + path).rfind(MARKER)
    return path[:cut] + "acme/" if cut > 0 else "acme/"


def policy_kind(policy: str) -> str:
    """ "forbid", "sign-verbatim" or "role"; ValueError for anything else (OpenBao's words)."""
    if policy in ("forbid", "sign-verbatim"):
        return policy
    if policy.startswith("role:"):
        if len(policy) == len("role:"):
            raise ValueError(f"no role specified by policy {policy}")
        return "role"
    raise ValueError(f"string {policy} not a valid Default Directory Policy")


def verbatim_role(issuer_ref: str) -> Role:
    """The role sign-verbatim issues with under ACME: any name, any key, the CSR's names."""
    return Role(
        name="",
        allow_any_name=True,
        enforce_hostnames=False,
        allow_ip_sans=True,
        require_cn=False,
        cn_validations=("disabled",),
        key_type="any",
        key_bits=0,
        allowed_uri_sans=("*",),
        issuer_ref=issuer_ref,
    )


async def acme_role(pki: PkiStore, name: str) -> Role:
    """A stored role ACME may issue with (OpenBao refuses no_store roles: orders must find their cert)."""
    role = await pki.role(name)
    if role is None:
        raise AcmeProblem("malformed", "role does not exist", lead=True)
    if role.no_store:
        raise AcmeProblem("serverInternal", "role can not be used as NoStore is set to true", lead=True)
    return role


async def resolve(store: AcmeStore, pki: PkiStore, path: str, role_name: str, issuer_ref: str) -> Directory:
    """The directory `path` addresses; AcmeDisabled when ACME is off, a problem when the directory is not
    allowed or the mount is not ready."""
    config = await store.config()
    if not config.enabled:
        raise AcmeDisabled()
    cluster = await store.cluster()
    if not cluster.path:
        raise AcmeProblem("serverInternal", NO_CLUSTER_PATH)
    if not role_name:
        kind = policy_kind(config.default_directory_policy)
        if kind == "forbid":
            raise AcmeProblem("serverInternal", "default directory not allowed by ACME policy", lead=True)
        if kind == "sign-verbatim":
            role = verbatim_role(issuer_ref)
        else:
            role = await acme_role(pki, config.default_directory_policy[len("role:") :])
    else:
        role = await acme_role(pki, role_name)
        if config.allowed_roles != ("*",) and role.name not in config.allowed_roles:
            raise AcmeProblem("serverInternal", "specified role not allowed by ACME policy", lead=True)
    issuer = await pki.resolve_issuer(issuer_ref or role.issuer_ref or "default")
    if issuer is None:
        raise AcmeProblem("malformed", "issuer does not exist", lead=True)
    if not issuer.key_id:
        raise AcmeProblem("serverInternal", "issuer missing proper issuance usage or key", lead=True)
    if config.allowed_issuers != ("*",):
        allowed = [await pki.resolve_issuer(ref) for ref in config.allowed_issuers]
        if not any(found is not None and found.id == issuer.id for found in allowed):
            raise AcmeProblem("serverInternal", "specified issuer not allowed by ACME policy", lead=True)
    if not config.allow_role_ext_key_usage:
        # Without allow_role_ext_key_usage an ACME certificate is a TLS server's and nothing else.
        role = replace(
            role,
            ext_key_usage=(),
            ext_key_usage_oids=(),
            server_flag=True,
            client_flag=False,
            code_signing_flag=False,
            email_protection_flag=False,
        )
    return Directory(prefix_of(path), cluster.path.rstrip("/"), role, issuer, config)
