"""Resource quotas (Vault's sys/quotas): rate limits per client address, lease counts, and strongroom's
guard against password and secret-ID guessing. Layer: core."""

from strongroom.core.quotas.manager import DEFAULT_FAILED_LOGIN_LIMIT, QuotaManager
from strongroom.core.quotas.model import (
    DEFAULT_EXEMPT_PATHS,
    LeaseCountQuota,
    QuotaConfig,
    QuotaType,
    RateLimitQuota,
    Scope,
)

__all__ = [
    "DEFAULT_EXEMPT_PATHS",
    "DEFAULT_FAILED_LOGIN_LIMIT",
    "LeaseCountQuota",
    "QuotaConfig",
    "QuotaManager",
    "QuotaType",
    "RateLimitQuota",
    "Scope",
]
