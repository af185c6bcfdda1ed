"""Audit devices: where formatted entries go. `file`, `socket` and `syslog`, with Vault's options.

Layer: audit (a service). Stdlib only, plus errors.

A device only writes bytes; formatting, salts and the fail-closed rule belong to the broker. A write either
delivers the whole line or raises OSError (or times out in the broker), never half-succeeds silently.

Invariant: an audit file is created with mode 0600 unless the device's `mode` option says otherwise, and
its content is whatever the formatter gave (already hashed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from strongroom.errors import InvalidRequestError
from strongroom.util.durations import parse_duration

DEFAULT_TIMEOUT = 2.0
SYSLOG_SOCKET = "/dev/log"
DEVICE_TYPES = ("file", "socket", "syslog")
_FACILITIES = {
    "KERN": 0, "USER": 1, "MAIL": 2, "DAEMON": 3, "AUTH": 4, "SYSLOG": 5, "LPR": 6, "NEWS": 7,
    "UUCP": 8, "CRON": 9, "AUTHPRIV": 10, "FTP": 11,
    **{f"LOCAL{n}": 16 + n for n in range(8)},
}  # fmt: skip
_INFO = 6


class Device(Protocol):
    """One audit sink."""

    @property
    def timeout(self) -> float:
        """Seconds the broker waits for one write before counting it as failed; 0 for a device whose
        writes never wait (a synchronous write cannot be cut short, so timing it would only cost)."""
        ...

    async def write(self, line: bytes) -> None:
        """Deliver one complete line; OSError when it could not."""
        ...

    def reopen(self) -> None:
        """Close and reopen what the device writes to (log rotation on SIGHUP)."""
        ...

    def close(self) -> None:
        """Release the device's file or socket."""
        ...


