"""Request forwarding: a standby passes each request on, unchanged, to the active server's api_addr.

Layer: http (imports httpx, on the first forwarded request, and errors only). A plain reverse proxy:
method, path, query, headers (less the hop-by-hop ones) and body go to the active server; its status,
content type and body come back. The endpoints every server answers for itself (health, leader, seal
status, init, unseal, seal) never get here. The client address this standby settled on travels as the
only X-Forwarded-For entry, which the active server believes only where its listener lists the standbys
in x_forwarded_for_authorized_addrs.
Invariant: a forwarded request or answer is never logged (either may hold a token or a secret).
Invariant: a client's own X-Forwarded-For header never reaches the active server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from strongroom import errors

if TYPE_CHECKING:
    import httpx

# Served by every node itself: its own health, seal state and HA view, and its own seal and unseal.
LOCAL_PATHS = frozenset(
    {
        "/v1/sys/health",
        "/v1/sys/leader",
        "/v1/sys/seal-status",
        "/v1/sys/init",
        "/v1/sys/unseal",
        "/v1/sys/seal",
    }
)
_HOP_BY_HOP = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
     "proxy-authorization", "proxy-authenticate"}
)  # fmt: skip
# The client's X-Forwarded-For is replaced by the address this server took from it (or from the socket).
_NOT_PASSED = _HOP_BY_HOP | {"x-forwarded-for"}
# What the HTTP layer itself writes on every answer: the standby writes its own.
_NOT_RETURNED = frozenset(
    {"content-type", "content-length", "cache-control", "date", "server", "connection", "keep-alive",
     "transfer-encoding"}
)  # fmt: skip
# Long enough for the slowest request an active server serves (a database engine creating credentials).
_TIMEOUT, _CONNECT_TIMEOUT = 60.0, 5.0


def is_local(path: str) -> bool:
    """True for the endpoints a standby answers itself."""
    return path.rstrip("/") in LOCAL_PATHS


class Forwarder:
    """One connection pool to the active server, opened (and httpx imported) on the first forwarded request:
    only a standby of an HA cluster forwards."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    async def forward(
        self,
        leader: str,
        method: str,
        path: str,
        *,
        query: bytes,
        headers: Mapping[str, str],
        body: bytes,
        client: str = "",
        extra: dict[str, str] | None = None,
    ) -> tuple[int, bytes, str]:
        """The active server's answer (status, body, content type); ServiceUnavailableError when it cannot
        be reached, as Vault answers when a standby cannot forward. The headers a backend set on the
        answer (ACME's Replay-Nonce, Location, Link) are copied into `extra`."""
        import httpx

        if self._client is None:
            timeout = httpx.Timeout(_TIMEOUT, connect=_CONNECT_TIMEOUT)
            self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)
        url = (
            httpx.URL(leader.rstrip("/") + path, query=query)
            if query
            else httpx.URL(leader.rstrip("/") + path)
        )
        passed = [(name, value) for name, value in headers.items() if name not in _NOT_PASSED]
        if client:
            passed.append(("x-forwarded-for", client))
        try:
            answer = await self._client.request(method, url, headers=passed, content=body)
        except httpx.HTTPError:
            raise errors.ServiceUnavailableError("error forwarding the request to the active node") from None
        if extra is not None:
            extra.update((name, value) for name, value in answer.headers.items() if name not in _NOT_RETURNED)
        return answer.status_code, answer.content, answer.headers.get("content-type", "application/json")

    async def aclose(self) -> None:
        """Close the connection pool."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
