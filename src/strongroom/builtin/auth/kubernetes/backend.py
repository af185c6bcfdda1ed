"""The "kubernetes" auth method factory: config, roles, and login with a service-account JWT.

Layer: builtin. Imports errors, framework, logical and the kubernetes package's modules. A login's token
renews only while its role exists, with the role's current token TTLs (as Vault's plugin).
"""

from __future__ import annotations

from strongroom.builtin.auth.kubernetes import paths_config, paths_login, paths_role
from strongroom.builtin.auth.kubernetes.models import load_role
from strongroom.builtin.auth.kubernetes.pod import PodFiles
from strongroom.errors import InvalidRequestError
from strongroom.framework import FrameworkBackend
from strongroom.logical import Auth, Backend, BackendConfig, BackendFactory, Request, SpecialPaths

HELP = """
The Kubernetes Auth Backend allows authentication for Kubernetes service accounts.
"""


class KubernetesBackend(FrameworkBackend):
    """A kubernetes mount: a FrameworkBackend whose logins' tokens renew on their role's terms."""

    def __init__(self, config: BackendConfig, pod: PodFiles) -> None:
        super().__init__(
            [
                *paths_config.paths(pod),
                *paths_role.paths(config.system),
                *paths_login.paths(config.clock, pod),
            ],
            help=HELP,
            special_paths=SpecialPaths(unauthenticated=("login",)),
        )

    async def renew_login(self, request: Request, auth: Auth) -> Auth | None:
        assert request.storage is not None
        # The token store keeps metadata, not a login's internal data: the role is read back from metadata.
        name = auth.metadata.get("role", "")
        if not name:
            raise InvalidRequestError("failed to fetch role_name during renewal")
        role = await load_role(request.storage, name.lower())
        if role is None:
            raise InvalidRequestError(f"role {name} does not exist during renewal")
        return role.token.renewal(auth)


def make_kubernetes_factory(pod: PodFiles) -> BackendFactory:
    """A factory whose mounts read the server's own pod files at `pod` (tests point it elsewhere)."""

    async def factory(config: BackendConfig) -> Backend:
        return KubernetesBackend(config, pod)

    return factory


kubernetes_factory = make_kubernetes_factory(PodFiles())
"""The registry's factory: the kubelet's service-account paths."""
