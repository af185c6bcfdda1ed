"""The QR code PNG of a generated key's otpauth:// URL, drawn as Vault draws it.

Layer: builtin (stdlib and segno; the engine imports this module only when it draws a barcode, so a
server that never does never loads segno).
Vault (boombuler/barcode) encodes at error correction level M with no quiet zone, scales the symbol by
the largest whole factor that fits `size` x `size` and centres it on white; so does this module.
"""

from __future__ import annotations

import struct
import zlib

import segno

from strongroom.builtin.secrets.totp.otp import TotpError


def qr_png(text: str, size: int) -> bytes:
    """A `size` x `size` greyscale PNG of the QR code of `text`."""
    matrix = segno.make_qr(text, error="m", boost_error=False).matrix
    modules = len(matrix)
    scale = size // modules
    if scale <= 0:
        raise TotpError(
            f"failed to generate QR code image: can not scale barcode to an image smaller than "
            f"{modules}x{modules}"
        )
    offset = (size - modules * scale) // 2
    blank = b"\x00" + b"\xff" * size
    rows: list[bytes] = []
    for row in matrix:
        line = bytearray(b"\xff" * size)
        for column, dark in enumerate(row):
            if dark:
                start = offset + column * scale
                line[start : start + scale] = b"\x00" * scale
        rows.extend([b"\x00" + bytes(line)] * scale)
    pixels = [blank] * offset + rows + [blank] * (size - offset - len(rows))
    return _png(size, b"".join(pixels))


def _png(size: int, scanlines: bytes) -> bytes:
    """A PNG of 8-bit greyscale `scanlines` (each already led by its filter byte)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(scanlines, 9))
        + chunk(b"IEND", b"")
    )