class FileDevice:
    """Appends to a file, or writes to stdout, or discards ("stdout" and "discard" as Vault names them)."""

    def __init__(self, path: str, mode: int) -> None:
        self._path = path
        self._mode = mode
        self._fd: int | None = None

    @property
    def timeout(self) -> float:
        return 0.0  # os.write: synchronous

    def open(self) -> None:
        """Open (creating with the device's mode) now, so a bad path is refused when the device is enabled."""
        if self._fd is not None or self._path in ("discard", "stdout"):
            return
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, self._mode or 0o600)
        # An existing file keeps its mode through O_CREAT; Vault sets the asked one (0000: leave it).
        status = os.fstat(fd)
        # Only a regular file is chmod'ed: a device node such as /dev/full belongs to the system.
        if self._mode and stat.S_ISREG(status.st_mode) and stat.S_IMODE(status.st_mode) != self._mode:
            os.fchmod(fd, self._mode)
        self._fd = fd

    async def write(self, line: bytes) -> None:
        if self._path == "discard":
            return
        if self._path == "stdout":
            _write_all(1, line)
            return
        self.open()
        assert self._fd is not None
        _write_all(self._fd, line)

    def reopen(self) -> None:
        self.close()
        self.open()

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class SocketDevice:
    """Sends each line over TCP, UDP or a unix socket; reconnects after any failure."""

    def __init__(self, address: str, socket_type: str, timeout: float) -> None:
        self._address = address
        self._type = socket_type
        self._timeout = timeout
        self._writer: asyncio.StreamWriter | None = None
        self._datagram: socket.socket | None = None
        self._lock = asyncio.Lock()

    @property
    def timeout(self) -> float:
        return self._timeout

    async def write(self, line: bytes) -> None:
        if self._type == "udp":
            self._send_datagram(line)
            return
        async with self._lock:
            try:
                writer = await self._connect()
                writer.write(line)
                await writer.drain()
            except BaseException:
                # A half-written line leaves the stream out of step: start afresh on the next write.
                self.close()
                raise

    async def _connect(self) -> asyncio.StreamWriter:
        if self._writer is None or self._writer.is_closing():
            if self._type == "unix":
                _, self._writer = await asyncio.open_unix_connection(self._address)
            else:
                host, _, port = self._address.rpartition(":")
                _, self._writer = await asyncio.open_connection(host.strip("[]"), int(port))
        return self._writer

    def _send_datagram(self, line: bytes) -> None:
        if self._datagram is None:
            host, _, port = self._address.rpartition(":")
            info = socket.getaddrinfo(host.strip("[]"), int(port), type=socket.SOCK_DGRAM)[0]
            sock = socket.socket(info[0], socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.connect(info[4])
            self._datagram = sock
        self._datagram.send(line)

    def reopen(self) -> None:
        self.close()

    def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.transport.abort()
        sock, self._datagram = self._datagram, None
        if sock is not None:
            sock.close()


class SyslogDevice:
    """Sends each line to the local syslog daemon over its unix socket, as RFC 3164 messages."""

    def __init__(self, facility: int, tag: str, path: str = SYSLOG_SOCKET) -> None:
        self._priority = facility * 8 + _INFO
        self._tag = tag
        self._path = path
        self._sock: socket.socket | None = None

    @property
    def timeout(self) -> float:
        return 0.0  # a datagram send: synchronous

    def open(self) -> None:
        """Connect to the syslog socket; OSError when there is no syslog daemon."""
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.setblocking(False)
            try:
                sock.connect(self._path)
            except OSError:
                sock.close()
                raise
            self._sock = sock

    async def write(self, line: bytes) -> None:
        self.open()
        assert self._sock is not None
        try:
            self._sock.send(f"<{self._priority}>{self._tag}: ".encode() + line.rstrip(b"\n"))
        except OSError:
            self.close()
            raise

    def reopen(self) -> None:
        self.close()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


def create_device(kind: str, options: Mapping[str, str]) -> Device:
    """A device of type `kind` from its options; InvalidRequestError for bad options."""
    if kind == "file":
        return _file_device(options)
    if kind == "socket":
        return _socket_device(options)
    if kind == "syslog":
        return _syslog_device(options)
    raise InvalidRequestError(f'unknown backend type: "{kind}"')


def open_device(device: Device) -> None:
    """Open a new device's file or socket at once, so enabling one that cannot work is refused."""
    try:
        if isinstance(device, FileDevice | SyslogDevice):
            device.open()
    except OSError as exc:
        raise InvalidRequestError(
            f"sanity check failed; unable to open audit device: {exc.strerror}"
        ) from None


def _file_device(options: Mapping[str, str]) -> FileDevice:
    path = options.get("file_path") or options.get("path") or ""
    if not path:
        raise InvalidRequestError("file_path is required")
    if path == "/dev/stdout":
        path = "stdout"
    if path not in ("stdout", "discard") and not Path(path).is_absolute():
        raise InvalidRequestError("file_path must be an absolute path")
    text = options.get("mode", "0600") or "0600"
    try:
        mode = int(text, 8)
    except ValueError:
        raise InvalidRequestError(f"invalid mode {text!r}: expected an octal number such as 0600") from None
    if not 0 <= mode <= 0o777:
        raise InvalidRequestError(f"invalid mode {text!r}: expected an octal number such as 0600")
    return FileDevice(path, mode)


def _socket_device(options: Mapping[str, str]) -> SocketDevice:
    address = options.get("address", "")
    if not address:
        raise InvalidRequestError("address is required")
    socket_type = options.get("socket_type", "tcp") or "tcp"
    if socket_type not in ("tcp", "udp", "unix"):
        raise InvalidRequestError(f"unknown socket_type {socket_type!r}: expected tcp, udp or unix")
    if socket_type != "unix":
        _, sep, port = address.rpartition(":")
        if not sep or not port.isdigit():
            raise InvalidRequestError(f"invalid address {address!r}: expected HOST:PORT")
    try:
        timeout = parse_duration(options.get("write_timeout", "2s") or "2s")
    except ValueError:
        raise InvalidRequestError("invalid write_timeout: expected a duration such as 2s") from None
    return SocketDevice(address, socket_type, float(timeout) or DEFAULT_TIMEOUT)


def _syslog_device(options: Mapping[str, str]) -> SyslogDevice:
    facility = (options.get("facility", "AUTH") or "AUTH").upper()
    if facility not in _FACILITIES:
        raise InvalidRequestError(f"unknown syslog facility {facility!r}")
    return SyslogDevice(_FACILITIES[facility], options.get("tag", "strongroom") or "strongroom")


def close_quietly(device: Device) -> None:
    """Close a device, ignoring an error from a file or socket that is already gone."""
    with contextlib.suppress(OSError):
        device.close()
