"""Vault's TTL arithmetic (sdk/framework CalculateTTL) for token creation and renewal.

Layer: tokens. Pure functions over whole seconds; imports errors only.
"""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.errors import InvalidRequestError


@dataclass(frozen=True, slots=True)
class TTLResult:
    """A computed TTL and the warnings Vault attaches when a value was capped."""

    ttl: int
    warnings: tuple[str, ...] = ()


def short_duration(seconds: int) -> str:
    """A duration the way OpenBao prints it in TTL warnings: only non-zero units ("1h1s", "768h", "30m")."""
    if seconds <= 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{value}{unit}" for value, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if value]
    return "".join(parts)


def calculate_ttl(
    *,
    now: float,
    start_time: float,
    increment: int,
    backend_ttl: int,
    period: int,
    explicit_max_ttl: int,
    default_ttl: int,
    max_ttl: int,
) -> TTLResult:
    """The TTL to grant. `max_ttl` is the mount or system maximum; `explicit_max_ttl` may lower it.

    Periodic tokens get the period (capped by the maximum) and are bounded only by an explicit max TTL;
    others get the increment, else the backend TTL, else the default, never past start_time + maximum.
    """
    now_s = int(now)
    start_s = int(start_time)
    effective_max = max_ttl
    if 0 < explicit_max_ttl < effective_max:
        effective_max = explicit_max_ttl
    if effective_max <= 0:
        raise InvalidRequestError("max TTL must be greater than zero")
    warnings: list[str] = []
    max_valid_time: int | None = None
    if period > 0:
        if period > effective_max:
            warnings.append(
                f'period of "{short_duration(period)}" exceeded the effective max_ttl of '
                f'"{short_duration(effective_max)}"; period value is capped accordingly'
            )
            period = effective_max
        ttl = period
        if explicit_max_ttl > 0:
            max_valid_time = start_s + explicit_max_ttl
    else:
        if increment > 0:
            ttl = increment
        elif backend_ttl > 0:
            ttl = backend_ttl
        else:
            ttl = default_ttl
        max_valid_time = start_s + effective_max
    if max_valid_time is not None:
        max_valid_ttl = max_valid_time - now_s
        if max_valid_ttl <= 0:
            raise InvalidRequestError("past the max TTL, cannot renew")
        if ttl > max_valid_ttl:
            warnings.append(
                f'TTL of "{short_duration(ttl)}" exceeded the effective max_ttl of '
                f'"{short_duration(max_valid_ttl)}"; TTL value is capped accordingly'
            )
            ttl = max_valid_ttl
    return TTLResult(ttl=ttl, warnings=tuple(warnings))
