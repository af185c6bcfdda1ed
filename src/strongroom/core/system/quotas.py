"""sys/quotas: the quota config, rate limit rules and lease count rules, as Vault's sys backend serves them.

Layer: core (framework-declared paths over the QuotaManager). Answers and error texts are OpenBao's for
the config and rate limits; lease count rules (Vault Enterprise's, absent from OpenBao) follow Vault's
documented API.
"""

from __future__ import annotations

import re

from strongroom.core.quotas import LeaseCountQuota, QuotaConfig, QuotaManager, RateLimitQuota, Scope
from strongroom.core.services import Services
from strongroom.errors import InvalidRequestError, NotFoundError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.backend import UNSUPPORTED_PATH
from strongroom.logical import Operation, Request, Response, RoleResolver

# Vault's GenericNameRegex: a name that starts and ends with a word character.
_NAME = re.compile(r"\w([\w.@-]*\w)?")

_SCOPE_FIELDS = {
    "name": Field(FieldType.STRING, "Name of the quota rule."),
    "type": Field(FieldType.STRING, "Type of the quota rule."),
    "path": Field(
        FieldType.STRING,
        "Path of the mount to apply the quota to; blank for a global quota. A path under a mount applies "
        'to that path only; ending it with "*" applies it to every path it prefixes.',
    ),
    "role": Field(
        FieldType.STRING,
        "Login role to apply this quota to; path must then be an auth method with a concept of roles.",
    ),
    "inheritable": Field(FieldType.BOOL, "Whether child namespaces use this quota (kept for Vault)."),
}


