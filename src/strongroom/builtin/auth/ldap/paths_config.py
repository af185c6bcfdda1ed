"""`config`: the LDAP server, how users and groups are found in it, and the token_* fields of every login.

Layer: builtin. Imports cryptography (to check PEM inputs), errors, framework, logical and this package.
A write changes only the fields it names (Vault's NewConfigEntry over the existing entry); the first write
starts from Vault's defaults.

Invariant: `bindpass` and `client_tls_key` are stored, never returned.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from strongroom.builtin.auth.ldap.directory import DEREF_ALIASES, TLS_VERSIONS
from strongroom.builtin.auth.ldap.filters import check_template
from strongroom.builtin.auth.ldap.models import CONFIG_KEY, LdapConfig, load_config, save_config
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.tokenutil import TOKEN_FIELDS
from strongroom.logical import Operation, Request, Response

USERFILTER_WARNING = (
    "userfilter configured does not consider userattr and may result in colliding entity aliases on logins"
)

S, B = FieldType.STRING, FieldType.BOOL
FIELDS: dict[str, Field] = {
    "url": Field(
        S,
        "LDAP URL to connect to (default: ldap://127.0.0.1). Multiple URLs can be specified by "
        "concatenating them with commas; they will be tried in-order.",
        default="ldap://127.0.0.1",
    ),
    "userdn": Field(S, "LDAP domain to use for users (eg: ou=People,dc=example,dc=org)"),
    "binddn": Field(S, "LDAP DN for searching for the user DN (optional)"),
    "bindpass": Field(S, "LDAP password for searching for the user DN (optional)"),
    "groupdn": Field(
        S, "LDAP search base to use for group membership search (eg: ou=Groups,dc=example,dc=org)"
    ),
    "groupfilter": Field(
        S,
        "Go template for querying group membership of user (optional)",
        default="(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))",
    ),
    "groupattr": Field(S, "LDAP attribute to follow on objects returned by <groupfilter>", default="cn"),
    "userfilter": Field(
        S, "Go template for LDAP user search filer (optional)", default="({{.UserAttr}}={{.Username}})"
    ),
    "upndomain": Field(S, "Enables userPrincipalDomain login with [username]@UPNDomain (optional)"),
    "username_as_alias": Field(B, "If true, sets the alias name to the username", default=False),
    "userattr": Field(S, "Attribute used for users (default: cn)", default="cn"),
    "certificate": Field(
        S, "CA certificate to use when verifying LDAP server certificate, must be x509 PEM encoded (optional)"
    ),
    "client_tls_cert": Field(S, "Client certificate to provide to the LDAP server, must be x509 PEM encoded"),
    "client_tls_key": Field(
        S, "Client certificate key to provide to the LDAP server, must be x509 PEM encoded"
    ),
    "discoverdn": Field(B, "Use anonymous bind to discover the bind DN of a user (optional)"),
    "insecure_tls": Field(B, "Skip LDAP server SSL Certificate verification - VERY insecure (optional)"),
    "starttls": Field(B, "Issue a StartTLS command after establishing unencrypted connection (optional)"),
    "tls_min_version": Field(
        S,
        "Minimum TLS version to use. Accepted values are 'tls10', 'tls11', 'tls12' or "
        "'tls13'. Defaults to 'tls12'",
        default="tls12",
    ),
    "tls_max_version": Field(
        S,
        "Maximum TLS version to use. Accepted values are 'tls10', 'tls11', 'tls12' or "
        "'tls13'. Defaults to 'tls12'",
        default="tls12",
    ),
    "deny_null_bind": Field(
        B,
        "Denies an unauthenticated LDAP bind request if the user's password is empty; defaults to true",
        default=True,
    ),
    "anonymous_group_search": Field(
        B, "Use anonymous binds when performing LDAP group searches", default=False
    ),
    "case_sensitive_names": Field(
        B, "If true, case sensitivity will be used when comparing usernames and groups for matching policies."
    ),
    "use_token_groups": Field(
        B, "Use Active Directory's tokenGroups attribute; not supported by this server.", default=False
    ),
    "use_pre111_group_cn_behavior": Field(B, "Match group CNs case-sensitively, as Vault before 1.1.1 did."),
    "request_timeout": Field(
        FieldType.DURATION,
        "Timeout, in seconds, for the connection when making requests "
        "against the server before returning back an error.",
        default="90s",
    ),
    "connection_timeout": Field(
        FieldType.DURATION,
        "Timeout, in seconds, when attempting to connect to the LDAP "
        "server before trying the next URL in the configuration.",
        default="30s",
    ),
    "dereference_aliases": Field(
        S,
        "When aliases should be dereferenced on search operations. Accepted values "
        "are 'never', 'finding', 'searching', 'always'. Defaults to 'never'.",
        default="never",
    ),
    "max_page_size": Field(
        FieldType.INT,
        "If greater than 0, search groups with the paged search control, pages of up to this size.",
        default=0,
    ),
    **TOKEN_FIELDS,
}

_DIRECTORY_FIELDS = (
    "url", "userdn", "binddn", "bindpass", "groupdn", "groupfilter", "groupattr", "userfilter", "upndomain",
    "userattr", "certificate", "client_tls_cert", "client_tls_key", "discoverdn", "insecure_tls", "starttls",
    "tls_min_version", "tls_max_version", "deny_null_bind", "anonymous_group_search",
    "use_pre111_group_cn_behavior", "request_timeout", "connection_timeout", "dereference_aliases",
    "max_page_size",
)  # fmt: skip


def _supplied(data: FieldData, name: str, first_write: bool) -> tuple[Any, bool]:
    value, supplied = data.get_ok(name)
    return value, supplied or (first_write and name != "use_pre111_group_cn_behavior")


def _check(config: LdapConfig) -> None:
    """Vault's NewConfigEntry checks, in its order and words."""
    directory = config.directory
    for name in ("userfilter", "groupfilter"):
        problem = check_template(getattr(directory, name))
        if problem:
            raise InvalidRequestError(f"invalid {name}: {problem}")
    if directory.certificate:
        try:
            x509.load_pem_x509_certificate(directory.certificate.encode())
        except ValueError:
            raise InvalidRequestError(
                "failed to parse server tls cert: failed to decode PEM block in the certificate"
            ) from None
    if directory.client_tls_cert and directory.client_tls_key:
        try:
            certificate = x509.load_pem_x509_certificate(directory.client_tls_cert.encode())
            key = load_pem_private_key(directory.client_tls_key.encode(), password=None)
        except (ValueError, TypeError):
            raise InvalidRequestError("failed to parse client X509 key pair") from None
        if certificate.public_key() != key.public_key():
            raise InvalidRequestError(
                "failed to parse client X509 key pair: tls: private key does not match public key"
            )
    elif directory.client_tls_cert or directory.client_tls_key:
        raise InvalidRequestError("both client_tls_cert and client_tls_key must be set")
    for name in ("tls_min_version", "tls_max_version"):
        if getattr(directory, name) not in TLS_VERSIONS:
            raise InvalidRequestError(f"invalid '{name}'")
    if directory.tls_max_version < directory.tls_min_version:
        raise InvalidRequestError("'tls_max_version' must be greater than or equal to 'tls_min_version'")
    if directory.dereference_aliases not in DEREF_ALIASES:
        raise InvalidRequestError(
            f"invalid dereference_aliases: {directory.dereference_aliases!r}: must be one of never, finding, "
            "searching, always"
        )


