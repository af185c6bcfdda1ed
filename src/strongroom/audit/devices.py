"""Audit devices: where formatted entries go. `file`, `socket` and `syslog`, with Vault's options.

Layer: audit (a service). Stdlib, orjson (to recognise an audit log), and errors.

A device only writes bytes; formatting, salts and the fail-closed rule belong to the broker. A write either
delivers the whole line or raises OSError (or times out in the broker), never half-succeeds silently.

Invariant: an audit file is created with mode 0600 unless the device's `mode` option says otherwise, and
its content is whatever the formatter gave (already hashed).
Invariant: a file device never makes a file executable, never appends to an existing file that is not an
audit log, and never writes under a directory that holds the server's code or configuration (the class of
HCSEC-2025-14 / CVE-2025-54997: an audit device made to write a script or overwrite the server's config).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import stat
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import orjson

import strongroom
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
_EXECUTE = 0o111
# Where the operating system keeps programs, libraries, configuration, kernel settings and scheduled jobs
# (cron reads /var/spool/cron): never an audit log's place.
_SYSTEM_DIRS = (
    "/bin", "/sbin", "/usr", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/proc", "/sys",
    "/var/spool",
)  # fmt: skip
# An existing file is recognised as an audit log by its first line, read up to this many bytes.
_FIRST_LINE_LIMIT = 1 << 20


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
        # An existing file keeps its mode through O_CREAT; Vault sets the asked one (0000: leave it), and
        # execute bits are taken away whichever it is.
        status = os.fstat(fd)
        current = stat.S_IMODE(status.st_mode)
        wanted = (self._mode or current) & ~_EXECUTE
        # Only a regular file is chmod'ed: a device node such as /dev/full belongs to the system.
        if stat.S_ISREG(status.st_mode) and current != wanted:
            os.fchmod(fd, wanted)
        self._fd = fd

    async def write(self, line: bytes) -> None:
        fd = self._fd
        if fd is None:  # not a file, or not open again yet after a failed reopen
            if self._path == "discard":
                return
            if self._path == "stdout":
                _write_all(1, line)
                return
            self.open()
            assert self._fd is not None
            fd = self._fd
        _write_all(fd, line)

    def reopen(self) -> None:
        self.close()
        self.open()

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    if written == len(data):  # nearly always: one line is one write
        return
    view = memoryview(data)[written:]
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


class RefusedDevice:
    """Stands in for a stored device whose options this server refuses (enabled by an older version): every
    write fails, so the broker fails closed instead of writing where it must not."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    @property
    def timeout(self) -> float:
        return DEFAULT_TIMEOUT

    async def write(self, line: bytes) -> None:
        raise PermissionError(errno.EPERM, self._reason)

    def reopen(self) -> None:
        """Nothing to reopen."""

    def close(self) -> None:
        """Nothing to close."""


def create_device(kind: str, options: Mapping[str, str], protected: Sequence[str] = ()) -> Device:
    """A device of type `kind` from its options; InvalidRequestError for bad options. A file device may not
    write in or over `protected` (the server's config files and directories) nor under server_code_dirs()."""
    if kind == "file":
        return _file_device(options, protected)
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


def _file_device(options: Mapping[str, str], protected: Sequence[str]) -> FileDevice:
    path = options.get("file_path") or options.get("path") or ""
    if not path:
        raise InvalidRequestError("file_path is required")
    if path == "/dev/stdout" or path.lower() == "stdout":
        path = "stdout"
    if path.lower() == "discard":
        path = "discard"
    if path not in ("stdout", "discard"):
        if not Path(path).is_absolute():
            raise InvalidRequestError("file_path must be an absolute path")
        _check_file_path(path, protected, options.get("prefix", ""))
    text = options.get("mode", "0600") or "0600"
    try:
        mode = int(text, 8)
    except ValueError:
        raise InvalidRequestError(f"invalid mode {text!r}: expected an octal number such as 0600") from None
    if not 0 <= mode <= 0o777:
        raise InvalidRequestError(f"invalid mode {text!r}: expected an octal number such as 0600")
    # As OpenBao since HCSEC-2025-14: the execute bits of an asked mode are dropped, not obeyed.
    return FileDevice(path, mode & ~_EXECUTE if mode else 0)


def server_code_dirs() -> tuple[str, ...]:
    """The directories holding the server's own code: the system's program and library directories, the
    Python installation and virtual environment it runs from, and the strongroom package."""
    found = [*_SYSTEM_DIRS, str(Path(strongroom.__file__).parent)]
    found += [prefix for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix} if prefix]
    return tuple(found)


def _check_file_path(path: str, protected: Sequence[str], prefix: str) -> None:
    """InvalidRequestError when an audit file at `path` could plant code or clobber a file the server or
    the system needs (symbolic links are followed first, so a link cannot lead around the check)."""
    real = Path(os.path.realpath(path))
    for directory in (*protected, *server_code_dirs()):
        root = Path(os.path.realpath(directory))
        if root != Path("/") and real.is_relative_to(root):
            raise InvalidRequestError(
                f"file_path {path!r} lies under {directory}, which holds code or configuration that the "
                "system or the server runs; choose a directory of its own for audit logs, such as "
                "/var/log/strongroom"
            )
    # Dotfiles and dot-directories are what shells, ssh and desktop sessions read as configuration
    # (~/.bashrc, ~/.ssh/authorized_keys, ~/.config/autostart): a prefix could make a line of one.
    parts = {*Path(path).parts, *real.parts} - {".", ".."}
    if any(part.startswith(".") for part in parts):
        raise InvalidRequestError(
            f"file_path {path!r} is a hidden file or lies in a hidden directory, which programs read as "
            "configuration; choose a directory of its own for audit logs, such as /var/log/strongroom"
        )
    try:
        status = real.stat()
    except OSError:
        return
    if stat.S_ISBLK(status.st_mode):
        raise InvalidRequestError(f"file_path {path!r} is a block device: an audit log is a file")
    if stat.S_ISREG(status.st_mode) and status.st_size > 0 and not _is_audit_log(real, prefix):
        raise InvalidRequestError(
            f"file_path {path!r} exists and is not an audit log; an audit device only appends to its own "
            "log: choose a new file"
        )


def _is_audit_log(path: Path, prefix: str) -> bool:
    """Whether the file's first line is an audit entry (after the device's prefix, when it has one)."""
    try:
        with path.open("rb") as handle:
            line = handle.readline(_FIRST_LINE_LIMIT)
    except OSError:
        return False
    line = line.removeprefix(prefix.encode())
    if not line.endswith(b"\n"):
        return False
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(entry, dict) and entry.get("type") in ("request", "response") and "time" in entry


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
