"""Request bodies however they are framed: a body without a Content-Length (HTTP/1.1 chunked, HTTP/2 DATA
frames) is read as well as one with it; a GET without either header waits for no body."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.servers import RunningServer


def _chunks(body: dict[str, object]) -> Iterator[bytes]:
    encoded = orjson.dumps(body)
    yield encoded[:5]
    yield encoded[5:]


@pytest.mark.parametrize("http2", [False, True], ids=["http1-chunked", "http2-no-length"])
def test_a_body_without_content_length_is_read(server: RunningServer, http2: bool) -> None:
    headers = {"X-Vault-Token": server.root_token}
    with httpx.Client(
        base_url=server.address, headers=headers, timeout=10, http1=not http2, http2=http2
    ) as client:
        written = client.put(f"/v1/secret/data/framed-{http2}", content=_chunks({"data": {"k": "v"}}))
        assert written.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
        assert "content-length" not in written.request.headers
        assert written.status_code == 200, written.text
        read = client.get(f"/v1/secret/data/framed-{http2}")
        assert read.status_code == 200
        assert read.json()["data"]["data"] == {"k": "v"}


def test_a_body_with_content_length_is_read_and_an_empty_one_refused_as_vault_does(
    root: httpx.Client,
) -> None:
    assert root.put("/v1/secret/data/sized", json={"data": {"a": 1}}).status_code == 200
    assert root.get("/v1/secret/data/sized").json()["data"]["data"] == {"a": 1}
    empty = root.put("/v1/sys/policies/acl/empty", content=b"")
    assert empty.status_code == 400
    assert empty.json()["errors"]
