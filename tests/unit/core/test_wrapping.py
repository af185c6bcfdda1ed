"""core.wrapping: wrapping tokens, the wrapped body in the token's cubbyhole, single-use unwrap, rewrap,
lookup, expiry; the shared envelope; the built-in response-wrapping policy and its ACL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson
import pytest

from strongroom.barrier import BarrierView
from strongroom.core.wrapping import INVALID_TOKEN, Wrapping, wrapping_token_in
from strongroom.errors import InvalidRequestError, NotFoundError, PermissionDeniedError, RequestError
from strongroom.logical import Auth, InmemStorage, Operation, Request, Response, Storage
from strongroom.logical.envelope import envelope
from strongroom.policy import PolicyStore
from strongroom.tokens import TokenParams, TokenStore
from strongroom.util.clock import ManualClock


@dataclass
class Env:
    wrapping: Wrapping
    tokens: TokenStore
    cubbyhole: InmemStorage
    clock: ManualClock

    def view(self, token_hash: str) -> Storage:
        return BarrierView(self.cubbyhole, f"{token_hash}/")


@pytest.fixture
async def env() -> Env:
    clock = ManualClock()
    tokens = TokenStore(InmemStorage(), clock)
    await tokens.initialize()
    cubbyhole = InmemStorage()

    def view(token_hash: str) -> Storage:
        return BarrierView(cubbyhole, f"{token_hash}/")

    return Env(Wrapping(tokens, view), tokens, cubbyhole, clock)


def read(path: str = "secret/data/x", **changes: object) -> Request:
    base: dict[str, object] = {"operation": Operation.READ, "path": path, "id": "req-1", "wrap_ttl": 60}
    base.update(changes)
    return Request(**base)  # type: ignore[arg-type]


def errors_of(excinfo: pytest.ExceptionInfo[RequestError]) -> tuple[str, ...]:
    return excinfo.value.errors


async def test_wrap_creates_a_single_use_orphan_token_holding_only_the_wrapping_policy(env: Env) -> None:
    info = await env.wrapping.wrap('{"data":1}', ttl=90, creation_path="secret/data/x")
    entry = await env.tokens.lookup(info.token)
    assert entry is not None
    assert entry.policies == ("response-wrapping",)
    assert (entry.num_uses, entry.ttl, entry.explicit_max_ttl) == (1, 90, 90)
    assert (entry.orphan, entry.renewable, str(entry.type), entry.path) == (
        True, False, "service", "secret/data/x",
    )  # fmt: skip
    assert entry.accessor == info.accessor
    assert info.ttl == 90
    assert info.creation_time == "2023-11-14T22:13:20Z"
    stored = orjson.loads(await env.view(entry.id_hash).get("response") or b"")
    assert stored == {"response": '{"data":1}'}
    wrapinfo = orjson.loads(await env.view(entry.id_hash).get("wrapinfo") or b"")
    assert wrapinfo == {
        "creation_ttl": 90, "creation_time": "2023-11-14T22:13:20Z", "creation_path": "secret/data/x",
    }  # fmt: skip


async def test_wrap_info_json_names_the_wrapped_accessor_only_when_there_is_one(env: Env) -> None:
    plain = await env.wrapping.wrap("{}", ttl=5, creation_path="p")
    assert set(plain.to_json()) == {"token", "accessor", "ttl", "creation_time", "creation_path"}
    token = await env.wrapping.wrap("{}", ttl=5, creation_path="p", wrapped_accessor="acc")
    assert token.to_json()["wrapped_accessor"] == "acc"
    assert plain.token not in repr(plain)
    assert plain.accessor not in repr(plain)


async def test_wrap_response_stores_the_rendered_envelope_and_answers_only_wrap_info(env: Env) -> None:
    response = Response(data={"k": "v"}, warnings=("careful",))
    wrapped = await env.wrapping.wrap_response(read(), response)
    assert wrapped is not None
    assert wrapped.data is None
    assert wrapped.warnings == ()
    assert wrapped.wrap_info is not None
    assert wrapped.wrap_info["creation_path"] == "secret/data/x"
    assert wrapped.wrap_info["ttl"] == 60
    body = await env.wrapping.unwrap(wrapped.wrap_info["token"], third_party=True)
    assert orjson.loads(body) == envelope(response, "req-1")
    assert orjson.loads(body)["warnings"] == ["careful"]


async def test_a_wrapped_token_response_names_the_wrapped_accessor(env: Env) -> None:
    response = Response(auth=Auth(policies=("default",), client_token="s.x", accessor="wrapped-acc"))
    wrapped = await env.wrapping.wrap_response(
        read("auth/token/create", operation=Operation.UPDATE), response
    )
    assert wrapped is not None
    assert wrapped.wrap_info is not None
    assert wrapped.wrap_info["wrapped_accessor"] == "wrapped-acc"
    body = orjson.loads(await env.wrapping.unwrap(wrapped.wrap_info["token"], third_party=True))
    assert body["auth"]["client_token"] == "s.x"


@pytest.mark.parametrize(
    ("request_", "response"),
    [
        (read(wrap_ttl=0), Response(data={"k": "v"})),
        (read(operation=Operation.HELP), Response(data={"help": "x"})),
        (read(), None),
        (read(), Response()),
        (read(), Response(status=404, raw_body=b"")),
        (read(), Response(wrap_info={"token": "already"})),
    ],
    ids=["not-asked", "help", "no-response", "bare", "error-status", "already-wrapped"],
)
async def test_nothing_to_wrap_passes_the_response_on(
    env: Env, request_: Request, response: Response | None
) -> None:
    assert await env.wrapping.wrap_response(request_, response) is response
    assert await env.tokens.list_accessors() == []


async def test_empty_data_is_still_wrapped(env: Env) -> None:
    wrapped = await env.wrapping.wrap_response(read(), Response(data={}))
    assert wrapped is not None
    assert wrapped.wrap_info is not None
    body = orjson.loads(await env.wrapping.unwrap(wrapped.wrap_info["token"], third_party=True))
    assert body["data"] == {}


async def test_an_empty_listing_is_refused_rather_than_wrapped(env: Env) -> None:
    listing = read("cubbyhole/", operation=Operation.LIST)
    with pytest.raises(NotFoundError) as caught:
        await env.wrapping.wrap_response(listing, Response(data={}))
    assert errors_of(caught) == ("unsupported path",)
    wrapped = await env.wrapping.wrap_response(listing, Response(data={"keys": ["a"]}))
    assert wrapped is not None
    assert wrapped.wrap_info is not None


async def test_a_raw_json_body_is_wrapped_as_it_is(env: Env) -> None:
    wrapped = await env.wrapping.wrap_response(read(), Response(raw_body=b'{"raw":true}'))
    assert wrapped is not None
    assert wrapped.wrap_info is not None
    assert await env.wrapping.unwrap(wrapped.wrap_info["token"], third_party=True) == '{"raw":true}'


async def test_third_party_unwrap_is_single_use_and_revokes_the_token(env: Env) -> None:
    info = await env.wrapping.wrap('{"a":1}', ttl=60, creation_path="p")
    assert await env.wrapping.unwrap(info.token, third_party=True) == '{"a":1}'
    assert await env.tokens.lookup(info.token, include_pending=True) is None
    # The body left the cubbyhole (the core's revocation hook clears the rest along with the token).
    assert [key.rsplit("/", 1)[1] for key in env.cubbyhole.data] == ["wrapinfo"]
    with pytest.raises(InvalidRequestError) as caught:
        await env.wrapping.unwrap(info.token, third_party=True)
    assert errors_of(caught) == (INVALID_TOKEN,)


async def test_own_token_unwrap_reads_once_after_authentication_used_the_token(env: Env) -> None:
    info = await env.wrapping.wrap('{"a":1}', ttl=60, creation_path="p")
    used = await env.tokens.use(info.token)  # what the pipeline's authenticate stage does
    assert used is not None
    assert used.revocation_pending
    assert await env.wrapping.unwrap(info.token, third_party=False) == '{"a":1}'
    with pytest.raises(InvalidRequestError):
        await env.wrapping.unwrap(info.token, third_party=False)


async def test_concurrent_unwraps_hand_the_body_out_once(env: Env) -> None:
    info = await env.wrapping.wrap('{"a":1}', ttl=60, creation_path="p")
    results = await asyncio.gather(
        *(env.wrapping.unwrap(info.token, third_party=True) for _ in range(5)), return_exceptions=True
    )
    assert [r for r in results if not isinstance(r, BaseException)] == ['{"a":1}']
    assert all(isinstance(r, InvalidRequestError) for r in results if isinstance(r, BaseException))


async def test_lookup_does_not_use_the_token(env: Env) -> None:
    info = await env.wrapping.wrap("{}", ttl=120, creation_path="sys/wrapping/wrap")
    expected = {
        "creation_path": "sys/wrapping/wrap", "creation_time": "2023-11-14T22:13:20Z", "creation_ttl": 120,
    }  # fmt: skip
    assert await env.wrapping.lookup(info.token) == expected
    assert await env.wrapping.lookup(info.token) == expected
    assert await env.wrapping.unwrap(info.token, third_party=True) == "{}"
    with pytest.raises(InvalidRequestError):
        await env.wrapping.lookup(info.token)


async def test_tokens_that_are_not_wrapping_tokens_are_invalid(env: Env) -> None:
    token, _ = await env.tokens.create(TokenParams(policies=("default",), ttl=60))
    for attempt in (
        env.wrapping.lookup(token),
        env.wrapping.unwrap(token, third_party=True),
        env.wrapping.rewrap(token, third_party=True),
        env.wrapping.lookup("s.doesnotexist"),
    ):
        with pytest.raises(InvalidRequestError) as caught:
            await attempt
        assert errors_of(caught) == (INVALID_TOKEN,)


async def test_rewrap_moves_the_body_to_a_new_token_with_the_same_ttl_and_path(env: Env) -> None:
    old = await env.wrapping.wrap('{"a":1}', ttl=120, creation_path="sys/wrapping/wrap")
    env.clock.advance(30)
    new = await env.wrapping.rewrap(old.token, third_party=True)
    assert new.token != old.token
    assert (new.ttl, new.creation_path, new.creation_time) == (
        120,
        "sys/wrapping/wrap",
        "2023-11-14T22:13:50Z",
    )
    with pytest.raises(InvalidRequestError):
        await env.wrapping.lookup(old.token)
    assert await env.wrapping.unwrap(new.token, third_party=True) == '{"a":1}'


async def test_an_expired_wrapping_token_is_invalid(env: Env) -> None:
    info = await env.wrapping.wrap("{}", ttl=1, creation_path="p")
    env.clock.advance(1)
    with pytest.raises(InvalidRequestError):
        await env.wrapping.unwrap(info.token, third_party=True)


async def test_validate_checks_the_named_token(env: Env) -> None:
    info = await env.wrapping.wrap("{}", ttl=60, creation_path="p")
    unwrap = Request(operation=Operation.UPDATE, path="sys/wrapping/unwrap")
    await env.wrapping.validate(unwrap.evolve(client_token=info.token))
    await env.wrapping.validate(unwrap.evolve(client_token="root", data={"token": info.token}))
    with pytest.raises(InvalidRequestError) as caught:
        await env.wrapping.validate(unwrap.evolve(client_token="root"))
    assert errors_of(caught) == (INVALID_TOKEN,)


@pytest.mark.parametrize(
    ("data", "header", "message"),
    [
        ({}, "", "error validating wrapping token: token is empty"),
        ({"token": None}, "", "error validating wrapping token: token is empty"),
        ({"token": ""}, "x", "error validating wrapping token: empty token in request body"),
        ({"token": 5}, "x", "error validating wrapping token: could not decode token in request body"),
    ],
)
def test_missing_or_malformed_tokens_are_refused_as_vault_refuses_them(
    data: dict[str, object], header: str, message: str
) -> None:
    request = Request(operation=Operation.UPDATE, path="sys/wrapping/unwrap", data=data, client_token=header)
    with pytest.raises(PermissionDeniedError) as caught:
        wrapping_token_in(request)
    assert errors_of(caught) == (message,)


def test_the_body_token_is_a_third_partys_and_wins_over_the_header() -> None:
    request = Request(operation=Operation.UPDATE, path="p", data={"token": "body"}, client_token="header")
    assert wrapping_token_in(request) == ("body", True)
    assert wrapping_token_in(request.evolve(data={})) == ("header", False)


def test_a_wrapped_envelope_has_no_request_id() -> None:
    assert envelope(Response(wrap_info={"token": "t"}), "req")["request_id"] == ""
    assert envelope(Response(data={"a": 1}), "req")["request_id"] == "req"


async def test_the_response_wrapping_policy_is_built_in_unlisted_and_grants_exactly_vaults_paths() -> None:
    store = PolicyStore(InmemStorage(), clock=ManualClock())
    await store.ensure_default()
    policy = await store.get("response-wrapping")
    assert policy is not None
    assert 'path "cubbyhole/response"' in policy.raw
    assert await store.list() == ["default", "root"]
    acl = await store.acl(["response-wrapping"])
    assert acl.capabilities("cubbyhole/response") == ["create", "read"]
    assert acl.capabilities("sys/wrapping/unwrap") == ["update"]
    assert acl.capabilities("auth/token/revoke-self") == ["update"]
    for path in ("sys/wrapping/lookup", "sys/wrapping/rewrap", "cubbyhole/other", "secret/data/x"):
        assert acl.capabilities(path) == ["deny"]
    with pytest.raises(InvalidRequestError):
        await store.put("response-wrapping", 'path "*" { capabilities = ["read"] }')
    with pytest.raises(InvalidRequestError):
        await store.delete("response-wrapping")
