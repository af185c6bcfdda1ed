"""What a certificate may say under a role: Vault's rules for principals, certificate type, key ID, TTL,
critical options, extensions and the signed key's type and size.

Layer: builtin (pure functions; imports only the engine's keys and models). Each refusal is an
SshRuleError worded as Vault words it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from strongroom.builtin.secrets.ssh.keys import PublicKey, kind_and_bits, public_key_hash
from strongroom.builtin.secrets.ssh.models import SshRole

_TEMPLATE = re.compile(r"\{\{(.+?)\}\}")
# Each key type as the role's allowed_user_key_lengths may name it (Vault's createKeyTypeToMapKey).
_ALIASES = {"rsa": ("rsa", "ssh-rsa"), "dsa": ("dsa", "ssh-dss"), "ecdsa": ("ecdsa", "ec"),
            "ed25519": ("ed25519", "ssh-ed25519")}  # fmt: skip
_SIZED = frozenset({"rsa", "ssh-rsa", "dsa", "ssh-dss", "ec", "ecdsa"})
_EC_ALGORITHMS = {256: "ecdsa-sha2-nistp256", 384: "ecdsa-sha2-nistp384", 521: "ecdsa-sha2-nistp521"}


class SshRuleError(ValueError):
    """A request the role does not allow (a 400)."""


def split_list(text: str) -> list[str]:
    """Vault's strutil.RemoveDuplicates(ParseStringSlice(text, ",")): trimmed, non-empty, unique, sorted."""
    return sorted({item.strip() for item in text.split(",") if item.strip()})


def render(text: str, identity: Mapping[str, str] | None, blocked: tuple[str, ...] = ("*", "+")) -> str:
    """`text` with its {{identity...}} templates filled from the caller's identity (Vault's ACL templating:
    a missing value is an error, and so is a value holding one of `blocked`); unchanged when the caller
    has no entity, as Vault leaves it."""
    if identity is None or not _TEMPLATE.search(text):
        return text

    def fill(match: re.Match[str]) -> str:
        value = identity.get(match.group(1).strip(), "")
        if not value:
            raise SshRuleError(
                f"template '{text}' could not be rendered -> no value could be found for one of the template "
                "directives"
            )
        for forbidden in blocked:
            if forbidden in value:
                raise SshRuleError(
                    f"template '{text}' could not be rendered -> template substitution contains forbidden "
                    f'value: "{forbidden}"'
                )
        return value

    return _TEMPLATE.sub(fill, text)


def host_certificate(cert_type: str, role: SshRole) -> bool:
    """Whether the request is for a host certificate (else a user certificate)."""
    if cert_type == "user":
        if not role.allow_user_certificates:
            raise SshRuleError("cert_type 'user' is not allowed by role")
        return False
    if cert_type == "host":
        if not role.allow_host_certificates:
            raise SshRuleError("cert_type 'host' is not allowed by role")
        return True
    raise SshRuleError("cert_type must be either 'user' or 'host'")


def principals(
    requested: str | None, role: SshRole, *, host: bool, identity: Mapping[str, str] | None
) -> list[str]:
    """The certificate's principals: those requested (else the role's default user), each allowed by the
    role's allowed_users (user certificates) or allowed_domains (host certificates)."""
    # A rendered value is spliced into a comma list: a comma or "*" in it would widen the list.
    blocked = tuple(
        ("" if role.allow_commas_in_identity_templates else ",")
        + ("" if role.allow_wildcards_in_identity_templates else "*")
    )
    if host:
        default, allowed_text, templated = "", role.allowed_domains, role.allowed_domains_template
    else:
        # Rendered first, even when the request names its principals (as Vault: its errors come first).
        default = (
            render(role.default_user, identity, blocked) if role.default_user_template else role.default_user
        )
        allowed_text, templated = role.allowed_users, role.allowed_users_template
    wanted = split_list(default if requested is None else requested)
    allowed = split_list(render(allowed_text, identity, blocked) if templated else allowed_text)
    if not wanted:
        if not role.allow_empty_principals and allowed_text != "*":
            raise SshRuleError(
                "refusing to issue unsafe, globally-valid certificate with no principals specified; "
                "set valid_principals or default_user"
            )
        return []
    if not allowed:
        raise SshRuleError("role is not configured to allow any principals")
    if allowed_text == "*":
        return wanted
    for principal in wanted:
        if not (_host_allowed(principal, allowed, role) if host else principal in allowed):
            raise SshRuleError(f"{principal} is not a valid value for valid_principals")
    return wanted


def _host_allowed(principal: str, allowed: list[str], role: SshRole) -> bool:
    return any(
        (principal == domain and role.allow_bare_domains)
        or (role.allow_subdomains and principal.endswith("." + domain))
        for domain in allowed
    )


