"""Talking to the LDAP directory: dial (with failover), find and bind the user, search its groups.

Layer: builtin. Imports ldap3 and the standard library only (no framework): everything here is synchronous,
blocking I/O that the login path runs in a worker thread. The steps, their order and their error texts are
Vault's (sdk/helper/ldaputil and builtin/credential/ldap).

Invariant: neither the bind password nor the user's password appears in an error or a log line; an error
names the URL, the DN or the filter at most.
"""

from __future__ import annotations

import re
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import LDAPException

from strongroom.builtin.auth.ldap.filters import (
    DEFAULT_GROUPFILTER,
    DEFAULT_USERFILTER,
    DirectoryError,
    escape_dn_value,
    escape_filter,
    group_cn,
    render,
)

USER_BIND_FAILED = "ldap operation failed: failed to bind as user"
REBIND_FAILED = "ldap operation failed: failed to re-bind with the BindDN user"

TLS_VERSIONS: Mapping[str, ssl.TLSVersion] = {
    "tls10": ssl.TLSVersion.TLSv1,
    "tls11": ssl.TLSVersion.TLSv1_1,
    "tls12": ssl.TLSVersion.TLSv1_2,
    "tls13": ssl.TLSVersion.TLSv1_3,
}
DEREF_ALIASES: Mapping[str, Literal["NEVER", "SEARCH", "FINDING_BASE", "ALWAYS"]] = {
    "never": ldap3.DEREF_NEVER,
    "finding": ldap3.DEREF_BASE,
    "searching": ldap3.DEREF_SEARCH,
    "always": ldap3.DEREF_ALWAYS,
}


@dataclass(frozen=True, slots=True)
class DirectorySettings:
    """Where the directory is and how to find users and groups in it (the LDAP part of `config`)."""

    url: str = "ldap://127.0.0.1"
    userdn: str = ""
    userattr: str = "cn"
    userfilter: str = DEFAULT_USERFILTER
    upndomain: str = ""
    discoverdn: bool = False
    binddn: str = ""
    bindpass: str = field(default="", repr=False)
    deny_null_bind: bool = True
    anonymous_group_search: bool = False
    groupdn: str = ""
    groupfilter: str = DEFAULT_GROUPFILTER
    groupattr: str = "cn"
    starttls: bool = False
    insecure_tls: bool = False
    certificate: str = ""
    client_tls_cert: str = ""
    client_tls_key: str = field(default="", repr=False)
    tls_min_version: str = "tls12"
    tls_max_version: str = "tls12"
    request_timeout: int = 90
    connection_timeout: int = 30
    dereference_aliases: str = "never"
    max_page_size: int = 0
    use_pre111_group_cn_behavior: bool = False


@dataclass(frozen=True, slots=True)
class DirectoryLogin:
    """What a successful bind learned: the alias name Vault would give, the user's DN, its groups."""

    alias_name: str
    user_dn: str
    groups: tuple[str, ...]


_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]*-----END CERTIFICATE-----")


@contextmanager
def _tls(settings: DirectorySettings, host: str) -> Iterator[ldap3.Tls]:
    context = ssl.create_default_context()
    context.minimum_version = TLS_VERSIONS[settings.tls_min_version]
    context.maximum_version = TLS_VERSIONS[settings.tls_max_version]
    if settings.insecure_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if settings.certificate:
        # Only the PEM blocks, as Go's AppendCertsFromPEM reads them: text around them (which ssl refuses
        # when it is not ASCII) is ignored.
        context.load_verify_locations(cadata="".join(_PEM_CERTIFICATE.findall(settings.certificate)))
    if settings.client_tls_cert and settings.client_tls_key:
        # ssl loads a key pair only from files: a private directory that lives for this handshake only.
        with tempfile.TemporaryDirectory(prefix="strongroom-ldap-") as directory:
            cert, key = Path(directory, "cert.pem"), Path(directory, "key.pem")
            cert.write_text(settings.client_tls_cert)
            key.touch(mode=0o600)
            key.write_text(settings.client_tls_key)
            context.load_cert_chain(cert, key)
    yield _ContextTls(context, host)


class _ContextTls(ldap3.Tls):
    """ldap3's Tls with a ready SSLContext, so hostname checks and TLS versions are the standard library's."""

    def __init__(self, context: ssl.SSLContext, host: str) -> None:
        super().__init__()
        self._context = context
        self._host = host

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        connection.socket = self._context.wrap_socket(
            connection.socket,
            server_side=False,
            do_handshake_on_connect=do_handshake,
            server_hostname=self._host,
        )


def dial(settings: DirectorySettings) -> ldap3.Connection:
    """An open (not yet bound) connection to the first of the comma-separated URLs that answers."""
    errors: list[str] = []
    for url in settings.url.split(","):
        try:
            return _dial_one(settings, url)
        except _DialError as exc:
            errors.append(str(exc))
        except (LDAPException, OSError) as exc:
            errors.append(f'error connecting to host "{url}": {_reason(exc)}')
    listed = "".join(f"\n\t* {error}" for error in errors)
    raise DirectoryError(f"{len(errors)} error{'s' if len(errors) > 1 else ''} occurred:{listed}\n\n")


