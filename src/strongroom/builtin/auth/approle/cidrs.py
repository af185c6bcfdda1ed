"""CIDR rules of AppRole with Go's semantics (net.ParseCIDR, cidrutil). Layer: builtin (stdlib only).

Go's ParseCIDR wants an address and a prefix length and accepts host bits ("10.1.2.3/8"); a bare address
("127.0.0.1") is refused, which is why secret ID CIDR lists must carry a "/".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class CIDRError(ValueError):
    """A block that is not a CIDR, worded as Go's net.ParseCIDR words it."""


def parse_cidr(block: str) -> Network:
    """The network of `block` ("a.b.c.d/n"); CIDRError("invalid CIDR address: ...") otherwise."""
    text = block.strip()
    if "/" not in text:
        raise CIDRError(f"invalid CIDR address: {text}")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise CIDRError(f"invalid CIDR address: {text}") from None


def validate_cidrs(blocks: Iterable[str]) -> None:
    """CIDRError for the first block that does not parse."""
    for block in blocks:
        parse_cidr(block)


def parse_addr(value: str) -> Network:
    """An address or a CIDR block (parseutil.ParseAddrs, for token_bound_cidrs)."""
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise CIDRError(
            f'error parsing address "{value}": Unable to convert "{value}" to an IPv4 or IPv6 address, '
            "or a UNIX Socket"
        ) from None


def is_subset(outer: Sequence[str], inner: Sequence[str]) -> bool:
    """Whether every block of `inner` lies within some block of `outer` (cidrutil.SubsetBlocks).

    An empty `outer` allows anything. Bare addresses in `outer` count as /32 (or /128), as Vault stores them.
    """
    if not inner or not outer:
        return True
    try:
        outer_nets = [ipaddress.ip_network(block.strip(), strict=False) for block in outer]
        inner_nets = [parse_cidr(block) for block in inner]
    except ValueError:
        return False
    return all(
        any(net.version == wide.version and net.subnet_of(wide) for wide in outer_nets)  # type: ignore[arg-type]
        for net in inner_nets
    )


def subset_error(role_blocks: Sequence[str], secret_blocks: Sequence[str]) -> str:
    """Vault's refusal for secret ID blocks outside the role's (Go's `%!w(<nil>)` included, verbatim)."""
    with_masks = [block if "/" in block else f"{block}/32" for block in role_blocks]
    return (
        f"failed to verify subset relationship between CIDR blocks on the role {_go_list(with_masks)} "
        f"and CIDR blocks on the secret ID {_go_list(secret_blocks)}: %!w(<nil>)"
    )


def address_allowed(address: str, blocks: Sequence[str]) -> bool:
    """Whether `address` lies in one of `blocks` (cidrutil.IPBelongsToCIDRBlocksSlice); False when it does not
    parse."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for block in blocks:
        try:
            if ip in ipaddress.ip_network(block.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def _go_list(items: Sequence[str]) -> str:
    return "[" + " ".join(f'"{item}"' for item in items) + "]"
