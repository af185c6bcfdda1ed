"""A minimal DNS client for dns-01: one TXT query over UDP to the mount's dns_resolver (config/acme), or
to the first nameserver of /etc/resolv.conf. Layer: builtin (pure; stdlib only).

It reads answers only (no recursion of its own, no DNSSEC); a truncated answer counts as a failure, since
a challenge's TXT record is a few dozen bytes.
"""

from __future__ import annotations

import asyncio
import secrets
import struct
from pathlib import Path

TXT = 16
TIMEOUT = 10.0
RESOLV_CONF = Path("/etc/resolv.conf")


class DnsError(Exception):
    """The query failed: no answer, a refusal, or a reply that does not parse."""


def system_resolver() -> tuple[str, int]:
    try:
        for line in RESOLV_CONF.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return parts[1], 53
    except OSError:
        pass
    return "127.0.0.1", 53


def parse_resolver(value: str) -> tuple[str, int]:
    """ "host:port" (config/acme checked it) as a (host, port) pair; IPv6 hosts come in brackets."""
    host, _, port = value.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)


def query(name: str, query_id: int) -> bytes:
    header = struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0)  # recursion desired, one question
    labels = b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split("."))
    return header + labels + b"\x00" + struct.pack(">HH", TXT, 1)


def _skip_name(message: bytes, offset: int) -> int:
    while True:
        if offset >= len(message):
            raise DnsError("truncated name")
        length = message[offset]
        if length & 0xC0 == 0xC0:  # a compression pointer ends the name
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length


def txt_records(message: bytes, query_id: int) -> list[str]:
    """The TXT strings of a reply (each record's strings joined, as RFC 7208 reads them)."""
    if len(message) < 12:
        raise DnsError("short reply")
    answer_id, flags, questions, answers, _, _ = struct.unpack(">HHHHHH", message[:12])
    if answer_id != query_id or not flags & 0x8000:
        raise DnsError("reply does not answer the query")
    if flags & 0x0200:
        raise DnsError("truncated reply")
    if flags & 0x000F:
        raise DnsError(f"server answered rcode {flags & 0x000F}")
    offset = 12
    for _ in range(questions):
        offset = _skip_name(message, offset) + 4
    found: list[str] = []
    for _ in range(answers):
        offset = _skip_name(message, offset)
        if offset + 10 > len(message):
            raise DnsError("truncated record")
        kind, _, _, length = struct.unpack(">HHIH", message[offset : offset + 10])
        offset += 10
        data = message[offset : offset + length]
        offset += length
        if kind != TXT:
            continue
        parts, position = [], 0
        while position < len(data):
            size = data[position]
            parts.append(data[position + 1 : position + 1 + size])
            position += 1 + size
        found.append(b"".join(parts).decode("utf-8", "replace"))
    return found


class _Reply(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(DnsError(type(exc).__name__))


async def lookup_txt(name: str, resolver: tuple[str, int]) -> list[str]:
    """The TXT records of `name`, asked of `resolver`."""
    query_id = secrets.randbelow(0x10000)
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.create_datagram_endpoint(_Reply, remote_addr=resolver)
    except OSError as exc:
        raise DnsError(type(exc).__name__) from None
    try:
        transport.sendto(query(name, query_id))
        reply = await asyncio.wait_for(protocol.reply, TIMEOUT)
    except TimeoutError:
        raise DnsError("no reply") from None
    finally:
        transport.close()
    return txt_records(reply, query_id)
