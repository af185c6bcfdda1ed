"""`role/<name>` and LIST `role/`: what a token must assert to log in against a role, and what token it gets.

Layer: builtin. Imports framework (Path, fields, tokenutil), logical and the jwt package's models and claims.
Vault's rules on write: role_type defaults to "oidc" when not given (on every write), a user claim is
required, a jwt role needs at least one binding (audience, subject, claims or CIDRs), and "role" is a
reserved metadata key.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from strongroom.builtin.auth.jwt.claims import ClaimError, check_glob_bound_claims
from strongroom.builtin.auth.jwt.models import ROLE_PREFIX, JWTRole, load_role, save_role
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.roles import RoleRecords
from strongroom.framework.tokenutil import TOKEN_FIELDS, upgrade_policies
from strongroom.logical import Request, Response, SystemView
from strongroom.util.durations import format_duration

SYNOPSIS = "Register an role with the backend."
DESCRIPTION = """A role is required to authenticate with this backend. The role binds
JWT token information with token policies and settings.
The bindings, token polices and token settings can all be configured
using this endpoint"""

RESERVED_METADATA = ("role",)
OAUTH2_METADATA = ("id_token", "refresh_token", "access_token")
CALLBACK_MODES = ("device", "direct", "client")

SCALAR_FIELDS = (
    "expiration_leeway",
    "not_before_leeway",
    "clock_skew_leeway",
    "bound_subject",
    "max_age",
    "verbose_oidc_logging",
    "user_claim_json_pointer",
    "user_claim",
    "groups_claim",
    "poll_interval",
)

LEEWAY_HELP = "Duration in seconds of leeway when validating {what} to account for clock skew. {default}"

FIELDS: dict[str, Field] = {
    "name": Field(FieldType.LOWERCASE_STRING, "Name of the role."),
    "role_type": Field(FieldType.STRING, "Type of the role, either 'jwt' or 'oidc'."),
    "expiration_leeway": Field(
        FieldType.SIGNED_DURATION,
        LEEWAY_HELP.format(what="expiration of a token", default="Defaults to 150 if 0; -1 disables it."),
    ),
    "not_before_leeway": Field(
        FieldType.SIGNED_DURATION,
        LEEWAY_HELP.format(
            what="not before values of a token", default="Defaults to 150 if 0; -1 disables it."
        ),
    ),
    "clock_skew_leeway": Field(
        FieldType.SIGNED_DURATION,
        LEEWAY_HELP.format(what="all claims", default="Defaults to 60 if 0; -1 disables it."),
    ),
    "bound_subject": Field(FieldType.STRING, "The 'sub' claim that is valid for login. Optional."),
    "bound_audiences": Field(
        FieldType.COMMA_STRING_LIST, "Comma-separated list of 'aud' claims that are valid for login"
    ),
    "bound_claims_type": Field(
        FieldType.STRING, "How to interpret values in bound_claims: 'string' or 'glob'", default="string"
    ),
    "bound_claims": Field(FieldType.MAP, "Map of claims/values which must match for login"),
    "claim_mappings": Field(
        FieldType.KV_PAIRS, "Mappings of claims (key) that will be copied to a metadata field (value)"
    ),
    "oauth2_metadata": Field(FieldType.COMMA_STRING_LIST, "OAuth2 tokens to return in metadata (OIDC)"),
    "user_claim": Field(FieldType.STRING, "The claim to use for the Identity entity alias name"),
    "user_claim_json_pointer": Field(
        FieldType.BOOL, "If true, the user_claim value will use JSON pointer syntax for referencing claims."
    ),
    "groups_claim": Field(FieldType.STRING, "The claim to use for the Identity group alias names"),
    "oidc_scopes": Field(FieldType.COMMA_STRING_LIST, "Comma-separated list of OIDC scopes"),
    "allowed_redirect_uris": Field(
        FieldType.COMMA_STRING_LIST, "Comma-separated list of allowed values for redirect_uri"
    ),
    "callback_mode": Field(
        FieldType.STRING, "OIDC callback mode: 'device', 'direct' or 'client'", default="client"
    ),
    "poll_interval": Field(FieldType.INT, "Poll interval in seconds for device and direct flows"),
    "verbose_oidc_logging": Field(FieldType.BOOL, "Accepted for compatibility; tokens are never logged."),
    "oidc_disable_confirmation": Field(
        FieldType.BOOL,
        "Skip the confirmation page of a direct callback mode login (it guards against token hijacking).",
    ),
    "max_age": Field(FieldType.DURATION, "Allowable elapsed time since the user last authenticated (OIDC)"),
    "token_policies_template_claims": Field(
        FieldType.BOOL, "Template token_policies from claims (not supported by this server)"
    ),
    **TOKEN_FIELDS,
    "policies": Field(FieldType.COMMA_STRING_LIST, 'Use "token_policies" instead.'),
}


_ROLES = RoleRecords(ROLE_PREFIX, load_role)


def _bindings(fields: FieldData, role: JWTRole) -> JWTRole:
    """The role with the binding fields the request supplied."""
    changes: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        value, given = fields.get_ok(name)
        if given:
            changes[name] = value
    for name in ("bound_audiences", "oidc_scopes", "allowed_redirect_uris"):
        value, given = fields.get_ok(name)
        if given:
            changes[name] = tuple(value)
    claims_type = fields.get("bound_claims_type")
    if claims_type not in ("string", "glob"):
        raise InvalidRequestError(f"invalid 'bound_claims_type': {claims_type}")
    changes["bound_claims_type"] = claims_type
    bound, bound_given = fields.get_ok("bound_claims")
    if bound_given:
        if claims_type == "glob":
            try:
                check_glob_bound_claims(bound)
            except ClaimError as exc:
                raise InvalidRequestError(str(exc)) from None
        changes["bound_claims"] = bound
    mappings, mappings_given = fields.get_ok("claim_mappings")
    if mappings_given:
        targets: set[str] = set()
        for target in mappings.values():
            if target in RESERVED_METADATA:
                raise InvalidRequestError(
                    f'metadata key "{target}" is reserved and may not be a mapping destination'
                )
            if target in targets:
                raise InvalidRequestError(f'multiple keys are mapped to metadata key "{target}"')
            targets.add(target)
        changes["claim_mappings"] = mappings
    oauth2, oauth2_given = fields.get_ok("oauth2_metadata")
    if oauth2_given:
        for item in oauth2:
            if item not in OAUTH2_METADATA:
                raise InvalidRequestError(f"Unrecognized oauth2 metadata name {item}")
        changes["oauth2_metadata"] = tuple(oauth2)
    mode = fields.get("callback_mode")
    if mode not in CALLBACK_MODES:
        raise InvalidRequestError(f"invalid 'callback_mode': {mode}")
    changes["callback_mode"] = mode
    # As Vault: set on every write, so leaving it out turns the confirmation back on.
    changes["oidc_disable_confirmation"] = fields.get("oidc_disable_confirmation")
    return replace(role, **changes)


def _check(role: JWTRole) -> None:
    """Vault's whole-role rules, after the request's fields are applied."""
    if not role.user_claim:
        raise InvalidRequestError("a user claim must be defined on the role")
    if role.role_type == "oidc" and not role.allowed_redirect_uris:
        raise InvalidRequestError(
            "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified."
        )
    if role.role_type != "oidc" and not (
        role.bound_audiences or role.token.bound_cidrs or role.bound_subject or role.bound_claims
    ):
        raise InvalidRequestError("must have at least one bound constraint when creating/updating a role")


def paths(system: SystemView) -> list[Path]:
    """The `role/<name>` and `role/` declarations."""

    async def write_role(request: Request, fields: FieldData) -> Response | None:
        assert request.storage is not None
        name = _ROLES.name(fields)
        existing = await load_role(request.storage, name)
        role_type = fields.get("role_type") or "oidc"
        if role_type not in ("jwt", "oidc"):
            raise InvalidRequestError(f"invalid 'role_type': {role_type}")
        if fields.get("token_policies_template_claims"):
            raise InvalidRequestError("token_policies_template_claims is not supported by this server")
        base = existing if existing is not None else JWTRole(user_claim="")
        token, policies = upgrade_policies(base.token.updated(fields), base.policies, fields)
        max_lease = system.max_lease_ttl()
        if token.period > max_lease:
            raise InvalidRequestError(
                f"'period' of '\"{format_duration(token.period)}\"' is greater than the backend's maximum "
                f"lease TTL of '\"{format_duration(max_lease)}\"'"
            )
        role = _bindings(fields, replace(base, role_type=role_type, token=token, policies=policies))
        _check(role)
        warnings: list[str] = []
        if role.token.max_ttl > max_lease:
            warnings.append(
                "token max ttl is greater than the system or backend mount's maximum TTL value; "
                "issued tokens' max TTL value will be truncated"
            )
        if role.verbose_oidc_logging:
            warnings.append(
                "verbose_oidc_logging has been enabled for this role. This is not recommended in production "
                "since sensitive information may be present in OIDC responses."
            )
        await save_role(request.storage, name, role)
        return Response(warnings=tuple(warnings)) if warnings else None

    return _ROLES.paths(fields=FIELDS, write=write_role, synopsis=SYNOPSIS, description=DESCRIPTION)