class _DialError(Exception):
    pass


def _reason(exc: BaseException) -> str:
    """The innermost message of an ldap3 error, which wraps its cause in one-element tuples."""
    value: object = exc
    while True:
        if isinstance(value, BaseException) and len(value.args) == 1:
            value = value.args[0]
        elif isinstance(value, tuple) and len(value) == 1:
            value = value[0]
        else:
            text = str(value)
            # Some of its errors carry such a tuple already turned into text: "('message',)".
            quoted = re.fullmatch(r"\('(.*)',\)", text, re.DOTALL)
            return quoted.group(1) if quoted else text


def _dial_one(settings: DirectorySettings, url: str) -> ldap3.Connection:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("ldap", "ldaps"):
        raise _DialError(f'invalid LDAP scheme in url "{parts.netloc}"')
    port = parts.port or (636 if parts.scheme == "ldaps" else 389)
    with _tls(settings, host) as tls:
        server = ldap3.Server(
            host,
            port=port,
            use_ssl=parts.scheme == "ldaps",
            tls=tls,
            connect_timeout=settings.connection_timeout or None,
            get_info=ldap3.NONE,
        )
        connection = ldap3.Connection(
            server,
            auto_bind=ldap3.AUTO_BIND_NONE,
            receive_timeout=settings.request_timeout or None,
            raise_exceptions=False,
        )
        connection.open()
        if settings.starttls and parts.scheme == "ldap" and not connection.start_tls():
            connection.unbind()
            raise _DialError(f'error connecting to host "{url}": StartTLS refused: {connection.result}')
    return connection


def _bind(connection: ldap3.Connection, dn: str, password: str) -> bool:
    """Bind as `dn`: with `password`, or unauthenticated (RFC 4513 5.1.2) when it is empty."""
    connection.user = dn
    connection.password = password or None
    connection.authentication = ldap3.SIMPLE if password else ldap3.ANONYMOUS
    try:
        return bool(connection.bind())
    except LDAPException:
        return False


def _search(
    settings: DirectorySettings, connection: ldap3.Connection, base: str, query: str, attributes: list[str]
) -> list[dict[str, Any]]:
    """The entries under `base` that match `query`, each {"dn", "attributes"}; DirectoryError on failure."""
    deref = DEREF_ALIASES.get(settings.dereference_aliases, "NEVER")
    try:
        if settings.max_page_size > 0:
            found = list(
                connection.extend.standard.paged_search(
                    base,
                    query,
                    search_scope=ldap3.SUBTREE,
                    dereference_aliases=deref,
                    attributes=attributes,
                    paged_size=settings.max_page_size,
                    generator=True,
                )
            )
        else:
            if not connection.search(
                base, query, search_scope=ldap3.SUBTREE, dereference_aliases=deref, attributes=attributes
            ) and connection.result.get("result", 0) not in (0, 32):
                raise DirectoryError(
                    f"LDAP Result Code {connection.result['result']}: "
                    f"{connection.result.get('description', '')}"
                )
            found = list(connection.response or [])
    except LDAPException as exc:
        raise DirectoryError(f"LDAP search failed: {_reason(exc)}") from None
    return [entry for entry in found if entry.get("type") == "searchResEntry"]


def _search_user(
    settings: DirectorySettings, connection: ldap3.Connection, username: str
) -> list[dict[str, Any]]:
    """Vault's makeLdapSearchRequest: bind as the service account, then look the user up."""
    if not _bind(connection, settings.binddn, settings.bindpass):
        raise DirectoryError(
            f"LDAP bind (service) failed: LDAP Result Code {connection.result.get('result')}"
        )
    values = {"UserAttr": escape_filter(settings.userattr), "Username": escape_filter(username)}
    if settings.upndomain:
        values = {
            "UserAttr": "userPrincipalName",
            "Username": f"{escape_filter(username)}@{settings.upndomain}",
        }
    query = render(settings.userfilter or DEFAULT_USERFILTER, values)
    return _search(settings, connection, settings.userdn, query, [settings.userattr])


def _searches_for_user(settings: DirectorySettings) -> bool:
    return settings.discoverdn or bool(settings.binddn and settings.bindpass)


def _constructed_dn(settings: DirectorySettings, username: str) -> str:
    if settings.upndomain:
        return f"{escape_dn_value(username)}@{settings.upndomain}"
    return f"{settings.userattr}={escape_dn_value(username)},{settings.userdn}"


def _user_bind_dn(settings: DirectorySettings, connection: ldap3.Connection, username: str) -> str:
    if not _searches_for_user(settings):
        return _constructed_dn(settings, username)
    entries = _search_user(settings, connection, username)
    if len(entries) != 1:
        raise DirectoryError("LDAP search for binddn 0 or not unique")
    return str(entries[0]["dn"])