def paths(services: Services) -> list[Path]:
    """The sys/quotas paths."""
    quotas: QuotaManager = services.quotas

    def named(data: FieldData) -> str:
        name: str = data.get("name")
        if not _NAME.fullmatch(name):
            raise NotFoundError(UNSUPPORTED_PATH)
        return name

    def scope_of(data: FieldData) -> Scope:
        """Where a rule written with `path` and `role` applies, checked as Vault checks it."""
        path: str = data.get("path")
        if path and not path.endswith("/"):
            path += "/"
        path = path.removeprefix("/")
        role: str = data.get("role")
        if not path:
            return Scope(role=role)
        route = services.mounts.router.route(path)
        if route is None:
            raise InvalidRequestError(f'invalid mount path "{path}"')
        mount = route.entry.api_path
        suffix = path[len(mount) :].removesuffix("/")
        if role:
            if suffix:
                raise InvalidRequestError(
                    "Quotas cannot contain both a path suffix and a role. If a role is provided, path "
                    "must be a valid auth mount with a concept of roles"
                )
            if route.entry.table != "auth":
                raise InvalidRequestError(
                    f'Mount path "{mount}" is not a valid auth method and therefore unsuitable for use '
                    "with role-based quotas"
                )
            if not isinstance(route.backend, RoleResolver):
                raise InvalidRequestError(f'Mount path "{mount}" does not support use with role-based quotas')
        return Scope(mount, suffix, role)

    def inheritable(data: FieldData, scope: Scope) -> bool:
        value, given = data.get_ok("inheritable")
        return bool(value) if given else not scope.mount

    async def read_config(_request: Request, _data: FieldData) -> Response | None:
        return Response(data=quotas.config.describe())

    async def write_config(_request: Request, data: FieldData) -> Response | None:
        await quotas.set_config(
            QuotaConfig(
                enable_rate_limit_audit_logging=data.get("enable_rate_limit_audit_logging"),
                enable_rate_limit_response_headers=data.get("enable_rate_limit_response_headers"),
                rate_limit_exempt_paths=tuple(data.get("rate_limit_exempt_paths")),
            )
        )
        return None

    async def list_rate_limits(_request: Request, _data: FieldData) -> Response | None:
        return Response(data={"keys": quotas.rate_limit_names()})

    async def write_rate_limit(_request: Request, data: FieldData) -> Response | None:
        name = named(data)
        rate = _rate(data.get("rate"))
        if rate <= 0:
            raise InvalidRequestError("'rate' is invalid")
        interval, block_interval = _seconds(data, "interval"), _seconds(data, "block_interval")
        scope = scope_of(data)
        same = quotas.rate_limit_at(scope)
        if same is not None and same.name != name:
            raise InvalidRequestError(
                f'quota rule with similar properties exists under the name "{same.name}"'
            )
        quota = RateLimitQuota(
            name=name,
            scope=scope,
            rate=rate,
            interval=interval or 1,
            block_interval=block_interval,
            inheritable=inheritable(data, scope),
        )
        await quotas.put_rate_limit(quota)
        return None

    async def read_rate_limit(_request: Request, data: FieldData) -> Response | None:
        quota = quotas.rate_limit(named(data))
        return None if quota is None else Response(data=quota.describe())

    async def delete_rate_limit(_request: Request, data: FieldData) -> Response | None:
        await quotas.delete_rate_limit(named(data))
        return None

    async def list_lease_counts(_request: Request, _data: FieldData) -> Response | None:
        return Response(data={"keys": quotas.lease_count_names()})

    async def write_lease_count(_request: Request, data: FieldData) -> Response | None:
        name = named(data)
        max_leases: int = data.get("max_leases")
        if max_leases <= 0:
            raise InvalidRequestError("'max_leases' is invalid")
        if data.get("role"):
            # Leases are counted by the path that created them; a login role is not recorded with them.
            raise InvalidRequestError("role-based lease count quotas are not supported")
        scope = scope_of(data)
        same = quotas.lease_count_at(scope)
        if same is not None and same.name != name:
            raise InvalidRequestError(
                f'quota rule with similar properties exists under the name "{same.name}"'
            )
        await quotas.put_lease_count(LeaseCountQuota(name, scope, max_leases, inheritable(data, scope)))
        return None

    async def read_lease_count(_request: Request, data: FieldData) -> Response | None:
        quota = quotas.lease_count(named(data))
        return None if quota is None else Response(data=quota.describe(quotas.counted(quota)))

    async def delete_lease_count(_request: Request, data: FieldData) -> Response | None:
        await quotas.delete_lease_count(named(data))
        return None

    return [
        Path(
            "quotas/lease-count/?",
            operations={Operation.LIST: list_lease_counts},
            synopsis="Lists the names of all the lease count quotas.",
        ),
        Path(
            "quotas/lease-count/{name}",
            fields={
                **_SCOPE_FIELDS,
                "max_leases": Field(
                    FieldType.INT, "The maximum number of leases to be allowed by the quota rule."
                ),
            },
            operations={
                Operation.UPDATE: write_lease_count,
                Operation.READ: read_lease_count,
                Operation.DELETE: delete_lease_count,
            },
            synopsis="Get, create or update a lease count quota for an optional mount or path.",
            description=(
                "A lease count quota caps the live leases (secret leases and service tokens) created under "
                "its path; a request that could create one more is refused with 429 until some expire or "
                "are revoked."
            ),
        ),
        Path(
            "quotas/config",
            fields={
                "rate_limit_exempt_paths": Field(
                    FieldType.STRING_LIST,
                    "Specifies the list of exempt paths from all rate limit quotas. If empty no paths will "
                    "be exempt.",
                ),
                "enable_rate_limit_audit_logging": Field(
                    FieldType.BOOL,
                    "If set, starts audit logging of requests that get rejected due to rate limit quota "
                    "rule violations.",
                ),
                "enable_rate_limit_response_headers": Field(
                    FieldType.BOOL,
                    "If set, additional rate limit quota HTTP headers will be added to responses.",
                ),
            },
            operations={Operation.READ: read_config, Operation.UPDATE: write_config},
            synopsis="Create, update and read the quota configuration.",
        ),
        Path(
            "quotas/rate-limit/?",
            operations={Operation.LIST: list_rate_limits},
            synopsis="Lists the names of all the rate limit quotas.",
        ),
        Path(
            "quotas/rate-limit/{name}",
            fields={
                **_SCOPE_FIELDS,
                "rate": Field(
                    FieldType.STRING,
                    "The maximum number of requests in a given interval to be allowed by the quota rule. "
                    "The 'rate' must be positive.",
                ),
                "interval": Field(
                    FieldType.DURATION, "The duration to enforce rate limiting for (default '1s')."
                ),
                "block_interval": Field(
                    FieldType.SIGNED_DURATION,
                    "If set, when a client reaches a rate limit threshold, the client will be prohibited "
                    "from any further requests until after the 'block_interval' has elapsed.",
                ),
            },
            operations={
                Operation.UPDATE: write_rate_limit,
                Operation.READ: read_rate_limit,
                Operation.DELETE: delete_rate_limit,
            },
            synopsis="Get, create or update rate limit resource quota for an optional namespace or mount.",
            description=(
                "A rate limit quota will enforce API rate limiting in a specified interval. A rate limit "
                "quota can be created at the root level or defined on a mount by specifying a 'path'. The "
                "rate limiter is applied to each unique client IP address."
            ),
        ),
    ]


def _rate(raw: str) -> float:
    """`rate` as Vault's TypeFloat reads it (a JSON number or a numeric string)."""
    try:
        return float(raw) if raw else 0.0
    except ValueError:
        raise InvalidRequestError(
            "Field validation failed: error converting input for field \"rate\": '' cannot parse value as "
            "'float64': strconv.ParseFloat: invalid syntax"
        ) from None


def _seconds(data: FieldData, name: str) -> int:
    """A duration field that must not be negative, refused as Vault's field validation refuses it."""
    seconds: int = data.get(name)
    if seconds < 0:
        raise InvalidRequestError(
            f'Field validation failed: error converting input for field "{name}": cannot provide negative '
            f"value '{seconds}'"
        )
    return seconds
