"""What the hot path keeps in memory (plaintexts, decoded token entries, compiled ACLs, HMACs) never outlives
the truth: a policy written or deleted, a secret rewritten, a token revoked or used up take effect on the very
next request. The same requests go to OpenBao, and both must answer alike."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.servers import RunningServer

GRANT = 'path "secret/data/{tag}/*" {{ capabilities = ["read"] }}'
DENY = 'path "secret/data/{tag}/*" {{ capabilities = ["deny"] }}'


def story(server: RunningServer, tag: str) -> list[object]:
    """Reads between changes to the policy, the secret and the token; what each read answered."""
    seen: list[object] = []
    with server.client() as root:

        def policy(rules: str) -> None:
            root.put(f"/v1/sys/policies/acl/{tag}", json={"policy": rules.format(tag=tag)}).raise_for_status()

        def token(**options: object) -> str:
            body = {"policies": [tag], "ttl": "1h", **options}
            answer = root.post("/v1/auth/token/create", json=body)
            answer.raise_for_status()
            return str(answer.json()["auth"]["client_token"])

        policy(GRANT)
        root.post(f"/v1/secret/data/{tag}/s", json={"data": {"v": "one"}}).raise_for_status()
        with server.client(token()) as client:

            def read() -> None:
                answer = client.get(f"/v1/secret/data/{tag}/s")
                seen.append(
                    answer.json()["data"]["data"] if answer.status_code == 200 else answer.status_code
                )

            read()
            read()
            policy(DENY)
            read()
            policy(GRANT)
            read()
            root.delete(f"/v1/sys/policies/acl/{tag}").raise_for_status()
            read()
            policy(GRANT)
            read()
            root.post(f"/v1/secret/data/{tag}/s", json={"data": {"v": "two"}}).raise_for_status()
            read()
            client.post("/v1/auth/token/revoke-self").raise_for_status()
            read()
        limited = token(num_uses=3)

        def use(_: int) -> int:
            with server.client(limited) as client:
                return client.get(f"/v1/secret/data/{tag}/s").status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = sorted(pool.map(use, range(8)))
        seen.append(statuses)
    return seen


def test_changes_take_effect_on_the_next_request(server: RunningServer, bao: RunningServer) -> None:
    tag = f"hot-{uuid.uuid4().hex[:8]}"
    ours, theirs = story(server, tag), story(bao, tag)
    assert ours[:-1] == theirs[:-1]
    # The 3-use token read by 8 at once: exactly 3 succeed on both. OpenBao sometimes answers a request racing
    # the token's revocation with a 500 instead of a 403 (seen in CI), so its refusals are compared as >= 400.
    concurrent = theirs[-1]
    assert isinstance(concurrent, list)
    assert concurrent[:3] == [200, 200, 200]
    assert all(status >= 400 for status in concurrent[3:]), concurrent
    assert ours == [
        {"v": "one"}, {"v": "one"}, 403, {"v": "one"}, 403, {"v": "one"}, {"v": "two"}, 403,
        [200, 200, 200, 403, 403, 403, 403, 403],
    ]  # fmt: skip
