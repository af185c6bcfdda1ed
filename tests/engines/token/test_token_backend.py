"""auth/token/ through the framework, with requests built as the core builds them (caller + raw token).

Expected bodies and errors were taken from an OpenBao 2.x dev server.
"""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.core.token_backend import token_backend
from strongroom.errors import InvalidRequestError, PermissionDeniedError, RequestError
from strongroom.framework.testing import BackendHarness
from strongroom.logical import InmemStorage, Operation, Request, Response
from strongroom.logical.backend import StaticSystemView
from strongroom.tokens import TokenParams, TokenStore
from strongroom.util.clock import ManualClock

HOUR = 3600
MAX = 768 * HOUR


class Env:
    def __init__(self) -> None:
        self.storage = InmemStorage()
        self.clock = ManualClock()
        self.store = TokenStore(self.storage, self.clock)
        self.sudo: set[str] = set()

        async def sudo_check(request: Request) -> bool:
            caller = request.caller
            return caller is not None and (caller.is_root or caller.token_hash in self.sudo)

        async def policy_exists(name: str) -> bool:
            return name in ("default", "root", "creator")

        backend = token_backend(
            self.store,
            system=StaticSystemView(MAX, MAX),
            clock=self.clock,
            sudo_check=sudo_check,
            policy_exists=policy_exists,
        )
        self.harness = BackendHarness(backend, self.storage, self.clock)

    async def start(self) -> None:
        await self.harness.backend.initialize()
        await self.store.create(TokenParams(policies=("root",)), token_id="root")

    async def call(
        self, operation: Operation, path: str, data: dict[str, Any] | None = None, token: str = "root"
    ) -> Response | None:
        """Authenticate like the core (one use taken), then dispatch."""
        entry = await self.store.use(token)
        request = self.harness.make_request(operation, path, data).evolve(
            client_token=token, caller=entry.caller() if entry else None
        )
        if operation is Operation.UPDATE and await self.harness.backend.exists(request) is False:
            request = request.evolve(operation=Operation.CREATE)
        response = await self.harness.backend.handle(request)
        if entry is not None and entry.revocation_pending:
            await self.store.revoke(entry.id_hash)
        return response

    async def write(
        self, path: str, data: dict[str, Any] | None = None, token: str = "root"
    ) -> Response | None:
        return await self.call(Operation.UPDATE, path, data or {}, token)

    async def create(self, data: dict[str, Any] | None = None, token: str = "root") -> str:
        response = await self.write("create", data, token)
        assert response is not None
        assert response.auth is not None
        return response.auth.client_token

    async def lookup(self, token_id: str) -> dict[str, Any]:
        response = await self.write("lookup", {"token": token_id})
        assert response is not None
        assert response.data is not None
        return dict(response.data)


@pytest.fixture
async def env() -> Env:
    created = Env()
    await created.start()
    return created


async def expect_error(call: Any, kind: type[RequestError], message: str) -> None:
    with pytest.raises(kind) as info:
        await call
    assert info.value.errors == (message,)


async def test_create_returns_vaults_auth_block(env: Env) -> None:
    response = await env.write(
        "create", {"policies": ["creator", "b"], "ttl": "1h", "meta": {"x": "y"}, "display_name": "My Name"}
    )
    assert response is not None
    assert response.auth is not None
    auth = response.auth
    assert auth.client_token.startswith("s.")
    assert len(auth.accessor) == 24
    assert auth.policies == ("b", "creator", "default") == auth.token_policies
    assert auth.metadata == {"x": "y"}
    assert (auth.lease.ttl, auth.lease.renewable) == (HOUR, True)
    assert (auth.token_type, auth.orphan, auth.num_uses, auth.entity_id) == ("service", False, 0, "")
    assert response.warnings == ('Policy "b" does not exist',)


async def test_lookup_has_vaults_fields(env: Env) -> None:
    token = await env.create(
        {"policies": ["a"], "ttl": "1h", "explicit_max_ttl": "2h", "display_name": "a b@c_d--", "num_uses": 5}
    )
    env.clock.advance(10)
    data = await env.lookup(token)
    assert set(data) == {
        "accessor", "creation_time", "creation_ttl", "display_name", "entity_id", "expire_time",
        "explicit_max_ttl", "id", "issue_time", "meta", "num_uses", "orphan", "path", "policies",
        "renewable", "ttl", "type",
    }  # fmt: skip
    assert data["id"] == token
    assert data["display_name"] == "token-a-b-c-d-"
    assert (data["creation_ttl"], data["ttl"], data["explicit_max_ttl"]) == (HOUR, HOUR - 10, 2 * HOUR)
    assert data["creation_time"] == 1_700_000_000
    assert data["issue_time"].startswith("2023-11-14T22:13:20")
    assert data["expire_time"].startswith("2023-11-14T23:13:20")
    assert data["expire_time"].endswith("Z")
    assert (data["num_uses"], data["orphan"], data["path"], data["meta"]) == (
        5,
        False,
        "auth/token/create",
        None,
    )
    assert (data["policies"], data["renewable"], data["type"]) == (["a", "default"], True, "service")
    self_data = await env.write("lookup-self", token=token)
    assert self_data is not None
    assert self_data.data is not None
    assert self_data.data["num_uses"] == 4


