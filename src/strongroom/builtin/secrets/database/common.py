"""What the database engine's path modules share: the name field and its check, and credential_config.

Layer: builtin. Imports framework, errors and the engine's models.
"""

from __future__ import annotations

from strongroom.builtin.secrets.database.models import NAME
from strongroom.errors import NotFoundError
from strongroom.framework import Field, FieldData, FieldType
from strongroom.framework.backend import UNSUPPORTED_PATH

NAME_FIELD = Field(FieldType.STRING, "Name of this connection or role.")


def checked_name(data: FieldData) -> str:
    """The request's name; one Vault's route pattern would not match is an unsupported path."""
    name: str = data.get("name")
    if not NAME.fullmatch(name):
        raise NotFoundError(UNSUPPORTED_PATH)
    return name


def password_policy_of(data: FieldData) -> tuple[str, bool]:
    """credential_config's password_policy (Vault decodes only that key for passwords), and whether
    credential_config was given at all."""
    config, supplied = data.get_ok("credential_config")
    return str((config or {}).get("password_policy", "")), supplied