def _user_dn(settings: DirectorySettings, connection: ldap3.Connection, bind_dn: str, username: str) -> str:
    if not settings.upndomain:
        return bind_dn
    query = f"(userPrincipalName={escape_filter(username)}@{settings.upndomain})"
    entries = _search(settings, connection, settings.userdn, query, [])
    return str(entries[-1]["dn"]) if entries else ""


def _groups(
    settings: DirectorySettings, connection: ldap3.Connection, user_dn: str, username: str
) -> list[str]:
    if not settings.groupfilter or not settings.groupdn:
        return []
    query = render(
        settings.groupfilter, {"UserDN": escape_filter(user_dn), "Username": escape_filter(username)}
    )
    names: dict[str, None] = {}
    exact = settings.use_pre111_group_cn_behavior
    for entry in _search(settings, connection, settings.groupdn, query, [settings.groupattr]):
        values = entry.get("attributes", {}).get(settings.groupattr) or []
        for value in values if isinstance(values, list) else [values]:
            names[group_cn(str(value), exact_case=exact)] = None
        if not values:
            names[group_cn(str(entry["dn"]), exact_case=exact)] = None
    return list(names)


def _alias_value(settings: DirectorySettings, connection: ldap3.Connection, username: str) -> str:
    if not _searches_for_user(settings):
        return _constructed_dn(settings, username)
    entries = _search_user(settings, connection, username)
    if len(entries) != 1:
        raise DirectoryError("LDAP search for entity alias attribute 0 or not unique")
    attributes = entries[0].get("attributes", {})
    values = attributes.get(settings.userattr)
    if values is None or values == []:
        raise DirectoryError("LDAP attribute missing for entity alias mapping")
    values = values if isinstance(values, list) else [values]
    if len(values) != 1:
        raise DirectoryError(
            f"LDAP entity alias attribute {settings.userattr} empty or not unique for entity alias mapping"
        )
    return str(values[0])


def authenticate(
    settings: DirectorySettings, username: str, password: str, username_as_alias: bool
) -> DirectoryLogin:
    """Vault's LDAP login against the directory: find the user's DN, bind as it with `password`, then (as
    the service account, or anonymously) read its groups and the value its entity alias is named by."""
    if settings.deny_null_bind and not password:
        raise DirectoryError("password cannot be of zero length when passwordless binds are being denied")
    connection = dial(settings)
    group_connection: ldap3.Connection | None = None
    try:
        try:
            bind_dn = _user_bind_dn(settings, connection, username)
        except DirectoryError:
            raise DirectoryError(USER_BIND_FAILED, invalid_credentials=True) from None
        if not _bind(connection, bind_dn, password):
            raise DirectoryError(USER_BIND_FAILED, invalid_credentials=True)
        if (
            settings.binddn
            and settings.bindpass
            and not _bind(connection, settings.binddn, settings.bindpass)
        ):
            raise DirectoryError(REBIND_FAILED, invalid_credentials=True)
        user_dn = _user_dn(settings, connection, bind_dn, username)
        searcher = connection
        if settings.anonymous_group_search:
            try:
                group_connection = searcher = dial(settings)
            except DirectoryError:
                raise DirectoryError("ldap operation failed: failed to connect to LDAP server") from None
        groups = _groups(settings, searcher, user_dn, username)
        alias = username if username_as_alias else _alias_value(settings, searcher, username)
        if not alias:
            raise DirectoryError("missing entity alias attribute value")
        return DirectoryLogin(alias_name=alias, user_dn=user_dn, groups=tuple(groups))
    except (LDAPException, OSError) as exc:
        # A connection lost or timed out mid-login: an error answer, never a server error.
        raise DirectoryError(f"ldap operation failed: {_reason(exc)}") from None
    finally:
        _close(connection)
        if group_connection is not None:
            _close(group_connection)


def current_groups(settings: DirectorySettings, username: str) -> tuple[str, ...] | None:
    """The user's directory groups now, looked up with the service account (binddn and bindpass) without
    the user's password; None when no service account is configured. DirectoryError when the user is gone."""
    if not (settings.binddn and settings.bindpass):
        return None
    connection = dial(settings)
    group_connection: ldap3.Connection | None = None
    try:
        user_dn = _user_dn(settings, connection, _user_bind_dn(settings, connection, username), username)
        searcher = connection
        if settings.anonymous_group_search:
            group_connection = searcher = dial(settings)
        return tuple(_groups(settings, searcher, user_dn, username))
    except (LDAPException, OSError) as exc:
        raise DirectoryError(f"ldap operation failed: {_reason(exc)}") from None
    finally:
        _close(connection)
        if group_connection is not None:
            _close(group_connection)


def _close(connection: ldap3.Connection) -> None:
    # The server may have gone away first: then there is nothing left to close.
    with suppress(LDAPException, OSError):
        connection.unbind()