async def test_root_lookup_self(env: Env) -> None:
    response = await env.call(Operation.READ, "lookup-self")
    assert response is not None
    assert response.data is not None
    data = response.data
    assert (data["id"], data["policies"], data["orphan"], data["ttl"]) == ("root", ["root"], True, 0)
    assert data["expire_time"] is None
    assert data["renewable"] is False


async def test_lookup_errors(env: Env) -> None:
    await expect_error(env.write("lookup", {"token": "bogus"}), PermissionDeniedError, "bad token")
    await expect_error(
        env.write("lookup-accessor", {}), InvalidRequestError, "1 error occurred:\n\t* missing accessor\n\n"
    )
    invalid = "1 error occurred:\n\t* invalid accessor\n\n"
    await expect_error(env.write("lookup-accessor", {"accessor": "bogus"}), InvalidRequestError, invalid)


async def test_last_use_shows_minus_one_then_revokes(env: Env) -> None:
    token = await env.create({"policies": ["default"], "num_uses": 1})
    response = await env.write("lookup-self", token=token)
    assert response is not None
    assert response.data is not None
    assert response.data["num_uses"] == -1
    await expect_error(env.write("lookup", {"token": token}), PermissionDeniedError, "bad token")


async def test_non_sudo_creation_rules(env: Env) -> None:
    token = await env.create({"policies": ["creator"]})
    for body, message in (
        ({"policies": ["other"]}, "child policies must be subset of parent"),
        ({"policies": ["root"]}, "child policies must be subset of parent"),
        ({"no_parent": True}, "root or sudo privileges required to create orphan token"),
        ({"id": "custom"}, "root or sudo privileges required to specify token id"),
        ({"period": "1h"}, "root or sudo privileges required to create periodic token"),
        ({"type": "bogus"}, "invalid 'token_type' value"),
        ({"num_uses": -1}, "number of uses cannot be negative"),
        ({"ttl": "bogus"}, 'time: invalid duration "bogus"'),
        ({"type": "batch", "num_uses": 2}, 'batch tokens cannot have "num_uses" set'),
        ({"entity_alias": "x"}, "'entity_alias' is only allowed in combination with token role"),
    ):
        await expect_error(env.write("create", body, token), InvalidRequestError, message)
    child = await env.write("create", {"no_default_policy": True}, token)
    assert child is not None
    assert child.auth is not None
    assert child.auth.policies == ("creator",)
    limited = await env.create({"policies": ["creator"], "num_uses": 3})
    await expect_error(
        env.write("create", {}, limited),
        InvalidRequestError,
        "restricted use token cannot generate child tokens",
    )


async def test_sudo_creation(env: Env) -> None:
    token = await env.create({"policies": ["creator"]})
    env.sudo.add(env.store.hash(token))
    other = await env.write("create", {"policies": ["other"], "no_parent": True}, token)
    assert other is not None
    assert other.auth is not None
    assert other.auth.policies == ("default", "other")
    assert other.auth.orphan
    await expect_error(
        env.write("create", {"policies": ["root"]}, token),
        InvalidRequestError,
        "root tokens may not be created without parent token being root",
    )
    custom = await env.write("create", {"id": "custom"}, token)
    assert custom is not None
    assert custom.auth is not None
    assert custom.auth.client_token == "custom"
    assert custom.warnings[0].startswith("Supplying a custom ID")


async def test_ttl_capping_warnings(env: Env) -> None:
    capped = await env.write("create", {"ttl": "3601s", "explicit_max_ttl": "61s"})
    assert capped is not None
    assert capped.auth is not None
    assert capped.auth.lease.ttl == 61
    assert capped.warnings == (
        'TTL of "1h1s" exceeded the effective max_ttl of "1m1s"; TTL value is capped accordingly',
    )
    period = await env.write("create", {"period": "800h"})
    assert period is not None
    assert period.auth is not None
    assert period.auth.lease.ttl == MAX
    assert period.warnings == (
        'period of "800h" exceeded the effective max_ttl of "768h"; period value is capped accordingly',
    )
    default = await env.write("create", {"policies": ["a"]})
    assert default is not None
    assert default.auth is not None
    assert default.auth.lease.ttl == MAX
    root_child = await env.write("create", {})
    assert root_child is not None
    assert root_child.auth is not None
    assert (root_child.auth.lease.ttl, root_child.auth.lease.renewable) == (0, False)


