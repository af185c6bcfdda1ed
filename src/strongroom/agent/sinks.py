"""Token sinks: where the agent writes its token after each authentication.

Layer: agent. Imports httpx, config.agent_model and the sibling `auth` and `files` modules.

A sink with `wrap_ttl` receives a response-wrapping token instead (the JSON wrap info Vault Agent
writes), made by sys/wrapping/wrap so only one reader can unwrap the agent's token.

Invariant: a sink file is replaced atomically at its configured mode; its contents are never logged.
"""

from __future__ import annotations

import httpx
import orjson

from strongroom.agent.auth import AgentToken, AuthError
from strongroom.agent.files import write_atomic
from strongroom.config.agent_model import FileSink


async def _wrapped(http: httpx.AsyncClient, token: AgentToken, wrap_ttl: int) -> bytes:
    headers = {"X-Vault-Token": token.token, "X-Vault-Wrap-TTL": f"{wrap_ttl}s"}
    try:
        response = await http.post("/v1/sys/wrapping/wrap", json={"token": token.token}, headers=headers)
    except httpx.HTTPError as exc:
        raise AuthError(f"sys/wrapping/wrap: {type(exc).__name__}") from None
    wrap_info = response.json().get("wrap_info") if response.status_code == 200 else None
    if not isinstance(wrap_info, dict):
        raise AuthError(f"sys/wrapping/wrap: {response.status_code}: no wrap_info", response.status_code)
    return orjson.dumps(wrap_info)


async def write_sinks(http: httpx.AsyncClient, sinks: tuple[FileSink, ...], token: AgentToken) -> None:
    """Write the token (or a wrapping token for it) to every sink; raises OSError or AuthError."""
    for sink in sinks:
        data = await _wrapped(http, token, sink.wrap_ttl) if sink.wrap_ttl else token.token.encode()
        write_atomic(sink.path, data, sink.mode)
