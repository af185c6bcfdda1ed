"""`strongroom operator generate-root`, and the helpers every `operator` command shares (rekey's included,
in `strongroom.cli.operator_rekey`): share input, Go-ordered documents, advice text wrapped as Vault wraps
it, the keyholder paths.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output`, the client, and
`strongroom.crypto.pgp` to read PGP key files.

Output copies `bao operator ...`: tables, JSON and YAML documents with the Go structs' field order (empty
fields omitted where Go omits them), advice wrapped as Vault wraps it, warnings on stderr. Exit codes: 0
success, 1 a usage or local error, 2 an error from the server.

Where the operations live: OpenBao's authenticated sys/generate-root-token/* and sys/rotate/root/* when the
command has a token (and the server serves them), else Vault's unauthenticated sys/generate-root/* and
sys/rekey/*, which servers now turn off by default; then one line says so and what to use instead.

Invariant: a key share, OTP or token is sent only in a request body; a share typed at a terminal is never
echoed, and none of them ever appears in an error message.
"""

from __future__ import annotations

import base64
import secrets
import string
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from strongroom.cli.flags import (
    USAGE_EXIT,
    Failure,
    VaultCommand,
    api_errors,
    api_options,
    client,
    format_option,
    output_format,
)
from strongroom.cli.output import columns, render
from strongroom.client import ClientError
from strongroom.crypto.pgp import PGPKeyError, public_key_text

DEFAULT_SHARES = 5
DEFAULT_THRESHOLD = 3
_WIDTH = 78
_OVERFLOW_PENALTY = 100_000
_UNREACHABLE = 2**31 - 1
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

# A document's fields in the order the Vault CLI's Go structs print them: (name, default, omitted when empty).
Fields = tuple[tuple[str, object, bool], ...]

_GENERATE_ROOT_STATUS: Fields = (
    ("nonce", "", False), ("started", False, False), ("progress", 0, False), ("required", 0, False),
    ("complete", False, False), ("encoded_token", "", False), ("encoded_root_token", "", False),
    ("pgp_fingerprint", "", False), ("otp", "", False), ("otp_length", 0, False),
)  # fmt: skip


def document(body: Mapping[str, Any], fields: Fields) -> dict[str, object]:
    """`body` as a Go struct marshals it: the listed fields in order, defaults filled, empty ones omitted."""
    result: dict[str, object] = {}
    for name, default, omit_empty in fields:
        value = body.get(name, default)
        if value is None:
            value = default
        if omit_empty and not value:
            continue
        result[name] = value
    return result


def wrap(text: str) -> str:
    """`text` as the Vault CLI wraps its advice (kr/text.Wrap at 78 columns): line breaks become spaces,
    then the breaks are placed for minimal raggedness, not greedily, so the lines match Vault's."""
    words = text.strip().replace("\n", " ").split(" ")
    count = len(words)
    # width[i][j]: the length of words i..j joined by single spaces.
    width = [[0] * count for _ in range(count)]
    for i in range(count):
        width[i][i] = len(words[i])
        for j in range(i + 1, count):
            width[i][j] = width[i][j - 1] + 1 + len(words[j])
    cost, breaks = [_UNREACHABLE] * count, [0] * count
    for i in range(count - 1, -1, -1):
        if width[i][count - 1] <= _WIDTH:
            cost[i], breaks[i] = 0, count
            continue
        for j in range(i + 1, count):
            slack = _WIDTH - width[i][j - 1]
            candidate = slack * slack + cost[j] + (_OVERFLOW_PENALTY if slack < 0 else 0)
            if candidate < cost[i]:
                cost[i], breaks[i] = candidate, j
    lines, start = [], 0
    while start < count:
        lines.append(" ".join(words[start : breaks[start]]))
        start = breaks[start]
    return "\n".join(lines)


