"""Which type of token a login gets: the auth mount's token_type combined with the role's (Vault's rules).

Layer: tokens. Pure; imports the token model only.
"""

from __future__ import annotations

from strongroom.tokens.model import TokenType

MOUNT_TOKEN_TYPES = ("default-service", "default-batch", "service", "batch")


def resolve_token_type(mount: str, requested: str) -> TokenType:
    """The mount forces "service" or "batch"; a "default-*" mount decides only what a role leaves at
    "default" (a role's own "default-service"/"default-batch" counts as that default)."""
    if mount in ("service", "batch"):
        return TokenType(mount)
    if requested in ("service", "batch"):
        return TokenType(requested)
    if requested in ("default-service", "default-batch"):
        return TokenType(requested.removeprefix("default-"))
    return TokenType.BATCH if mount == "default-batch" else TokenType.SERVICE
