"""Start a command in a private mount namespace with its secrets on a tmpfs at /run/secrets.

Layer: delivery. Imports stdlib (ctypes for libc's unshare and mount) and `strongroom.delivery.spec`.

The CLI process forks; the child alone unshares its mount namespace, makes every mount private (so
nothing it mounts propagates back to the host), mounts a size-limited tmpfs (mode 0755) on
/run/secrets, writes each secret there with its owner and mode, remounts the tmpfs read-only and execs
the command. The parent stays outside, forwards signals, and returns the command's exit status. When the
command exits, its namespace and the tmpfs die with it: nothing was ever written to a disk.

Invariant: secret values reach the command only as files on the private tmpfs; never its environment,
its argv, or a file outside that tmpfs. Where a private namespace cannot be had, nothing is delivered.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from strongroom.delivery.spec import SECRETS_DIR, SecretRequest
from strongroom.errors import StrongroomError

CLONE_NEWNS = 0x00020000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_REC = 0x4000
MS_PRIVATE = 0x40000
_TMPFS_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC
_PAGE = 4096
# Signals a supervisor sends to strongroom's pid are passed on. The keyboard's SIGINT and SIGQUIT already
# reach the command through the terminal's process group, so the parent only ignores them (forwarding
# would deliver them twice) and stays to report the command's exit code.
_FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
_IGNORED = (signal.SIGINT, signal.SIGQUIT)
_SETUP_FAILED = b"N"
_EXEC_FAILED = b"E"


class NamespaceUnavailable(StrongroomError):
    """This process may not create a private mount namespace (not root, no CAP_SYS_ADMIN, EPERM)."""


class LaunchFailed(StrongroomError):
    """The command could not be started; `exit_code` is what the shell would return (126 or 127)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class Delivery:
    """One secret to write: where and how (the request), and its bytes. The repr leaves the bytes out."""

    request: SecretRequest
    data: bytes

    def __repr__(self) -> str:
        return f"Delivery(request={self.request!r}, data=<{len(self.data)} bytes>)"


def _libc_call(name: str, *args: object) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{name}: {os.strerror(code)}")


def _unavailable(code: int) -> NamespaceUnavailable:
    return NamespaceUnavailable(
        f"cannot create a private mount namespace for {SECRETS_DIR} ({os.strerror(code)}); "
        "strongroom run needs root or CAP_SYS_ADMIN"
    )


def check_available() -> None:
    """Raise NamespaceUnavailable unless this process may create a private mount namespace.

    Tried in a throwaway child, so the caller's own namespace is left as it is.
    """
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            _libc_call("unshare", CLONE_NEWNS)
        except OSError as exc:
            code = exc.errno or errno.EPERM
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise _unavailable(code if code > 0 else errno.EPERM)


def tmpfs_size(deliveries: Sequence[Delivery]) -> int:
    """A tmpfs size that holds every file (each rounded up to whole pages) with a page to spare."""
    pages = sum(-(-len(item.data) // _PAGE) + 1 for item in deliveries)
    return (pages + 1) * _PAGE


def run(deliveries: Sequence[Delivery], argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """Run `argv` with the secrets delivered; its exit code (128+N when signal N killed it).

    Raises NamespaceUnavailable or LaunchFailed when the command could not be started.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    status_read, status_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(status_read)
        _child(deliveries, list(argv), dict(environ), status_write)
    os.close(status_write)
    previous = {number: signal.signal(number, lambda sig, _: os.kill(pid, sig)) for number in _FORWARDED}
    previous |= {number: signal.signal(number, signal.SIG_IGN) for number in _IGNORED}
    try:
        with os.fdopen(status_read, "rb") as status:
            report = status.read()
        _, wait_status = os.waitpid(pid, 0)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if report.startswith(_SETUP_FAILED):
        raise NamespaceUnavailable(report[1:].decode("utf-8", "replace"))
    if report.startswith(_EXEC_FAILED):
        raise LaunchFailed(report[4:].decode("utf-8", "replace"), int(report[1:4]))
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code


def _child(deliveries: Sequence[Delivery], argv: list[str], environ: dict[str, str], report: int) -> NoReturn:
    """Set up the namespace and exec; never returns. Failures go to the parent through `report`."""
    try:
        try:
            _libc_call("unshare", CLONE_NEWNS)
        except OSError as exc:
            os.write(report, _SETUP_FAILED + str(_unavailable(exc.errno or errno.EPERM)).encode())
            os._exit(1)
        try:
            _populate(deliveries)
        except OSError as exc:
            os.write(report, _SETUP_FAILED + f"{SECRETS_DIR}: {exc.strerror}".encode())
            os._exit(1)
        # Python ignores SIGPIPE and SIGXFSZ; an ignored signal survives exec, so restore the defaults as
        # subprocess does, or `CMD | head` would see EPIPE errors instead of a quiet exit.
        for number in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(number, signal.SIG_DFL)
        try:
            # The user's own command, run as given with no shell in between: that is the point.
            os.execvpe(argv[0], argv, environ)  # noqa: S606
        except OSError as exc:
            code = 127 if exc.errno == errno.ENOENT else 126
            message = f"exec: {argv[0]}: {exc.strerror}"
            os.write(report, _EXEC_FAILED + f"{code:03d}{message}".encode())
            os._exit(code)
    finally:
        os._exit(1)


def _populate(deliveries: Sequence[Delivery]) -> None:
    _libc_call("mount", None, b"/", None, ctypes.c_ulong(MS_REC | MS_PRIVATE), None)
    # The mount point itself is a plain directory on the host; mkdir is not namespaced, so an absent
    # /run/secrets is created (empty, 0755) and stays, as Docker's daemon leaves its mount points.
    os.makedirs(SECRETS_DIR, mode=0o755, exist_ok=True)
    options = f"size={tmpfs_size(deliveries)},mode=0755,uid=0,gid=0".encode()
    _libc_call("mount", b"tmpfs", SECRETS_DIR.encode(), b"tmpfs", ctypes.c_ulong(_TMPFS_FLAGS), options)
    for item in deliveries:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(item.request.path, flags, 0o600)
        try:
            view = memoryview(item.data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchown(fd, item.request.uid, item.request.gid)
            os.fchmod(fd, item.request.mode)
        finally:
            os.close(fd)
    remount = ctypes.c_ulong(MS_REMOUNT | MS_RDONLY | _TMPFS_FLAGS)
    _libc_call("mount", None, SECRETS_DIR.encode(), None, remount, None)