async def read_config(request: Request, _data: FieldData) -> Response:
    assert request.storage is not None
    config = await load_config(request.storage)
    response = Response(data=config.view())
    return response.with_warning(USERFILTER_WARNING) if _warns(config) else response


def _warns(config: LdapConfig) -> bool:
    userfilter, userattr = config.directory.userfilter, config.directory.userattr
    return bool(userfilter) and "{{.UserAttr}}" not in userfilter and userattr not in userfilter


async def write_config(request: Request, data: FieldData) -> Response | None:
    assert request.storage is not None
    if data.get("use_token_groups"):
        raise InvalidRequestError("use_token_groups (Active Directory's tokenGroups) is not supported")
    first = await request.storage.get(CONFIG_KEY) is None
    config = await load_config(request.storage)
    changes: dict[str, Any] = {}
    for name in _DIRECTORY_FIELDS:
        value, supplied = _supplied(data, name, first)
        if supplied:
            changes[name] = value.lower() if name in ("url", "userattr") else value
    settings = replace(config.directory, **changes)
    config = replace(config, directory=settings)
    value, supplied = _supplied(data, "case_sensitive_names", first)
    if supplied:
        config = replace(config, case_sensitive_names=bool(value))
    value, supplied = _supplied(data, "username_as_alias", first)
    if supplied:
        config = replace(config, username_as_alias=bool(value))
    _check(config)
    config = replace(config, token=config.token.updated(data))
    await save_config(request.storage, config)
    return Response().with_warning(USERFILTER_WARNING) if _warns(config) else None


def paths() -> list[Path]:
    """The `config` declaration."""
    return [
        Path(
            "config",
            fields=FIELDS,
            operations={Operation.READ: read_config, Operation.UPDATE: write_config},
            synopsis="Configure the LDAP server to connect to, along with its options.",
            description="This endpoint allows you to configure the LDAP server to connect to and its "
            "configuration options.",
        )
    ]
