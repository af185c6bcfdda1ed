"""`config`: where the Kubernetes API server is, the CA to trust it with, the reviewer JWT, and the optional
local checks of a login's JWT (pem_keys, issuer).

Layer: builtin. Imports framework, logical, the jwt package's PEM reader and this package's models and pod.
When the server itself runs in a pod, an unset CA and reviewer JWT default to the pod's own service-account
files (unless disable_local_ca_jwt; see pod.py); as in Vault, a write without a CA needs the pod's CA file.
"""

from __future__ import annotations

from strongroom.builtin.auth.jwt.validator import parse_public_key_pem
from strongroom.builtin.auth.kubernetes.models import KubernetesConfig, load_config, save_config
from strongroom.builtin.auth.kubernetes.pod import PodFiles
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

SYNOPSIS = "Configures the JWT Public Key and Kubernetes API information."
DESCRIPTION = """
The Kubernetes Auth backend validates service account JWTs and verifies their
existence with the Kubernetes TokenReview API. This endpoint configures the
public key used to validate the JWT signature and the necessary information to
access the Kubernetes API.
"""

FIELDS = {
    "kubernetes_host": Field(
        FieldType.STRING,
        "Host must be a host string, a host:port pair, or a URL to the base of the Kubernetes API server.",
    ),
    "kubernetes_ca_cert": Field(
        FieldType.STRING, "PEM encoded CA cert for use by the TLS client used to talk with the API."
    ),
    "token_reviewer_jwt": Field(
        FieldType.STRING,
        "A service account JWT used as a bearer token to access the TokenReview API to validate other "
        "JWTs during login. If not set the JWT used for login will be used to access the API.",
    ),
    "pem_keys": Field(
        FieldType.COMMA_STRING_LIST,
        "Optional list of PEM-formated public keys or certificates used to verify the signatures of "
        "kubernetes service account JWTs.",
    ),
    "issuer": Field(FieldType.STRING, "Optional JWT issuer (deprecated)."),
    "disable_iss_validation": Field(
        FieldType.BOOL, "Disable JWT issuer validation (deprecated).", default=True
    ),
    "disable_local_ca_jwt": Field(
        FieldType.BOOL,
        "Disable defaulting to the local CA cert and service account JWT when running in a Kubernetes pod",
        default=False,
    ),
}


async def read_config(request: Request, fields: FieldData) -> Response | None:
    assert request.storage is not None
    config = await load_config(request.storage)
    return None if config is None else Response(data=config.view())


async def write_config(pod: PodFiles, request: Request, fields: FieldData) -> Response | None:
    assert request.storage is not None
    host: str = fields.get("kubernetes_host")
    if not host:
        raise InvalidRequestError("no host provided")
    config = KubernetesConfig(
        kubernetes_host=host,
        kubernetes_ca_cert=fields.get("kubernetes_ca_cert"),
        token_reviewer_jwt=fields.get("token_reviewer_jwt"),
        pem_keys=tuple(fields.get("pem_keys")),
        issuer=fields.get("issuer"),
        disable_iss_validation=fields.get("disable_iss_validation"),
        disable_local_ca_jwt=fields.get("disable_local_ca_jwt"),
    )
    if config.disable_local_ca_jwt and not config.kubernetes_ca_cert:
        raise InvalidRequestError("kubernetes_ca_cert must be given when disable_local_ca_jwt is true")
    for pem in config.pem_keys:
        try:
            parse_public_key_pem(pem)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None
    if not config.kubernetes_ca_cert and not config.disable_local_ca_jwt:
        pod.read_ca()
    await save_config(request.storage, config)
    return None


def paths(pod: PodFiles) -> list[Path]:
    """The `config` declaration."""

    async def write(request: Request, fields: FieldData) -> Response | None:
        return await write_config(pod, request, fields)

    return [
        Path(
            "config",
            fields=FIELDS,
            operations={Operation.READ: read_config, Operation.UPDATE: write},
            synopsis=SYNOPSIS,
            description=DESCRIPTION,
        )
    ]
