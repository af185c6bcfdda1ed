"""Which names a role may certify: Vault's validateNames, hostname and wildcard rules, with the caller's
identity templates (allowed_domains_template).
Layer: builtin (pure domain logic; stdlib and the engine's models only).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from strongroom.builtin.secrets.pki.models import Role

# Vault's hostnameRegex (after IDNA conversion) and labelRegex for a wildcard label.
HOSTNAME = re.compile(
    r"^(\*\.)?(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*"
    r"([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9])\.?$"
)
WILDCARD_LABEL = re.compile(r"^[a-zA-Z0-9*]+([-a-zA-Z0-9*]*[a-zA-Z0-9*])?$")
_LOCAL = ("localhost", "localdomain")
_TEMPLATE = re.compile(r"\{\{(.+?)\}\}")


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks for the certificate: the identity template values of its entity (None without an entity,
    when Vault leaves templates as written)."""

    identity: Mapping[str, str] | None = field(default=None)


NOBODY = Requester()
"""A request without an entity (what the harness and sign-verbatim's role see)."""


def render_identity(text: str, identity: Mapping[str, str] | None, *, globs: bool) -> str | None:
    """`text` with its {{identity...}} templates filled (Vault's ACL templating); None when one cannot be
    (no value, or a "*" while the role does not allow globs in identity templates). Unchanged without an
    entity or without a template."""
    if identity is None or not _TEMPLATE.search(text):
        return text
    failed = False

    def fill(match: re.Match[str]) -> str:
        nonlocal failed
        value = identity.get(match.group(1).strip(), "")
        if not value or (not globs and "*" in value):
            failed = True
        return value

    rendered = _TEMPLATE.sub(fill, text)
    return None if failed else rendered


def allowed_patterns(
    values: tuple[str, ...], templated: bool, requester: Requester, *, globs: bool
) -> list[str]:
    """A role's allowed_domains or allowed_uri_sans as the requester sees them: with templates rendered when
    the role says so (a pattern that cannot be rendered allows nothing)."""
    if not templated:
        return [value for value in values if value]
    rendered = (render_identity(value, requester.identity, globs=globs) for value in values if value)
    return [value for value in rendered if value]


def _split_wildcard(name: str) -> tuple[str, str] | None:
    """RFC 6125 wildcard: (the leftmost label holding the one "*", the rest), None when malformed."""
    label, dot, rest = name.partition(".")
    if not dot or "*" not in label or label.count("*") > 1 or "*" in rest:
        return None
    return label, rest


def is_hostname(name: str) -> bool:
    """Whether `name`, converted to its IDNA A-label form, is a hostname (at most 253 characters)."""
    try:
        converted = name.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return len(converted) <= 253 and HOSTNAME.fullmatch(converted) is not None


def name_allowed(role: Role, name: str, requester: Requester = NOBODY) -> bool:
    """Whether `role` may put `name` (a hostname, a wildcard, or an email) in a certificate."""
    reduced = email_domain = name
    wildcard_label = ""
    is_email = is_wildcard = False
    if "@" in name:
        parts = name.split("@")
        if len(parts) != 2:
            return False
        reduced = email_domain = parts[1]
        is_email = True
    if "*" in reduced:
        is_wildcard = True
        if not role.allow_wildcard_certificates:
            return False
        split = _split_wildcard(reduced)
        if split is None:
            return False
        wildcard_label, reduced = split
    if is_email and is_wildcard:
        return False
    if role.enforce_hostnames:
        if reduced and not is_hostname(reduced):
            return False
        if is_wildcard and not WILDCARD_LABEL.fullmatch(wildcard_label):
            return False
    if role.allow_any_name:
        return True
    if role.allow_localhost:
        if reduced in _LOCAL or (is_email and email_domain in _LOCAL):
            return True
        if role.allow_subdomains and any(
            reduced.endswith("." + local) or (is_wildcard and reduced == local) for local in _LOCAL
        ):
            return True
    domains = allowed_patterns(
        role.allowed_domains,
        role.allowed_domains_template,
        requester,
        globs=role.allow_globs_in_identity_templates,
    )
    return any(
        _domain_allows(
            role,
            domain=domain,
            name=name,
            reduced=reduced,
            email_domain=email_domain,
            is_email=is_email,
            is_wildcard=is_wildcard,
        )
        for domain in domains
    )


def _domain_allows(
    role: Role, *, domain: str, name: str, reduced: str, email_domain: str, is_email: bool, is_wildcard: bool
) -> bool:
    if role.allow_bare_domains and (
        name.lower() == domain.lower() or (is_email and email_domain.lower() == domain.lower())
    ):
        return True
    if role.allow_subdomains and (
        reduced.endswith("." + domain) or (is_wildcard and reduced.lower() == domain.lower())
    ):
        return True
    return role.allow_glob_domains and "*" in domain and glob_match(domain, name)


def glob_match(pattern: str, value: str) -> bool:
    """go-glob: "*" matches any run of characters (dots included); nothing else is special."""
    return (
        re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), value, re.DOTALL) is not None
    )


def common_name_valid(role: Role, common_name: str) -> bool:
    """The role's cn_validations: the common name must be an email or a hostname (when they are listed)."""
    checks = set(role.cn_validations)
    if not checks or "disabled" in checks:
        return True
    if "email" in checks and "@" in common_name:
        local, _, domain = common_name.partition("@")
        if local and is_hostname(domain):
            return True
    if "hostname" in checks:
        if not role.enforce_hostnames:
            return True
        split = _split_wildcard(common_name) if "*" in common_name else None
        host = split[1] if split is not None else common_name
        return "@" not in common_name and is_hostname(host)
    return False
