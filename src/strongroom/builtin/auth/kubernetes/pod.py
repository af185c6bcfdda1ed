"""The files of the pod the server itself runs in: its service-account token and the cluster's CA, which
the kubernetes auth method uses when its config leaves token_reviewer_jwt and kubernetes_ca_cert unset.

Layer: builtin. Imports errors and the package's models; reads files, no network.
Both are read anew at every login (kubelet rotates the token), never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from strongroom.builtin.auth.kubernetes.models import KubernetesConfig
from strongroom.errors import InvalidRequestError

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass(frozen=True, slots=True)
class PodFiles:
    """Where the pod's token and CA are (the kubelet's paths unless a test says otherwise)."""

    token: str = f"{SERVICE_ACCOUNT_DIR}/token"
    ca_cert: str = f"{SERVICE_ACCOUNT_DIR}/ca.crt"

    def read_ca(self) -> str:
        """The CA, or InvalidRequestError in Go's words when it cannot be read (as Vault answers)."""
        try:
            return Path(self.ca_cert).read_text()
        except OSError as exc:
            reason = (exc.strerror or type(exc).__name__).lower()
            raise InvalidRequestError(f"open {self.ca_cert}: {reason}") from None

    def read_token(self) -> str:
        """The token, or "" when there is none (the login's own JWT is then the review's bearer)."""
        try:
            return Path(self.token).read_text().strip()
        except OSError:
            return ""

    def complete(self, config: KubernetesConfig) -> KubernetesConfig:
        """The config a login uses: an unset reviewer JWT and CA taken from these files, unless
        disable_local_ca_jwt."""
        if config.disable_local_ca_jwt:
            return config
        return replace(
            config,
            token_reviewer_jwt=config.token_reviewer_jwt or self.read_token(),
            kubernetes_ca_cert=config.kubernetes_ca_cert or self.read_ca(),
        )
