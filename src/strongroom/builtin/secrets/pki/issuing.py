"""From a role and a request to a certificate template: names checked against the role, the TTL clamped,
the validity kept inside the CA's (Vault's generateCreationBundle and getCertificateNotAfter).
Layer: builtin (pure domain logic; imports stdlib, errors, util and the engine's models, names and certs).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
from dataclasses import dataclass, field

from cryptography import x509

from strongroom.builtin.secrets.pki.certs import Template, Urls, a_label
from strongroom.builtin.secrets.pki.models import Role
from strongroom.builtin.secrets.pki.names import (
    NOBODY,
    Requester,
    allowed_patterns,
    common_name_valid,
    glob_match,
    is_hostname,
    name_allowed,
)
from strongroom.errors import InvalidRequestError
from strongroom.util.clock import rfc3339
from strongroom.util.durations import format_duration

OUTPUT_FORMATS = ("pem", "der", "pem_bundle")
CN_REQUIRED = (
    'the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, '
    'unless "require_cn" is set to false'
)


@dataclass(frozen=True, slots=True)
class NameRequest:
    """The names a certificate request asks for (from the request body, or a CSR)."""

    common_name: str = ""
    alt_names: tuple[str, ...] = ()
    ip_sans: tuple[str, ...] = ()
    uri_sans: tuple[str, ...] = ()
    exclude_cn_from_sans: bool = False
    other_sans: tuple[str, ...] = ()
    serial_number: str = ""
    user_ids: tuple[str, ...] = ()
    # Where the IP and URI SANs came from, as Vault's refusals name it: "the API" or "CSR".
    source: str = "the API"


@dataclass(frozen=True, slots=True)
class Validity:
    """When a certificate is valid (epoch seconds), and the warnings the clamping raised."""

    not_before: float
    not_after: float
    warnings: tuple[str, ...] = field(default=())


def check_format(output: str) -> None:
    if output not in OUTPUT_FORMATS:
        raise InvalidRequestError('the "format" path parameter must be "pem", "der", or "pem_bundle"')


def validity(
    *,
    now: float,
    requested_ttl: int,
    role_ttl: int,
    role_max_ttl: int,
    default_ttl: int,
    system_max_ttl: int,
    not_before_duration: int,
    ca_not_after: float | None,
    not_after_behavior: str = "err",
) -> Validity:
    """Vault's getCertificateNotAfter: the request's TTL, else the role's, else the mount's default; clamped
    to the role's maximum (else the mount's) with a warning; when it would outlive the CA, refused, cut to
    the CA's end or permitted, as the issuer's leaf_not_after_behavior ("err", "truncate", "permit") says."""
    ttl = requested_ttl or role_ttl or default_ttl
    max_ttl = role_max_ttl or system_max_ttl
    warnings: tuple[str, ...] = ()
    if ttl > max_ttl:
        warnings = (
            f'TTL "{format_duration(ttl)}" is longer than permitted maxTTL "{format_duration(max_ttl)}", '
            "so maxTTL is being used",
        )
        ttl = max_ttl
    not_after = now + ttl
    if ca_not_after is not None and int(not_after) > int(ca_not_after) and not_after_behavior != "permit":
        if not_after_behavior == "truncate":
            return Validity(now - not_before_duration, ca_not_after, warnings)
        raise InvalidRequestError(
            f"cannot satisfy request, as TTL would result in notAfter of {rfc3339(not_after)} that is "
            f"beyond the expiration of the CA certificate at {rfc3339(int(ca_not_after))}"
        )
    return Validity(now - not_before_duration, not_after, warnings)


RFC3339_LAYOUT = "2006-01-02T15:04:05Z07:00"


def parse_rfc3339(text: str) -> float:
    """Go's time.Parse(time.RFC3339, text) as epoch seconds; 400 with Go's words (as far as they go)."""
    try:
        if "T" not in text:
            raise ValueError(text)
        parsed = datetime.datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            raise ValueError(text)
    except ValueError:
        raise InvalidRequestError(
            f'parsing time "{text}" as "{RFC3339_LAYOUT}": cannot parse "{text}" as "2006"'
        ) from None
    return parsed.timestamp()


@dataclass(frozen=True, slots=True)
class LeafTimes:
    """What a leaf request says about its validity: its ttl (0: none), not_after and not_before ("": none),
    and whether the request path honours not_before (sign/ does not, as in Vault)."""

    ttl: int = 0
    not_after: str = ""
    not_before: str = ""
    honour_not_before: bool = True


def leaf_validity(
    role: Role,
    times: LeafTimes,
    *,
    now: float,
    default_ttl: int,
    system_max_ttl: int,
    ca_not_after: float,
    leaf_not_after_behavior: str,
) -> Validity:
    """Vault's getCertificateNotBefore and getCertificateNotAfter for a leaf: the role's not_before /
    not_after (or the request's, as the role's bounds allow), else the TTL rules of `validity`; kept inside
    the CA's validity as the issuer's leaf_not_after_behavior says."""
    not_before = _leaf_not_before(role, times.not_before, now) if times.honour_not_before else 0.0
    bound = role.not_after_bound
    timestamp = 0.0
    if bound not in ("", "permit", "forbid", "ttl-limited"):
        timestamp = parse_rfc3339(bound)
    fixed = role.not_after
    requested = 0.0
    if not fixed and times.not_after:
        if bound == "forbid":
            raise InvalidRequestError("not_after_bound is set to forbid. not_after cannot be provided.")
        fixed = times.not_after
        requested = parse_rfc3339(fixed)
    if times.ttl > 0 and fixed:
        raise InvalidRequestError(
            "Either ttl or not_after should be provided. Both should not be provided in the same request."
        )
    ttl = times.ttl or role.ttl or default_ttl
    max_ttl = role.max_ttl or system_max_ttl
    warnings: tuple[str, ...] = ()
    if ttl > max_ttl:
        warnings = (
            f'TTL "{format_duration(ttl)}" is longer than permitted maxTTL "{format_duration(max_ttl)}", '
            "so maxTTL is being used",
        )
        ttl = max_ttl
    if bound == "ttl-limited" and requested > now + ttl:
        raise InvalidRequestError(
            "not_after_bound is set to ttl-limited. Cannot satisfy request as that would result in notAfter "
            f"of {rfc3339(requested)} that is beyond the TTL of {format_duration(ttl)}"
        )
    not_after = parse_rfc3339(fixed) if fixed else now + ttl
    if int(not_after) > int(ca_not_after):
        if leaf_not_after_behavior == "truncate":
            if not_after < now:
                raise InvalidRequestError(
                    f"cannot satisfy request, as NotAfter date {rfc3339(not_after)} is in the past"
                )
            not_after = ca_not_after
        elif leaf_not_after_behavior != "permit":
            raise InvalidRequestError(
                f"cannot satisfy request, as TTL would result in notAfter of {rfc3339(not_after)} that is "
                f"beyond the expiration of the CA certificate at {rfc3339(int(ca_not_after))}"
            )
    if timestamp and not_after > timestamp:
        raise InvalidRequestError(
            f"not_after_bound is set to {bound}. Cannot statisfy request as that would result in notAfter of "
            f"{rfc3339(not_after)} that is beyond the maximum timestamp of {rfc3339(timestamp)}"
        )
    if not not_before:
        not_before = now - role.not_before_duration
    if not_before > not_after:
        raise InvalidRequestError(
            f"The certificate's Not Before ({rfc3339(not_before)}) is later than the certificate's Not After "
            f"({rfc3339(not_after)})"
        )
    return Validity(not_before, not_after, warnings)


def _leaf_not_before(role: Role, requested: str, now: float) -> float:
    """The notBefore a role and request fix (0: none, the role's not_before_duration then applies)."""
    if role.not_before:
        return parse_rfc3339(role.not_before)
    if not requested:
        return 0.0
    bound = role.not_before_bound
    if bound == "forbid":
        raise InvalidRequestError("not_before_bound is set to forbid. not_before cannot be provided.")
    when = parse_rfc3339(requested)
    if bound == "duration" and when < now - role.not_before_duration:
        raise InvalidRequestError(
            f"not_before_bound is set to duration. Cannot satisfy request as it would result in notBefore of "
            f"{rfc3339(when)} that is older than the allowed not_before_duration of "
            f"{format_duration(role.not_before_duration)}"
        )
    return when if bound in ("permit", "duration") else 0.0


def leaf_template(role: Role, names: NameRequest, urls: Urls, requester: Requester = NOBODY) -> Template:
    """The leaf certificate `role` issues for `names` (its validity still unset), or 400 naming the first
    name it refuses (Vault's generateCreationBundle: the common name, the subject's serial number, the DNS
    names, the emails, the other, IP and URI SANs, in that order)."""
    common_name = names.common_name
    if not common_name and role.require_cn:
        raise InvalidRequestError(CN_REQUIRED)
    dns: list[str] = []
    emails: list[str] = []
    if common_name and not names.exclude_cn_from_sans:
        _add_name(common_name, dns, emails)
    for name in names.alt_names:
        _add_name(name, dns, emails)
    if common_name and not (
        common_name_valid(role, common_name) and name_allowed(role, common_name, requester)
    ):
        raise InvalidRequestError(f"common name {common_name} not allowed by this role")
    if names.serial_number and not _serial_allowed(role, names.serial_number):
        raise InvalidRequestError(f"serial_number {names.serial_number} not allowed by this role")
    for name in dns:
        if not name_allowed(role, name, requester):
            raise InvalidRequestError(f"subject alternate name {name} not allowed by this role")
    for email in emails:
        if not name_allowed(role, email, requester):
            raise InvalidRequestError(f"email address {email} not allowed by this role")
    for user_id in names.user_ids:
        if not _user_id_allowed(role, user_id):
            raise InvalidRequestError(f"user_id {user_id} is not allowed by this role")
    return Template(
        common_name=common_name,
        not_before=0,
        not_after=0,
        dns_names=tuple(dns),
        emails=tuple(emails),
        ip_addresses=check_ip_sans(role, names.ip_sans, names.source),
        uris=check_uri_sans(role, names.uri_sans, names.source, requester),
        other_names=check_other_sans(role, names.other_sans),
        subject_extra=role.subject_extra(),
        subject_serial_number=names.serial_number,
        user_ids=names.user_ids,
        key_usage=role.key_usage,
        ext_key_usage=(*_flag_usages(role), *role.ext_key_usage),
        ext_key_usage_oids=role.ext_key_usage_oids,
        basic_constraints_for_non_ca=role.basic_constraints_valid_for_non_ca,
        policy_identifiers=role.policy_identifiers,
        signature_bits=role.signature_bits,
        urls=urls,
    )


def _add_name(name: str, dns: list[str], emails: list[str]) -> None:
    """Vault's sorting of a requested name: an email, else a DNS name in its A-label form when it is a
    host name at all (anything else stays out of the certificate's names)."""
    if "@" in name:
        if name not in emails:
            emails.append(name)
        return
    converted = a_label(name)
    if is_hostname(converted) and converted not in dns:
        dns.append(converted)


def _user_id_allowed(role: Role, user_id: str) -> bool:
    """Vault's validateUserId: listed (in any case), or matching a glob of allowed_user_ids."""
    lowered = user_id.lower()
    return any(
        allowed.lower() == lowered or ("*" in allowed and glob_match(allowed, user_id))
        for allowed in role.allowed_user_ids
        if allowed
    )


def _serial_allowed(role: Role, serial: str) -> bool:
    return any(
        allowed == serial or ("*" in allowed and glob_match(allowed, serial))
        for allowed in role.allowed_serial_numbers
        if allowed
    )


def parse_other_sans(values: tuple[str, ...]) -> dict[str, list[str]]:
    """Vault's parseOtherSANs: "<oid>;UTF8:<value>" entries as {oid: [values]}; ValueError otherwise."""
    parsed: dict[str, list[str]] = {}
    for other in values:
        oid, semicolon, typed = other.partition(";")
        if not semicolon:
            raise ValueError(f"expected a semicolon in other SAN {json.dumps(other)}")
        kind, colon, value = typed.partition(":")
        if not colon:
            raise ValueError(f"expected a colon in other SAN {json.dumps(other)}")
        if kind.lower() not in ("utf8", "utf-8"):
            raise ValueError(
                "only utf8 other SANs are supported; found non-supported type in other SAN "
                + json.dumps(other)
            )
        parsed.setdefault(oid, []).append(value)
    return parsed


def check_other_sans(role: Role, values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The requested other SANs as (OID, UTF-8 value) pairs, each allowed by the role's allowed_other_sans."""
    if not values:
        return ()
    try:
        requested = parse_other_sans(values)
    except ValueError as exc:
        raise InvalidRequestError(f"could not parse requested other SAN: {exc}") from None
    for oid in requested:
        try:
            x509.ObjectIdentifier(oid)
        except ValueError:
            raise InvalidRequestError(f"could not parse requested other SAN: invalid OID {oid}") from None
    if role.allowed_other_sans != ("*",):
        try:
            allowed = parse_other_sans(role.allowed_other_sans)
        except ValueError as exc:
            raise InvalidRequestError(f"error parsing role's allowed SANs: {exc}") from None
        for oid, found in requested.items():
            if oid not in allowed:
                raise InvalidRequestError(f"other SAN OID {oid} not allowed by this role")
            for value in found:
                if not any(glob_match(pattern, value) for pattern in allowed[oid]):
                    raise InvalidRequestError(f"other SAN {value} not allowed for OID {oid} by this role")
    return tuple((oid, value) for oid, found in requested.items() for value in found)


def _flag_usages(role: Role) -> tuple[str, ...]:
    flags = (
        (role.server_flag, "ServerAuth"),
        (role.client_flag, "ClientAuth"),
        (role.code_signing_flag, "CodeSigning"),
        (role.email_protection_flag, "EmailProtection"),
    )
    return tuple(name for on, name in flags if on)


def parse_ips(values: tuple[str, ...]) -> tuple[str, ...]:
    """IP SANs as canonical text; 400 on the first that is not an address."""
    parsed: list[str] = []
    for value in values:
        try:
            parsed.append(str(ipaddress.ip_address(value.strip())))
        except ValueError:
            raise InvalidRequestError(f'the value "{value}" is not a valid IP address') from None
    return tuple(parsed)


def check_ip_sans(role: Role, values: tuple[str, ...], source: str = "the API") -> tuple[str, ...]:
    """The IP SANs, held to the role wherever they came from (the API or a CSR: GHSA-g892-p242-8g86)."""
    parsed = parse_ips(values)
    if parsed and not role.allow_ip_sans:
        raise InvalidRequestError(
            f"IP Subject Alternative Names are not allowed in this role, but was provided via {source}"
        )
    if role.allowed_ip_sans_cidr:
        networks = parse_cidrs(role.allowed_ip_sans_cidr)
        for value in parsed:
            address = ipaddress.ip_address(value)
            if not any(address.version == net.version and address in net for net in networks):
                raise InvalidRequestError(f'the IP address "{value}" is not allowed in this role')
    return parsed


def parse_cidrs(values: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """`allowed_ip_sans_cidr` as networks; 400 on the first that is not an address/prefix (as Go's
    ParseCIDR, host bits may be set)."""
    networks = []
    for value in values:
        try:
            if "/" not in value:
                raise ValueError(value)
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise InvalidRequestError(
                f"error parsing allowed_ip_sans_cidr: invalid CIDR address: {value}"
            ) from None
    return networks


def check_uri_sans(
    role: Role, values: tuple[str, ...], source: str = "the API", requester: Requester = NOBODY
) -> tuple[str, ...]:
    if not values:
        return ()
    if not role.allowed_uri_sans:
        raise InvalidRequestError(
            f"URI Subject Alternative Names are not allowed in this role, but were provided via {source}"
        )
    patterns = allowed_patterns(
        role.allowed_uri_sans,
        role.allowed_uri_sans_template,
        requester,
        globs=role.allow_globs_in_identity_templates,
    )
    for uri in values:
        if not any(glob_match(pattern, uri) for pattern in patterns):
            raise InvalidRequestError(
                f"URI Subject Alternative Names were provided via {source} which are not valid for this role"
            )
    return values
