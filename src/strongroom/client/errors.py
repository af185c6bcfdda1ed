"""Errors of the HTTP client: what a Vault-API server refused, or why no answer came.

Layer: client. Imports only `strongroom.errors` (the root of the error tree).

    StrongroomError
    └── ClientError          the server answered with an error status (`status`, `errors`)
        ├── TransportError   no answer at all: connection refused, timeout, TLS failure (status 0)
        └── UnusableTokenError  nothing sent: the token has non-printable characters (status 0)

Invariant: messages carry the method, URL, status and the server's error strings; never a token or a body.
"""

from __future__ import annotations

from strongroom.errors import StrongroomError


class ClientError(StrongroomError):
    """The server answered a request with an error status.

    `str()` is the message the Vault CLI prints for the same failure, so scripts written against the
    Vault CLI read the same text.
    """

    def __init__(self, status: int, errors: list[str], *, method: str = "", url: str = "") -> None:
        self.status = status
        self.errors = list(errors)
        self.method = method
        self.url = url
        super().__init__(self._message())

    def _message(self) -> str:
        lines = ["Error making API request.", "", f"URL: {self.method} {self.url}"]
        if self.errors:
            lines += [f"Code: {self.status}. Errors:", ""]
            lines += [f"* {error}" for error in self.errors]
        else:
            lines.append(f"Code: {self.status}. No error message was returned.")
        return "\n".join(lines)


class TransportError(ClientError):
    """No HTTP answer came back: the connection failed or timed out. `status` is 0."""

    def __init__(self, reason: str, *, method: str = "", url: str = "") -> None:
        super().__init__(0, [reason], method=method, url=url)

    def _message(self) -> str:
        return f'{self.method.capitalize()} "{self.url}": {self.errors[0]}'


class UnusableTokenError(ClientError):
    """The request was not sent: the token holds non-printable characters, which no header can carry.

    `str()` is the Vault CLI's line for it, alone, as the Vault CLI prints it.
    """

    def __init__(self) -> None:
        super().__init__(0, ["configured Vault token contains non-printable characters and cannot be used"])

    def _message(self) -> str:
        return self.errors[0]
