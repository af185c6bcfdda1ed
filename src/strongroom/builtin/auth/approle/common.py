"""What every AppRole path module shares: the role name field and its checks. Layer: builtin.

Imports framework, errors and the approle models.
"""

from __future__ import annotations

from strongroom.builtin.auth.approle.models import MAX_HMAC_INPUT, ROLE_NAME
from strongroom.errors import InvalidRequestError, NotFoundError
from strongroom.framework import Field, FieldData, FieldType
from strongroom.framework.backend import UNSUPPORTED_PATH

# Role names are keyed without case: declared as a folding type, so the core checks the ACL on the folded
# path ("role/ADMIN" is "role/admin") and every handler reads the folded name.
ROLE_NAME_FIELD = Field(
    FieldType.LOWERCASE_STRING, f"Name of the role. Must be less than {MAX_HMAC_INPUT} bytes."
)


def role_name(data: FieldData) -> str:
    """The request's role name; a name Vault's route pattern would not match is an unsupported path."""
    name: str = data.get("role_name")
    if not ROLE_NAME.fullmatch(name):
        raise NotFoundError(UNSUPPORTED_PATH)
    if len(name) > MAX_HMAC_INPUT:
        raise InvalidRequestError(f"role_name is longer than maximum of {MAX_HMAC_INPUT} bytes")
    return name


def role_missing(name: str) -> str:
    """Vault's words for a role that does not exist."""
    return f'role "{name}" does not exist'