class OperatorCommand(VaultCommand):
    """A command whose one-letter aliases (`-n`, `-t`) also take `-n=3`, as Go's flag package allows."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        short = {opt for param in self.params for opt in getattr(param, "opts", ()) if len(opt) == 2}
        split: list[str] = []
        for arg in args:
            name, equals, value = arg.partition("=")
            split.extend([name, value] if equals and name in short else [arg])
        return super().parse_args(ctx, split)


def too_many(args: Sequence[str], expected: str, limit: int) -> None:
    """Refuse more than `limit` positional arguments with the Vault CLI's message (exit 1)."""
    if len(args) > limit:
        raise Failure(f"Too many arguments (expected {expected}, got {len(args)})", USAGE_EXIT)


def call(prefix: str, method: str, path: str, body: object = None) -> dict[str, Any]:
    """One request of the running command; a server error becomes "PREFIX: ..." with exit 2."""
    with api_errors(prefix):
        return client().request(method, path, json=body) or {}


@dataclass(frozen=True, slots=True)
class KeyholderPaths:
    """Where one quorum operation lives on a server: OpenBao's authenticated paths, Vault's unauthenticated
    ones, the listener option that turns the latter off, and which of the two bao 2.7.2 tries first."""

    authenticated: str
    unauthenticated: str
    option: str
    authenticated_first: bool

    def call(self, prefix: str, method: str, step: str, body: object = None) -> dict[str, Any]:
        """`method` on STEP under the paths the server allows; its answer with any `data` wrapper removed.

        The authenticated path needs a token; a path the server lacks or has turned off (404 or 405) passes
        to the other. A server error becomes "PREFIX: ..." with exit 2; without a token, unauthenticated
        paths turned off get one line naming the option and the way out.
        """
        api = client()
        bases = [self.unauthenticated]
        if api.has_token:
            bases.insert(0 if self.authenticated_first else 1, self.authenticated)
        for base in bases:
            try:
                return _unwrapped(api.request(method, f"{base}/{step}", json=body))
            except ClientError as exc:
                unavailable = exc.status in (404, 405)
                if not unavailable or (base == bases[-1] and api.has_token):
                    raise Failure(f"{prefix}: {exc}") from None
        raise Failure(
            f"{prefix}: the server has turned off the unauthenticated {self.unauthenticated}/* endpoints "
            f"({self.option}); run this with a token allowed {self.authenticated}/*"
        )


def _unwrapped(body: Mapping[str, Any] | None) -> dict[str, Any]:
    """The operation's fields: authenticated paths answer inside `data`, unauthenticated ones at the top."""
    body = body or {}
    inner = body.get("data")
    return dict(inner) if isinstance(inner, Mapping) else dict(body)


GENERATE_ROOT = KeyholderPaths(
    "sys/generate-root-token", "sys/generate-root", "disable_unauthed_generate_root_endpoints", True
)
# bao 2.7.2's rekey still calls sys/rekey/* first; sys/rotate/* serves it where those are off.
REKEY = {
    "barrier": KeyholderPaths("sys/rotate/root", "sys/rekey", "disable_unauthed_rekey_endpoints", False),
    "recovery": KeyholderPaths(
        "sys/rotate/recovery", "sys/rekey-recovery-key", "disable_unauthed_rekey_endpoints", False
    ),
}


def pgp_key_files(value: str) -> list[str]:
    """The public keys a -pgp-keys style flag names (comma-separated files, binary, base64 or armored), as
    the API takes them. Keybase names are refused: that service no longer serves keys."""
    keys = []
    for item in (part.strip() for part in value.split(",")):
        if item.startswith("keybase:"):
            raise Failure(
                f"keybase user {item.removeprefix('keybase:')!r}: fetching keys from Keybase is not "
                "supported; export the key to a file (gpg --export NAME > NAME.gpg) and give its path",
                USAGE_EXIT,
            )
        try:
            keys.append(public_key_text(Path(item.removeprefix("@")).read_bytes()))
        except OSError as exc:
            raise Failure(f"open {item}: {exc.strerror or exc}", USAGE_EXIT) from None
        except PGPKeyError as exc:
            raise Failure(f"{exc} (in {item})", USAGE_EXIT) from None
    return keys