async def test_batch_tokens(env: Env) -> None:
    response = await env.write("create", {"type": "batch", "policies": ["a"], "ttl": "1h"})
    assert response is not None
    assert response.auth is not None
    batch = response.auth.client_token
    assert batch.startswith("b.")
    assert response.auth.accessor == ""
    assert not response.auth.lease.renewable
    data = await env.lookup(batch)
    assert (data["accessor"], data["type"], data["renewable"]) == ("", "batch", False)
    assert data["issue_time"] == "2023-11-14T22:13:20Z"
    for path in ("renew", "revoke", "revoke-orphan"):
        verb = "renewed" if path == "renew" else "revoked"
        await expect_error(
            env.write(path, {"token": batch}), InvalidRequestError, f"batch tokens cannot be {verb}"
        )
    await expect_error(
        env.write("create", {}, batch), InvalidRequestError, "batch tokens cannot create more tokens"
    )
    root_batch = env.write("create", {"type": "batch", "policies": ["root"]})
    await expect_error(root_batch, InvalidRequestError, "batch tokens cannot be root tokens")


async def test_renew_endpoints(env: Env) -> None:
    token = await env.create({"policies": ["a"], "ttl": "1h", "explicit_max_ttl": "2h"})
    env.clock.advance(1)
    response = await env.write("renew", {"token": token, "increment": "3h"})
    assert response is not None
    assert response.auth is not None
    assert response.auth.lease.ttl == 2 * HOUR - 1
    assert response.auth.client_token == token
    assert response.warnings == (
        'TTL of "3h" exceeded the effective max_ttl of "1h59m59s"; TTL value is capped accordingly',
    )
    data = await env.lookup(token)
    assert data["last_renewal_time"] == 1_700_000_001
    assert data["ttl"] == 2 * HOUR - 1
    self_renew = await env.write("renew-self", {"increment": 60}, token)
    assert self_renew is not None
    assert self_renew.auth is not None
    assert self_renew.auth.lease.ttl == 60
    accessor = data["accessor"]
    by_accessor = await env.write("renew-accessor", {"accessor": accessor, "increment": 120})
    assert by_accessor is not None
    assert by_accessor.auth is not None
    assert (by_accessor.auth.client_token, by_accessor.auth.lease.ttl) == ("", 120)
    fixed = await env.create({"ttl": "1h", "renewable": False, "policies": ["a"]})
    await expect_error(env.write("renew", {"token": fixed}), InvalidRequestError, "lease is not renewable")
    await expect_error(env.write("renew", {"token": "root"}), InvalidRequestError, "lease is not renewable")
    await expect_error(env.write("renew", {"token": "bogus"}), InvalidRequestError, "token not found")
    await expect_error(env.write("renew", {}), InvalidRequestError, "missing token ID")


async def test_revoke_endpoints(env: Env) -> None:
    parent = await env.create({"policies": ["creator"]})
    child = await env.create({}, parent)
    grandchild = await env.create({}, child)
    assert await env.write("revoke", {"token": parent}) is None
    for token in (parent, child, grandchild):
        await expect_error(env.write("lookup", {"token": token}), PermissionDeniedError, "bad token")
    assert await env.write("revoke", {"token": "bogus"}) is None
    await expect_error(env.write("revoke", {}), InvalidRequestError, "missing token ID")

    parent = await env.create({"policies": ["creator"]})
    child = await env.create({}, parent)
    await expect_error(
        env.write("revoke-orphan", {"token": parent}, child),
        InvalidRequestError,
        "root or sudo privileges required to revoke and orphan",
    )
    await expect_error(
        env.write("revoke-orphan", {"token": "bogus"}), InvalidRequestError, "token to revoke not found"
    )
    assert await env.write("revoke-orphan", {"token": parent}) is None
    assert (await env.lookup(child))["orphan"] is True

    accessor = (await env.lookup(child))["accessor"]
    missing = await env.write("revoke-accessor", {"accessor": "bogus"})
    assert missing is not None
    assert missing.warnings == ("No token found with this accessor",)
    assert await env.write("revoke-accessor", {"accessor": accessor}) is None
    await expect_error(env.write("lookup", {"token": child}), PermissionDeniedError, "bad token")

    own = await env.create({"policies": ["creator"]})
    assert await env.write("revoke-self", token=own) is None
    assert await env.store.lookup(own) is None


