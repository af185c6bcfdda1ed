"""The error tree of strongroom. Bottom layer: imports nothing of the project.

Every error strongroom raises on purpose derives from `StrongroomError`::

    StrongroomError
    ├── StorageError                 the physical layer failed (I/O, a database error)
    │   ├── InvalidKeyError          a key cannot be stored (climbs, control characters); also an
    │   │                            InvalidRequestError, since such keys come from request input: 400
    │   └── FencedWriteError         an HA write refused because another server took the lock; also a
    │                                ServiceUnavailableError: 503, the client retries on the new active
    ├── BarrierError
    │   ├── SealedError              the barrier is sealed; nothing can be decrypted
    │   └── IntegrityError           a ciphertext failed authentication (tampered, moved, wrong key)
    ├── ConfigError                  a configuration file or value is invalid
    │   └── HCLError                 HCL text could not be read (carries file, line, column)
    └── RequestError                 a request cannot be served; the HTTP layer maps each to a status
        ├── InvalidRequestError          400  bad input: malformed JSON, a bad field value, a CAS mismatch
        ├── PermissionDeniedError        403  no token, a bad token, or an ACL refusal
        ├── NotFoundError                404  no mount or no path handles the route
        ├── UnsupportedOperationError    405  the path exists but not for this operation
        ├── PayloadTooLargeError         413  the body is over the configured limit
        ├── RateLimitedError             429  a rate limit quota or the failed-login guard refused it
        └── ServiceUnavailableError      503  sealed, or standby

Invariant: an error message never carries a secret value or a token; messages name paths and fields only.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class StrongroomError(Exception):
    """Root of every error strongroom raises on purpose."""


class StorageError(StrongroomError):
    """The physical storage failed."""


class NothingWrittenError(StorageError):
    """A write failed before it could reach storage (no connection to the database): whatever was stored
    before is still stored, so what a cache knew of it still holds."""


class BarrierError(StrongroomError):
    """The encryption barrier refused an operation."""


class SealedError(BarrierError):
    """The barrier is sealed."""

    def __init__(self, message: str = "Vault is sealed") -> None:
        super().__init__(message)


class IntegrityError(BarrierError):
    """A stored ciphertext failed authentication: tampered, moved to another key, or the wrong key."""


class ConfigError(StrongroomError):
    """A configuration file or value is invalid."""


class HCLError(ConfigError):
    """HCL text could not be read."""

    def __init__(self, message: str, *, filename: str = "<string>", line: int = 0, column: int = 0) -> None:
        self.message = message
        self.filename = filename
        self.line = line
        self.column = column
        super().__init__(f"{filename}:{line}:{column}: {message}")


class RequestError(StrongroomError):
    """A request cannot be served. `errors` is the list returned to the client in `{"errors": [...]}`;
    `headers` go with that answer (a rate limit's, which Vault sends with every answer once enabled)."""

    def __init__(self, *errors: str) -> None:
        self.errors: tuple[str, ...] = errors
        self.headers: Mapping[str, str] = _NO_HEADERS
        super().__init__("; ".join(errors))


class InvalidRequestError(RequestError):
    """400: the request is malformed or a value is invalid."""


class PermissionDeniedError(RequestError):
    """403: missing or bad token, or the ACL refuses the request."""

    def __init__(self, *errors: str) -> None:
        super().__init__(*(errors or ("permission denied",)))


class NotFoundError(RequestError):
    """404: nothing handles the route."""


class UnsupportedOperationError(RequestError):
    """405: the path exists but does not support the operation."""

    def __init__(self, *errors: str) -> None:
        super().__init__(*(errors or ("1 error occurred:\n\t* unsupported operation\n\n",)))


class PayloadTooLargeError(RequestError):
    """413: the request body is over the limit."""


class UnsupportedMediaTypeError(RequestError):
    """415: the request body's content type is not one the operation accepts."""


class RateLimitedError(RequestError):
    """429: a rate limit refused the request. `headers` go with the answer (Retry-After and Vault's
    X-Ratelimit-*); `audit` says whether the refusal is audited (Vault's enable_rate_limit_audit_logging)."""

    def __init__(self, *errors: str, headers: Mapping[str, str], audit: bool) -> None:
        super().__init__(*errors)
        self.headers = headers
        self.audit = audit


class InvalidKeyError(StorageError, InvalidRequestError):
    """400: a storage key or prefix is not storable; every such key is derived from a request's input."""


class ServiceUnavailableError(RequestError):
    """503: the server is sealed or cannot serve this request now."""


class FencedWriteError(StorageError, ServiceUnavailableError):
    """503: a write refused by the storage's HA fence, because another server became active while this one
    served the request (the client's retry reaches the new active server through this one's forwarding)."""