def read_key(prompt_lines: Sequence[str]) -> str:
    """A key share typed at a terminal without echo, or the first line of stdin when it is not one."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    for line in prompt_lines:
        click.echo(line)
    return str(click.prompt("Unseal Key (will be hidden)", hide_input=True, prompt_suffix=": ")).strip()


def print_raw(text: str) -> None:
    """A bare value, with no newline when stdout is not a terminal (so `$(...)` captures it exactly)."""
    click.echo(text, nl=sys.stdout.isatty())


def go_bool(value: object) -> str:
    """A truth value as Go's %t prints it."""
    return "true" if value else "false"


def key_and_nonce(key: str, nonce: str | None, status_nonce: str, prompt: Sequence[str]) -> tuple[str, str]:
    """The share to submit and its nonce: from the argument, from stdin for "-", or from a prompt.

    Prompting needs no -nonce: the attempt in progress supplies it, as the Vault CLI does.
    """
    if key == "-":
        key = sys.stdin.read()
    elif not key:
        key, nonce = read_key(prompt), status_nonce
    if not nonce:
        raise Failure("Missing nonce value: specify it via the -nonce flag", USAGE_EXIT)
    return key.strip(), nonce


@click.command("generate-root", cls=OperatorCommand)
@api_options
@format_option
@click.option("--init", "start", is_flag=True, help="Start a root token generation (with -otp or -pgp-key).")
@click.option("--cancel", is_flag=True, help="Cancel the root token generation in progress.")
@click.option("--status", is_flag=True, help="Print the progress of the generation in progress.")
@click.option(
    "--generate-otp", is_flag=True, help="Print a one-time password of the length the server wants."
)
@click.option("--decode", help="Decode this encoded token with -otp ('-' reads it from stdin).")
@click.option("--otp", default="", help="The one-time password the final token is XORed with.")
@click.option("--pgp-key", default="", help="A file holding the public PGP key the token is encrypted to.")
@click.option("--nonce", help="The nonce of the generation in progress.")
@click.argument("args", nargs=-1)
def generate_root(
    *,
    start: bool,
    cancel: bool,
    status: bool,
    generate_otp: bool,
    decode: str | None,
    otp: str,
    pgp_key: str,
    nonce: str | None,
    args: tuple[str, ...],
) -> None:
    """Generate a new root token from a quorum of unseal key shares."""
    too_many(args, "0-1", 1)
    fmt = output_format()
    if generate_otp:
        length = int(_generate_root_status().get("otp_length") or 0)
        value = _new_otp(length)
        if fmt == "table":
            print_raw(value)
        else:
            click.echo(render({"otp": value, "otp_length": len(value)}, fmt))
    elif decode is not None:
        _decode(decode, otp, fmt)
    elif cancel:
        GENERATE_ROOT.call("Error canceling root token generation", "DELETE", "attempt")
        click.echo("Success! Root token generation canceled (if it was started)")
    elif start:
        if otp and pgp_key:
            raise Failure("Error initializing: cannot specify both -otp and -pgp-key", USAGE_EXIT)
        body = {"otp": otp, "pgp_key": pgp_key_files(pgp_key)[0] if pgp_key else ""}
        _print_generate_root_status(
            GENERATE_ROOT.call("Error initializing root generation", "PUT", "attempt", body)
        )
    elif status:
        _print_generate_root_status(_generate_root_status())
    else:
        _provide_root_key(args[0].strip() if args else "", nonce)


def _generate_root_status() -> dict[str, Any]:
    return GENERATE_ROOT.call("Error getting root generation status", "GET", "attempt")


def _provide_root_key(key: str, nonce: str | None) -> None:
    current = _generate_root_status()
    if not current.get("started"):
        click.echo(wrap(
            "No root generation is in progress. Start a root generation by running "
            '"strongroom operator generate-root -init".'
        ), err=True)  # fmt: skip
        raise Failure(wrap(
            "If starting root generation using the OTP method and generating your own OTP, the length of "
            f"the OTP string needs to be {current.get('otp_length', 0)} characters in length."
        ), USAGE_EXIT)  # fmt: skip
    prompt = (f"Operation nonce: {current.get('nonce', '')}",)
    key, nonce = key_and_nonce(key, nonce, str(current.get("nonce", "")), prompt)
    body = {"key": key, "nonce": nonce}
    _print_generate_root_status(GENERATE_ROOT.call("Error posting unseal key", "PUT", "update", body))


