"""Differential test of AppRole: one script against strongroom and OpenBao, answers compared.

Runs on the session's dev servers, on an AppRole mount of its own ("approle-diff"), so listings under it hold
only what the script made. Role IDs, secret IDs, accessors, tokens and times are masked by the engine; every
difference we keep on purpose is in INTENDED with its reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.interop.differential import Answer, Intended, Step, assert_alike, run
from tests.servers import RunningServer

M = "auth/approle-diff"


def get(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "GET", f"/v1/{path}", **kw)


def post(name: str, path: str, body: Any = None, **kw: Any) -> Step:
    return Step(name, "POST", f"/v1/{path}", body={} if body is None else body, **kw)


def delete(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "DELETE", f"/v1/{path}", **kw)


def lst(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "LIST", f"/v1/{path}", **kw)


SETUP = [
    post("enable", "sys/auth/approle-diff", {"type": "approle"}),
    post(
        "policy", "sys/policies/acl/approle-diff", {"policy": 'path "secret/*" { capabilities = ["read"] }'}
    ),
]

ROLES = [
    lst("roles-empty", f"{M}/role"),
    post("role-create-defaults", f"{M}/role/web", {}),
    get("role-read-defaults", f"{M}/role/web"),
    get("role-read-missing", f"{M}/role/nope"),
    post(
        "role-create-full",
        f"{M}/role/Full",
        {
            "policies": "a,b",
            "period": "1h",
            "secret_id_num_uses": 3,
            "secret_id_ttl": "10m",
            "token_ttl": "5m",
            "token_max_ttl": "1h",
            "secret_id_bound_cidrs": "127.0.0.1/32,10.0.0.0/8",
            "token_bound_cidrs": ["127.0.0.1", "10.0.0.0/8"],
            "local_secret_ids": True,
            "token_type": "default-service",
        },
    ),
    get("role-read-full", f"{M}/role/full"),
    get("role-read-upper", f"{M}/role/FULL"),
    lst("roles-two", f"{M}/role"),
    post("role-local-ids-update", f"{M}/role/full", {"local_secret_ids": True}),
    post("role-no-constraint", f"{M}/role/free", {"bind_secret_id": False}),
    post("role-bad-cidr", f"{M}/role/free", {"bind_secret_id": False, "secret_id_bound_cidrs": "bogus"}),
    post("role-bare-address-cidr", f"{M}/role/free", {"secret_id_bound_cidrs": "127.0.0.1"}),
    post("role-negative-uses", f"{M}/role/web", {"secret_id_num_uses": -1}),
    post("role-period-too-long", f"{M}/role/web", {"period": "9999h"}),
    post("role-max-ttl-warning", f"{M}/role/web", {"token_max_ttl": "9999h"}),
    post("role-ttl-over-max", f"{M}/role/web", {"token_ttl": "2h", "token_max_ttl": "1h"}),
    post("role-bad-token-type", f"{M}/role/web", {"token_type": "bogus"}),
    post("role-unknown-field", f"{M}/role/web", {"bogus": 1, "token_max_ttl": 0}),
    post("role-both-policy-fields", f"{M}/role/web", {"token_policies": "x", "policies": "y"}),
    post("role-strict-ip", f"{M}/role/web", {"token_strictly_bind_ip": True}),
    get("role-read-after-updates", f"{M}/role/web"),
    post("role-bad-name", f"{M}/role/-bad", {}),
    post("role-custom-id", f"{M}/role/pinned", {"role_id": "pinned-role-id"}),
    post("role-custom-id-taken", f"{M}/role/other", {"role_id": "pinned-role-id"}),
    get("role-other-not-created", f"{M}/role/other"),
]

FIELDS = [
    get("field-policies", f"{M}/role/full/policies"),
    get("field-policies-missing-role", f"{M}/role/nope/policies"),
    post("field-policies-write-missing-role", f"{M}/role/nope/policies", {"token_policies": "a"}),
    post("field-policies-empty", f"{M}/role/full/policies", {}),
    post("field-policies-new", f"{M}/role/full/policies", {"token_policies": "p1"}),
    get("field-policies-after-new", f"{M}/role/full/policies"),
    post("field-policies-legacy", f"{M}/role/full/policies", {"policies": "p2"}),
    get("field-policies-after-legacy", f"{M}/role/full/policies"),
    delete("field-policies-delete", f"{M}/role/full/policies"),
    get("field-policies-after-delete", f"{M}/role/full/policies"),
    get("field-secret-id-num-uses", f"{M}/role/full/secret-id-num-uses"),
    post(
        "field-secret-id-num-uses-negative", f"{M}/role/full/secret-id-num-uses", {"secret_id_num_uses": -2}
    ),
    get("field-secret-id-ttl", f"{M}/role/full/secret-id-ttl"),
    get("field-token-ttl", f"{M}/role/full/token-ttl"),
    post("field-token-ttl-over-max", f"{M}/role/full/token-ttl", {"token_ttl": "2h"}),
    post("field-token-ttl-missing", f"{M}/role/full/token-ttl", {}),
    get("field-token-max-ttl", f"{M}/role/full/token-max-ttl"),
    post("field-token-max-ttl-under-ttl", f"{M}/role/full/token-max-ttl", {"token_max_ttl": "1m"}),
    get("field-token-num-uses", f"{M}/role/full/token-num-uses"),
    post("field-token-num-uses-negative", f"{M}/role/full/token-num-uses", {"token_num_uses": -2}),
    delete("field-token-num-uses-delete", f"{M}/role/full/token-num-uses"),
    get("field-local-secret-ids", f"{M}/role/full/local-secret-ids"),
    post("field-local-secret-ids-write", f"{M}/role/full/local-secret-ids", {}),
    get("field-secret-id-bound-cidrs", f"{M}/role/full/secret-id-bound-cidrs"),
    post(
        "field-secret-id-bound-cidrs-bad",
        f"{M}/role/full/secret-id-bound-cidrs",
        {"secret_id_bound_cidrs": "x"},
    ),
    get("field-token-bound-cidrs", f"{M}/role/full/token-bound-cidrs"),
    post("field-token-bound-cidrs-bad", f"{M}/role/full/token-bound-cidrs", {"token_bound_cidrs": "bogus"}),
    delete("field-token-bound-cidrs-delete", f"{M}/role/full/token-bound-cidrs"),
    get("field-token-bound-cidrs-after-delete", f"{M}/role/full/token-bound-cidrs"),
    delete("field-secret-id-bound-cidrs-delete", f"{M}/role/full/secret-id-bound-cidrs"),
    get("field-secret-id-bound-cidrs-after-delete", f"{M}/role/full/secret-id-bound-cidrs"),
    get("field-period", f"{M}/role/full/period"),
    post("field-period-token", f"{M}/role/full/period", {"token_period": "2m"}),
    get("field-period-after-token", f"{M}/role/full/period"),
    post("field-period-missing", f"{M}/role/full/period", {}),
    delete("field-period-delete", f"{M}/role/full/period"),
    delete("field-delete-missing-role", f"{M}/role/nope/token-ttl"),
    delete("field-role-id-delete", f"{M}/role/full/role-id"),
    post("field-role-id-empty", f"{M}/role/full/role-id", {}),
    post("field-role-id-set", f"{M}/role/full/role-id", {"role_id": "full-role-id"}),
    get("field-role-id-read", f"{M}/role/full/role-id"),
    delete("field-secret-id-ttl-delete", f"{M}/role/full/secret-id-ttl"),
    delete("field-token-ttl-delete", f"{M}/role/full/token-ttl"),
    delete("field-token-max-ttl-delete", f"{M}/role/full/token-max-ttl"),
    delete("field-secret-id-num-uses-delete", f"{M}/role/full/secret-id-num-uses"),
    get("role-read-after-field-deletes", f"{M}/role/full"),
]

SECRET_IDS = [
    post(
        "limited-role",
        f"{M}/role/limited",
        {
            "secret_id_num_uses": 2,
            "secret_id_ttl": "10m",
            "token_policies": "approle-diff",
            "token_ttl": "10m",
            "secret_id_bound_cidrs": "127.0.0.0/8",
        },
    ),
    get("limited-role-id", f"{M}/role/limited/role-id", save={"limited_id": "data.role_id"}),
    lst("secret-ids-empty", f"{M}/role/limited/secret-id"),
    lst("secret-ids-missing-role", f"{M}/role/nope/secret-id"),
    post("secret-id-missing-role", f"{M}/role/nope/secret-id", {}),
    post("secret-id-uses-over-role", f"{M}/role/limited/secret-id", {"num_uses": 3}),
    post("secret-id-uses-unlimited", f"{M}/role/limited/secret-id", {"num_uses": 0}),
    post("secret-id-uses-negative", f"{M}/role/limited/secret-id", {"num_uses": -1}),
    post("secret-id-ttl-over-role", f"{M}/role/limited/secret-id", {"ttl": "1h"}),
    post("secret-id-cidr-outside-role", f"{M}/role/limited/secret-id", {"cidr_list": "10.0.0.0/8"}),
    post("secret-id-cidr-bad", f"{M}/role/limited/secret-id", {"cidr_list": "bogus"}),
    post("secret-id-token-cidr-bad", f"{M}/role/limited/secret-id", {"token_bound_cidrs": "bogus"}),
    post("secret-id-metadata-bad", f"{M}/role/limited/secret-id", {"metadata": "notjson"}),
    post("secret-id-metadata-map", f"{M}/role/limited/secret-id", {"metadata": {"a": "b"}}),
    post("secret-id-metadata-empty-value", f"{M}/role/limited/secret-id", {"metadata": '{"x":""}'}),
    post(
        "secret-id-generate",
        f"{M}/role/limited/secret-id",
        {"cidr_list": "127.0.0.1/32", "token_bound_cidrs": "127.0.0.1/32", "metadata": '{"env":"prod"}'},
        save={"sid": "data.secret_id", "sacc": "data.secret_id_accessor"},
    ),
    lst("secret-ids-one", f"{M}/role/limited/secret-id"),
    post("secret-id-lookup", f"{M}/role/limited/secret-id/lookup", {"secret_id": "${sid}"}),
    post("secret-id-lookup-unknown", f"{M}/role/limited/secret-id/lookup", {"secret_id": "nope"}),
    post("secret-id-lookup-missing", f"{M}/role/limited/secret-id/lookup", {}),
    post("secret-id-lookup-missing-role", f"{M}/role/nope/secret-id/lookup", {"secret_id": "nope"}),
    get("secret-id-lookup-get", f"{M}/role/limited/secret-id/lookup"),
    post("accessor-lookup", f"{M}/role/limited/secret-id-accessor/lookup", {"secret_id_accessor": "${sacc}"}),
    post(
        "accessor-lookup-unknown", f"{M}/role/limited/secret-id-accessor/lookup", {"secret_id_accessor": "n"}
    ),
    post(
        "accessor-destroy-unknown",
        f"{M}/role/limited/secret-id-accessor/destroy",
        {"secret_id_accessor": "n"},
    ),
    post(
        "login-1",
        f"{M}/login",
        {"role_id": "${limited_id}", "secret_id": "${sid}"},
        token="",
        save={"tok": "auth.client_token"},
    ),
    get("login-token-lookup", "auth/token/lookup-self", token="${tok}"),
    post("secret-id-lookup-after-use", f"{M}/role/limited/secret-id/lookup", {"secret_id": "${sid}"}),
    post("login-2", f"{M}/login", {"role_id": "${limited_id}", "secret_id": "${sid}"}, token=""),
    post("secret-id-lookup-spent", f"{M}/role/limited/secret-id/lookup", {"secret_id": "${sid}"}),
    post("login-3-spent", f"{M}/login", {"role_id": "${limited_id}", "secret_id": "${sid}"}, token=""),
    post("login-bad-secret", f"{M}/login", {"role_id": "${limited_id}", "secret_id": "bad"}, token=""),
    post("login-bad-role", f"{M}/login", {"role_id": "bad", "secret_id": "bad"}, token=""),
    post("login-no-secret", f"{M}/login", {"role_id": "${limited_id}"}, token=""),
    post("login-nothing", f"{M}/login", {}, token=""),
    post("custom-secret-id", f"{M}/role/web/custom-secret-id", {"secret_id": "my-secret"}),
    post("custom-secret-id-again", f"{M}/role/web/custom-secret-id", {"secret_id": "my-secret"}),
    post("custom-secret-id-missing", f"{M}/role/web/custom-secret-id", {}),
    post("secret-id-destroy", f"{M}/role/web/secret-id/destroy", {"secret_id": "my-secret"}),
    post("secret-id-destroy-unknown", f"{M}/role/web/secret-id/destroy", {"secret_id": "zzz"}),
    delete("secret-id-destroy-delete-no-body", f"{M}/role/web/secret-id/destroy"),
    post("accessor-gen", f"{M}/role/web/secret-id", {}, save={"wacc": "data.secret_id_accessor"}),
    post(
        "accessor-lookup-other-role",
        f"{M}/role/limited/secret-id-accessor/lookup",
        {"secret_id_accessor": "${wacc}"},
    ),
    post("accessor-destroy", f"{M}/role/web/secret-id-accessor/destroy", {"secret_id_accessor": "${wacc}"}),
    post(
        "accessor-destroy-again",
        f"{M}/role/web/secret-id-accessor/destroy",
        {"secret_id_accessor": "${wacc}"},
    ),
    post("tidy", f"{M}/tidy/secret-id", {}),
    get("tidy-read", f"{M}/tidy/secret-id"),
]

CIDRS = [
    post("role-far", f"{M}/role/far", {"secret_id_bound_cidrs": "10.0.0.0/8"}),
    get("role-far-id", f"{M}/role/far/role-id", save={"far_id": "data.role_id"}),
    post("role-far-secret", f"{M}/role/far/secret-id", {}, save={"far_sid": "data.secret_id"}),
    post(
        "login-role-cidr-refused", f"{M}/login", {"role_id": "${far_id}", "secret_id": "${far_sid}"}, token=""
    ),
    post("role-near", f"{M}/role/near", {}),
    get("role-near-id", f"{M}/role/near/role-id", save={"near_id": "data.role_id"}),
    post(
        "near-secret-far-cidr",
        f"{M}/role/near/secret-id",
        {"cidr_list": "10.0.0.0/8"},
        save={"s1": "data.secret_id"},
    ),
    post(
        "login-secret-cidr-refused", f"{M}/login", {"role_id": "${near_id}", "secret_id": "${s1}"}, token=""
    ),
    post(
        "near-secret-far-cidr-limited",
        f"{M}/role/near/secret-id",
        {"cidr_list": "10.0.0.0/8", "num_uses": 5},
        save={"s2": "data.secret_id"},
    ),
    post(
        "login-secret-cidr-refused-limited",
        f"{M}/login",
        {"role_id": "${near_id}", "secret_id": "${s2}"},
        token="",
    ),
    post(
        "near-secret-far-token",
        f"{M}/role/near/secret-id",
        {"token_bound_cidrs": "10.0.0.0/8"},
        save={"s3": "data.secret_id"},
    ),
    post(
        "login-far-token",
        f"{M}/login",
        {"role_id": "${near_id}", "secret_id": "${s3}"},
        token="",
        save={"ft": "auth.client_token"},
    ),
    get("far-token-refused", "auth/token/lookup-self", token="${ft}"),
    post(
        "role-open",
        f"{M}/role/open",
        {"bind_secret_id": False, "secret_id_bound_cidrs": "127.0.0.1/32", "token_policies": "x"},
    ),
    get("role-open-id", f"{M}/role/open/role-id", save={"open_id": "data.role_id"}),
    post("login-open", f"{M}/login", {"role_id": "${open_id}"}, token="", save={"ot": "auth.client_token"}),
    get("login-open-lookup", "auth/token/lookup-self", token="${ot}"),
    post("open-secret-id-refused", f"{M}/role/open/secret-id", {}),
    post(
        "login-open-ignores-secret",
        f"{M}/login",
        {"role_id": "${open_id}", "secret_id": "whatever"},
        token="",
    ),
]

CLEANUP = [
    delete("role-delete", f"{M}/role/near"),
    delete("role-delete-again", f"{M}/role/near"),
    post("login-deleted-role", f"{M}/login", {"role_id": "${near_id}", "secret_id": "${s3}"}, token=""),
    lst("roles-final", f"{M}/role"),
    delete("disable", "sys/auth/approle-diff"),
]

STEPS: list[Step] = [*SETUP, *ROLES, *FIELDS, *SECRET_IDS, *CIDRS, *CLEANUP]

SERVER_FAULT = (
    "OpenBao answers this bad input with a 500 (an unclassified Go error, in multierror text); with us bad "
    "input is a 400 with the same message"
)
INTENDED: list[Intended] = [
    Intended(
        "login-nothing",
        "status",
        "OpenBao's alias lookahead refuses a missing role_id with a 500; it is a 400 with us",
    ),
    *(
        Intended(step, where, SERVER_FAULT)
        for step in (
            "role-no-constraint",
            "role-bad-cidr",
            "role-bare-address-cidr",
            "role-custom-id-taken",
            "secret-id-lookup-missing-role",
            "accessor-destroy-unknown",
            "custom-secret-id-again",
            "accessor-destroy-again",
            "secret-id-cidr-outside-role",
            "secret-id-cidr-bad",
            "secret-id-token-cidr-bad",
        )
        for where in ("status", "errors[0]")
    ),
    Intended(
        "field-token-num-uses-negative",
        "*",
        "OpenBao stores a negative token_num_uses through this field path; we refuse it, as its role path "
        "does",
    ),
]


@pytest.fixture(scope="module")
def answers(server: RunningServer, bao: RunningServer) -> tuple[list[Answer], list[Answer]]:
    return run(server, STEPS), run(bao, STEPS)


def test_script_is_broad_and_names_are_unique() -> None:
    names = [step.name for step in STEPS]
    assert len(names) >= 40
    assert len(set(names)) == len(names)


def test_approle_answers_as_openbao_does(answers: tuple[list[Answer], list[Answer]]) -> None:
    ours, theirs = answers
    assert_alike(STEPS, ours, theirs, INTENDED)
