"""What the SSH path modules share: the request's storage, Vault's name pattern, user errors as 400s.

Layer: builtin. Imports framework, logical, errors and the engine's domain errors.
"""

from __future__ import annotations

import functools
import re

from strongroom.builtin.secrets.ssh.keys import SshKeyError
from strongroom.builtin.secrets.ssh.signing import SshRuleError
from strongroom.errors import InvalidRequestError, NotFoundError
from strongroom.framework import FieldData, Handler
from strongroom.framework.backend import UNSUPPORTED_PATH
from strongroom.logical import Request, Response, Storage

# Vault's GenericNameWithAtRegex: a role name outside it is an unsupported path.
NAME = re.compile(r"\w(([\w.@-]+)?\w)?")
NO_CA = "no default issuer currently configured"


def storage_of(request: Request) -> Storage:
    if request.storage is None:
        raise InvalidRequestError("no storage bound to the request")
    return request.storage


def role_name(data: FieldData) -> str:
    name: str = data.get("role")
    if not NAME.fullmatch(name):
        raise NotFoundError(UNSUPPORTED_PATH)
    return name


def user_errors(handler: Handler) -> Handler:
    """`handler` with the engine's rule and key errors turned into 400s in Vault's shape."""

    @functools.wraps(handler)
    async def wrapped(request: Request, data: FieldData) -> Response | None:
        try:
            return await handler(request, data)
        except (SshKeyError, SshRuleError) as exc:
            raise InvalidRequestError(str(exc)) from None

    return wrapped
