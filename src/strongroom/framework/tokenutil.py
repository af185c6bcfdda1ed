"""The token_* fields every auth method's roles and users share (Vault's sdk/helper/tokenutil).

Layer: framework. An auth backend declares TOKEN_FIELDS on its role path, keeps a TokenSettings in what it
stores, and turns it into the `Auth` of a login response with `to_auth`; the core then issues the token.
Imports errors, logical and util (policy names).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from strongroom.errors import InvalidRequestError
from strongroom.framework.fields import Field, FieldType
from strongroom.framework.path import FieldData
from strongroom.logical import Auth, LeaseOptions, LoginAlias
from strongroom.util.policies import parse_policies

TOKEN_TYPES = ("default", "service", "batch", "default-service", "default-batch")

TOKEN_FIELDS: dict[str, Field] = {
    "token_policies": Field(FieldType.COMMA_STRING_LIST, "Comma-separated list of policies"),
    "token_ttl": Field(FieldType.DURATION, "The initial ttl of the token to generate"),
    "token_max_ttl": Field(FieldType.DURATION, "The maximum lifetime of the generated token"),
    "token_explicit_max_ttl": Field(FieldType.DURATION, "A hard cap on the lifetime of generated tokens"),
    "token_period": Field(FieldType.DURATION, "Periodic tokens: renewable by this much, forever"),
    "token_num_uses": Field(FieldType.INT, "How many times a token may be used; zero means unlimited"),
    "token_no_default_policy": Field(FieldType.BOOL, "Do not add the 'default' policy to generated tokens"),
    "token_type": Field(
        FieldType.STRING, "The type of token to generate, service or batch", default="default"
    ),
    "token_bound_cidrs": Field(
        FieldType.COMMA_STRING_LIST, "CIDR blocks the generated tokens may be used from"
    ),
}


@dataclass(frozen=True, slots=True)
class TokenSettings:
    """What a role or user says about the tokens its logins get. Durations in seconds."""

    policies: tuple[str, ...] = ()
    ttl: int = 0
    max_ttl: int = 0
    explicit_max_ttl: int = 0
    period: int = 0
    num_uses: int = 0
    no_default_policy: bool = False
    type: str = "default"
    bound_cidrs: tuple[str, ...] = ()

    def updated(self, data: FieldData) -> TokenSettings:
        """These settings with every token_* field the request supplied applied, then validated."""
        changes: dict[str, Any] = {}
        for name in TOKEN_FIELDS:
            value, supplied = data.get_ok(name)
            if not supplied:
                continue
            attribute = name.removeprefix("token_")
            changes[attribute] = tuple(value) if isinstance(value, list) else value
        settings = replace(self, **changes)
        settings.validate()
        return settings

    def validate(self) -> None:
        """InvalidRequestError for values Vault refuses."""
        # Vault's wording and order (sdk/helper/tokenutil ParseTokenFields).
        if self.type not in TOKEN_TYPES:
            raise InvalidRequestError(f"invalid 'token_type' value \"{self.type}\"")
        if self.type in ("batch", "default-batch"):
            if self.period:
                raise InvalidRequestError(
                    "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens"
                )
            if self.num_uses:
                raise InvalidRequestError(
                    "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with "
                    "limited use count"
                )
        if self.max_ttl and self.ttl > self.max_ttl:
            raise InvalidRequestError("'token_ttl' cannot be greater than 'token_max_ttl'")
        if self.num_uses < 0:
            raise InvalidRequestError("'token_num_uses' cannot be negative")
        for block in self.bound_cidrs:
            try:
                ipaddress.ip_network(block, strict=False)
            except ValueError:
                raise InvalidRequestError(f'invalid "token_bound_cidrs" value "{block}"') from None

    def response_fields(self) -> dict[str, Any]:
        """The token_* fields as a role read shows them."""
        return {
            "token_bound_cidrs": list(self.bound_cidrs),
            "token_explicit_max_ttl": self.explicit_max_ttl,
            "token_max_ttl": self.max_ttl,
            "token_no_default_policy": self.no_default_policy,
            "token_num_uses": self.num_uses,
            "token_period": self.period,
            "token_policies": list(self.policies),
            "token_ttl": self.ttl,
            "token_type": self.type,
        }

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return asdict(self)

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> TokenSettings:
        """Read the stored form back."""
        known: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in record.items() if k in cls.__slots__
        }
        return cls(**known)

    def renewal(self, auth: Auth) -> Auth:
        """The Auth a renewal of a login's token answers with (Vault's AuthRenew callbacks): `auth` with
        these settings' current TTL, maximum TTL and period."""
        lease = replace(auth.lease, ttl=self.ttl, max_ttl=self.max_ttl)
        return replace(auth, lease=lease, period=self.period)

    def to_auth(
        self,
        *,
        display_name: str,
        metadata: Mapping[str, str] | None = None,
        extra_policies: tuple[str, ...] = (),
        internal: Mapping[str, Any] | None = None,
        alias: LoginAlias | None = None,
        group_aliases: tuple[str, ...] = (),
        bound_cidrs: tuple[str, ...] | None = None,
    ) -> Auth:
        """The Auth a successful login answers with; the core issues the token from it (and finds the
        entity behind `alias`). `bound_cidrs`, when given, replaces the settings' token_bound_cidrs."""
        policies = tuple(dict.fromkeys((*self.policies, *extra_policies)))
        return Auth(
            policies=policies,
            token_policies=policies,
            metadata=dict(metadata or {}),
            display_name=display_name,
            lease=LeaseOptions(ttl=self.ttl, max_ttl=self.max_ttl, renewable=True),
            explicit_max_ttl=self.explicit_max_ttl,
            period=self.period,
            num_uses=self.num_uses,
            no_default_policy=self.no_default_policy,
            # The core resolves "default" against the auth mount's token_type (tokens/types.py).
            token_type=self.type,
            bound_cidrs=self.bound_cidrs if bound_cidrs is None else bound_cidrs,
            internal=dict(internal or {}),
            alias=alias,
            group_aliases=group_aliases,
        )


def upgrade_policies(
    token: TokenSettings, legacy: tuple[str, ...], data: FieldData
) -> tuple[TokenSettings, tuple[str, ...]]:
    """Vault's tokenutil.UpgradeValue for the legacy "policies" field of a role or user, after `token` took
    the request's token_* fields: "policies" alone sets both, parsed as policyutil.ParsePolicies does;
    beside "token_policies" it echoes that value; "token_policies" alone forgets it. Returns the settings
    and what the legacy field now holds (a read shows "policies" only while that is not empty)."""
    given, legacy_supplied = data.get_ok("policies")
    if data.get_ok("token_policies")[1]:
        return token, token.policies if legacy_supplied else ()
    if legacy_supplied:
        parsed = parse_policies(given)
        return replace(token, policies=parsed), parsed
    return token, legacy


def equivalent_policies(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Vault's policyutil.EquivalentPolicies: the same names, ignoring order, repeats and "default"
    (case counts: "P1" and the token's "p1" differ, as in Vault)."""
    return set(a) - {"default"} == set(b) - {"default"}


def address_allowed(address: str, blocks: tuple[str, ...]) -> bool:
    """Whether a login from `address` passes `token_bound_cidrs` (every address passes when there are
    none; an address that is not an IP passes none)."""
    if not blocks:
        return True
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(block, strict=False) for block in blocks)