def _print_generate_root_status(body: Mapping[str, Any]) -> None:
    status = document(body, _GENERATE_ROOT_STATUS)
    fmt = output_format()
    if fmt != "table":
        click.echo(render(status, fmt))
        return
    rows = [
        ("Nonce", str(status["nonce"])),
        ("Started", go_bool(status["started"])),
        ("Progress", f"{status['progress']}/{status['required']}"),
        ("Complete", go_bool(status["complete"])),
    ]
    if status["pgp_fingerprint"]:
        rows.append(("PGP Fingerprint", str(status["pgp_fingerprint"])))
    if status["encoded_token"]:
        rows.append(("Encoded Token", str(status["encoded_token"])))
    elif status["encoded_root_token"]:
        rows.append(("Encoded Root Token", str(status["encoded_root_token"])))
    if status["otp"]:
        click.echo(wrap(
            "A One-Time-Password has been generated for you and is shown in the OTP field. You will need "
            "this value to decode the resulting root token, so keep it safe."
        ), err=True)  # fmt: skip
        rows.append(("OTP", str(status["otp"])))
    if status["otp_length"]:
        rows.append(("OTP Length", str(status["otp_length"])))
    click.echo(columns(rows))


def _new_otp(length: int) -> str:
    """A one-time password: `length` base62 characters, or (a server that gives no length) 16 random bytes
    in base64, which older servers expect."""
    if length:
        return "".join(secrets.choice(_BASE62) for _ in range(length))
    return base64.b64encode(secrets.token_bytes(16)).decode()


def _decode(encoded: str, otp: str, fmt: str) -> None:
    if not encoded:
        raise Failure("Missing encoded value: use -decode=<string> to supply it", USAGE_EXIT)
    if not otp:
        raise Failure("Missing otp: use -otp to supply it", USAGE_EXIT)
    if encoded == "-":
        encoded = sys.stdin.read()
        if not encoded:
            raise Failure(
                'Missing encoded value. When using -decode="-" value must be passed via stdin.', USAGE_EXIT
            )
    length = int(_generate_root_status().get("otp_length") or 0)
    try:
        token = decode_token(encoded.strip(), otp, length)
    except ValueError as exc:
        raise Failure(f"Error decoding root token: {exc}", USAGE_EXIT) from None
    if fmt == "table":
        print_raw(token)
    else:
        click.echo(render({"token": token}, fmt))


def decode_token(encoded: str, otp: str, otp_length: int) -> str:
    """The token hidden in `encoded`: its bytes XORed with the OTP's, as `bao operator generate-root -decode`.

    With `otp_length` 0 (servers older than random-string tokens) both are base64 and the token is a UUID.
    Raises ValueError with the Vault CLI's wording when the inputs do not fit together.
    """
    if otp_length == 0:
        token = _xor(_b64(encoded, "error xoring token"), _b64(otp, "error xoring token"))
        if len(token) != 16:
            raise ValueError(f"error formatting base64 token value: wrong length byte slice ({len(token)})")
        text = token.hex()
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return _xor(_b64(encoded, "error decoding base64'd token"), otp.encode()).decode(errors="replace")


def _b64(text: str, context: str) -> bytes:
    try:
        return base64.b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4), validate=True)
    except ValueError:
        raise ValueError(f"{context}: illegal base64 data") from None


def _xor(left: bytes, right: bytes) -> bytes:
    if len(left) != len(right):
        raise ValueError(
            f"error xoring token: length of byte slices is not equivalent: {len(left)} != {len(right)}"
        )
    return bytes(a ^ b for a, b in zip(left, right, strict=True))
