"""sys/policies/password, differentially against OpenBao: the same writes get the same status and error
text, reads and lists answer alike, and generated passwords keep to the policy's length and rules."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from tests.servers import RunningServer

GOOD = (
    'length = 24\nrule "charset" {\n  charset = "abcdef"\n  min-chars = 2\n}\n'
    'rule "charset" {\n  charset = "0123456789"\n  min-chars = 3\n}\n'
)
BAD = [
    'length = 2\nrule "charset" {\n charset = "abc"\n min-chars = 1\n}',
    'length = 200\nrule "charset" {\n charset = "abc"\n}',
    'length = 5\nrule "charset" {\n charset = "abc"\n min-chars = 6\n}',
    "length = 5",
    'length = 5\nrule "foo" { x = 1 }',
    'length = 5\nrule "charset" {\n charset = "ab\\u0001"\n}',
    'length = "x"\nrule "charset" {\n charset = "abc"\n}',
    "",
]


def answer(client: httpx.Client, method: str, path: str, body: object = None) -> tuple[int, object]:
    response = client.request(method, f"/v1/sys/policies/password/{path}", json=body)
    if response.status_code == 204:
        return 204, None
    payload = response.json()
    return response.status_code, payload.get("errors", payload.get("data"))


@pytest.fixture
def clients(server: RunningServer, bao: RunningServer) -> tuple[httpx.Client, httpx.Client]:
    with server.client() as ours, bao.client() as theirs:
        yield ours, theirs


@pytest.mark.parametrize("text", BAD)
def test_invalid_policies_are_refused_as_openbao_refuses_them(
    clients: tuple[httpx.Client, httpx.Client], text: str
) -> None:
    ours, theirs = clients
    name = f"bad-{uuid.uuid4().hex[:8]}"
    expected = answer(theirs, "PUT", name, {"policy": text})
    assert expected[0] == 400
    assert answer(ours, "PUT", name, {"policy": text}) == expected
    assert (
        answer(ours, "GET", name)
        == answer(theirs, "GET", name)
        == (
            404,
            ["1 error occurred:\n\t* policy does not exist\n\n"],
        )
    )


def test_a_policy_round_trips_and_generates_within_its_rules(
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    name = f"pp-{uuid.uuid4().hex[:8]}"
    for client in clients:
        assert answer(client, "PUT", name, {"policy": base64.b64encode(GOOD.encode()).decode()}) == (
            204,
            None,
        )
        assert answer(client, "GET", name) == (200, {"policy": GOOD})
        status, keys = answer(client, "LIST", "")
        assert status == 200
        assert isinstance(keys, dict)
        assert name in keys["keys"]
        seen = set()
        for _ in range(20):
            status, data = answer(client, "GET", f"{name}/generate")
            assert status == 200
            assert isinstance(data, dict)
            password = data["password"]
            assert len(password) == 24
            assert set(password) <= set("abcdef0123456789")
            assert sum(c in "abcdef" for c in password) >= 2
            assert sum(c.isdigit() for c in password) >= 3
            seen.add(password)
        assert len(seen) == 20
        assert answer(client, "DELETE", name) == (204, None)
        assert answer(client, "GET", f"{name}/generate")[0] == 404
    ours, theirs = clients
    assert answer(ours, "PUT", "x", {}) == answer(theirs, "PUT", "x", {})