async def test_lookup_accessor_hides_the_id(env: Env) -> None:
    token = await env.create({"policies": ["a"]})
    accessor = (await env.lookup(token))["accessor"]
    response = await env.write("lookup-accessor", {"accessor": accessor})
    assert response is not None
    assert response.data is not None
    assert response.data["id"] == ""
    assert response.data["accessor"] == accessor
    listed = await env.call(Operation.LIST, "accessors/")
    assert listed is not None
    assert listed.data is not None
    assert accessor in listed.data["keys"]
    assert len(listed.data["keys"]) == 2


async def test_roles_crud_and_create_against_role(env: Env) -> None:
    await expect_error(
        env.write("roles/r2", {"path_suffix": "v1"}),
        InvalidRequestError,
        "given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w",
    )
    written = await env.write(
        "roles/r2",
        {
            "allowed_policies": ["a", "b"],
            "disallowed_policies": "c",
            "token_period": "1h",
            "token_explicit_max_ttl": "2h",
            "path_suffix": "v10",
            "allowed_entity_aliases": ["X"],
        },
    )
    assert written is None
    role = await env.call(Operation.READ, "roles/r2")
    assert role is not None
    assert role.data == {
        "allowed_entity_aliases": ["x"],
        "allowed_policies": ["a", "b"],
        "allowed_policies_glob": [],
        "disallowed_policies": ["c"],
        "disallowed_policies_glob": [],
        "explicit_max_ttl": 0,
        "name": "r2",
        "orphan": False,
        "path_suffix": "v10",
        "period": 0,
        "renewable": True,
        "token_explicit_max_ttl": 7200,
        "token_no_default_policy": False,
        "token_period": 3600,
        "token_type": "default-service",
    }
    made = await env.write("create/r2", {"policies": ["a"]})
    assert made is not None
    assert made.auth is not None
    assert made.auth.policies == ("a", "default")
    assert made.auth.lease.ttl == HOUR
    await expect_error(
        env.write("create/r2", {"policies": ["z"]}),
        InvalidRequestError,
        'token policies (["default" "z"]) must be subset of the role\'s allowed policies '
        '(["a" "b" "default"]) or glob policies ([])',
    )
    token = (await env.write("create/r2", {})).auth.client_token  # type: ignore[union-attr]
    data = await env.lookup(token)
    assert (data["path"], data["role"], data["policies"]) == (
        "auth/token/create/r2/v10",
        "r2",
        ["a", "b", "default"],
    )
    assert "period" not in data
    env.clock.advance(HOUR - 5)
    renewed = await env.write("renew", {"token": token, "increment": "10h"})
    assert renewed is not None
    assert renewed.auth is not None
    assert renewed.auth.lease.ttl == HOUR

    await env.write("roles/r5", {"disallowed_policies": "c,default"})
    await expect_error(
        env.write("create/r5", {"policies": ["c"]}),
        InvalidRequestError,
        'token policy "c" is disallowed by this role',
    )
    await expect_error(env.write("create/nope", {}), InvalidRequestError, "unknown role nope")
    await expect_error(
        env.write("roles/r3", {"token_type": "batch"}),
        InvalidRequestError,
        "'token_type' cannot be 'batch' when role is set to generate non-orphan tokens",
    )
    legacy = await env.write("roles/r4", {"period": "1h", "token_num_uses": 3})
    assert legacy is None
    r4 = await env.call(Operation.READ, "roles/r4")
    assert r4 is not None
    assert r4.data is not None
    assert (r4.data["period"], r4.data["token_period"], r4.data["token_num_uses"]) == (3600, 3600, 3)
    limited = await env.write("create/r4", {"num_uses": 5})
    assert limited is not None
    assert limited.auth is not None
    assert limited.auth.num_uses == 3
    listed = await env.call(Operation.LIST, "roles/")
    assert listed is not None
    assert listed.data == {"keys": ["r2", "r4", "r5"]}
    assert await env.call(Operation.DELETE, "roles/r4") is None
    assert await env.call(Operation.READ, "roles/r4") is None


async def test_tidy_and_special_paths(env: Env) -> None:
    response = await env.write("tidy")
    assert response is not None
    assert response.status == 202
    assert response.warnings[0].startswith("Tidy operation")
    special = env.harness.backend.special_paths
    assert special.root == ("revoke-orphan/*", "accessors*")