def key_id(requested: str, role: SshRole, *, role_name: str, display_name: str, public: PublicKey) -> str:
    """The certificate's key ID: the requested one (if the role allows), else the role's key_id_format
    (or Vault's default) filled in."""
    if requested:
        if not role.allow_user_key_ids:
            raise SshRuleError("setting key_id is not allowed by role")
        return requested
    template = role.key_id_format or (
        "vault-{{token_display_name}}-{{public_key_hash}}" if display_name else "vault-{{public_key_hash}}"
    )
    values = {
        "token_display_name": display_name,
        "role_name": role_name,
        "public_key_hash": public_key_hash(public),
    }
    for name, value in values.items():
        template = template.replace("{{" + name + "}}", value)
    return template


def ttl(requested: int | None, role: SshRole, *, default_ttl: int, max_ttl: int) -> int:
    """The certificate's lifetime: requested, else the role's, else the mount's; capped by the role's (else
    the mount's) maximum, which a requested TTL may not exceed."""
    chosen = role.ttl if requested is None else requested
    chosen = chosen or default_ttl
    ceiling = role.max_ttl or max_ttl
    if chosen > ceiling:
        if requested is not None:
            raise SshRuleError(f"ttl is larger than maximum allowed {ceiling}")
        chosen = ceiling
    return chosen


def critical_options(requested: Mapping[str, Any], role: SshRole) -> dict[str, str]:
    """The requested critical options (each allowed by the role, when it lists any), else its defaults."""
    if not requested:
        return dict(role.default_critical_options)
    options = stringify(requested)
    if role.allowed_critical_options:
        allowed = role.allowed_critical_options.split(",")
        refused = [name for name in options if name not in allowed]
        if refused:
            raise SshRuleError(f"critical options not on allowed list: [{' '.join(refused)}]")
    return options


def extensions(
    requested: Mapping[str, Any], role: SshRole, identity: Mapping[str, str] | None
) -> tuple[dict[str, str], bool]:
    """The requested extensions (each allowed by the role), else its defaults (templates rendered); and
    whether a templated default was left out for want of an entity (Vault then warns)."""
    if requested:
        wanted = stringify(requested)
        if role.allowed_extensions == "*":
            return wanted, False
        allowed = role.allowed_extensions.split(",")
        refused = [name for name in wanted if name not in allowed]
        if refused:
            raise SshRuleError(f"extensions [{' '.join(refused)}] are not on allowed list")
        return wanted, False
    if not role.default_extensions_template:
        return dict(role.default_extensions), False
    result: dict[str, str] = {}
    skipped = False
    for name, value in role.default_extensions.items():
        if not _TEMPLATE.search(value):
            result[name] = value
        elif identity is None:
            skipped = True
        else:
            result[name] = render(value, identity)
    return result, skipped


def stringify(values: Mapping[str, Any]) -> dict[str, str]:
    """A map's values as Go's %v prints them."""
    return {name: _go_text(value) for name, value in values.items()}


def _go_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    return str(value)


def check_key(public: PublicKey, role: SshRole) -> None:
    """The signed key's type and size against the role's allowed_user_key_lengths (any, when empty)."""
    if not role.allowed_user_key_lengths:
        return
    kind, bits = kind_and_bits(public)
    names = _names_of(kind, bits)
    present = passed = False
    for name in names:
        sizes = role.allowed_user_key_lengths.get(name)
        if sizes is None:
            continue
        present = True
        # Vault compares the size only under the names "rsa", "dsa", "ec" and "ecdsa" (and their
        # OpenSSH aliases for RSA and DSA); any listed size passes under the others.
        if any(name not in _SIZED or bits == size for size in sizes):
            passed = True
    if not present:
        raise SshRuleError(f"key of type {kind} is not allowed")
    if not passed:
        raise SshRuleError(f"key is of an invalid size: {bits}")


def check_issue_spec(key_type: str, key_bits: int, role: SshRole) -> None:
    """issue/<role>'s key_type and key_bits against the role's allowed_user_key_lengths."""
    if not role.allowed_user_key_lengths:
        return
    key_allowed = bits_allowed = False
    for name in _names_of(key_type, key_bits):
        sizes = role.allowed_user_key_lengths.get(name)
        if sizes is None:
            continue
        key_allowed = True
        if key_bits in sizes:
            bits_allowed = True
            break
    if not key_allowed:
        raise SshRuleError("provided key_type value not in allowed_user_key_types")
    if not bits_allowed:
        raise SshRuleError("provided key_bits value not in list of role's allowed_user_key_types")


def _names_of(kind: str, bits: int) -> tuple[str, ...]:
    names = _ALIASES.get(kind, ())
    if kind == "ecdsa" and bits in _EC_ALGORITHMS:
        names = (*names, _EC_ALGORITHMS[bits])
    return names
