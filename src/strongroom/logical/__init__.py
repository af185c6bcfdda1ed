"""The vocabulary every backend speaks: Operation, Request, Response, Storage, Backend, errors.

Layer: above util and errors only. No HTTP here: the http layer translates to and from these values.
"""

from strongroom.errors import (
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RequestError,
    UnsupportedOperationError,
)
from strongroom.logical.backend import (
    Backend,
    BackendConfig,
    BackendFactory,
    EventSender,
    LockingBackend,
    LoginRenewer,
    RoleResolver,
    SecretBackend,
    SpecialPaths,
    SystemView,
    UserLockoutConfig,
)
from strongroom.logical.operation import Operation
from strongroom.logical.request import Caller, Connection, Request, refuse_directory_write
from strongroom.logical.response import Auth, LeaseOptions, LoginAlias, Response, Secret
from strongroom.logical.storage import (
    InmemStorage,
    Storage,
    TransactionalStorage,
    get_json,
    put_json,
    write_together,
)

__all__ = [
    "Auth",
    "Backend",
    "BackendConfig",
    "BackendFactory",
    "Caller",
    "Connection",
    "EventSender",
    "InmemStorage",
    "InvalidRequestError",
    "LeaseOptions",
    "LockingBackend",
    "LoginAlias",
    "LoginRenewer",
    "NotFoundError",
    "Operation",
    "PermissionDeniedError",
    "Request",
    "RequestError",
    "Response",
    "RoleResolver",
    "Secret",
    "SecretBackend",
    "SpecialPaths",
    "Storage",
    "SystemView",
    "TransactionalStorage",
    "UnsupportedOperationError",
    "UserLockoutConfig",
    "get_json",
    "put_json",
    "refuse_directory_write",
    "write_together",
]
