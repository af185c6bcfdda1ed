"""Differential test: the same script of HTTP requests against strongroom and OpenBao, answers compared.

Both servers are started fresh for this module, so listings (mounts, policies, keys) hold only what the
script made. Every difference we keep on purpose is in INTENDED, with its reason; anything else fails the
test with a report naming the step and the JSON path where the answers part.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop.differential import Answer, Intended, Step, assert_alike, compare, run
from tests.servers import bao_dev_server, strongroom_dev_server

MERGE = {"Content-Type": "application/merge-patch+json"}


def get(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "GET", f"/v1/{path}", **kw)


def post(name: str, path: str, body: Any = None, **kw: Any) -> Step:
    return Step(name, "POST", f"/v1/{path}", body={} if body is None else body, **kw)


def put(name: str, path: str, body: Any = None, **kw: Any) -> Step:
    return Step(name, "PUT", f"/v1/{path}", body={} if body is None else body, **kw)


def delete(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "DELETE", f"/v1/{path}", **kw)


def lst(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "LIST", f"/v1/{path}", **kw)


def patch(name: str, path: str, body: Any, **kw: Any) -> Step:
    return Step(name, "PATCH", f"/v1/{path}", body=body, headers=kw.pop("headers", MERGE), **kw)


ACL_POLICY = """
path "secret/data/diff/acl/exact" {
  capabilities = ["read"]
}
path "secret/data/diff/acl/glob/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/data/diff/acl/glob/denied" {
  capabilities = ["deny"]
}
path "secret/data/diff/acl/+/plus" {
  capabilities = ["read"]
}
path "secret/metadata/diff/acl/*" {
  capabilities = ["list"]
}
path "diffkv1/params" {
  capabilities = ["create", "update"]
  allowed_parameters = {
    "color" = ["red", "blue"]
    "size" = []
  }
  denied_parameters = {
    "size" = ["huge"]
  }
}
path "diffkv1/required" {
  capabilities = ["create", "update"]
  required_parameters = ["owner"]
}
path "sys/capabilities-self" {
  capabilities = ["update"]
}
"""
JSON_POLICY = '{"path": {"secret/data/diff/json/*": {"capabilities": ["read", "list"]}}}'

SYSTEM = [
    get("health", "sys/health", token=""),
    Step("health-head", "HEAD", "/v1/sys/health", token=""),
    get("health-standbyok", "sys/health?standbyok=true", token=""),
    get("health-activecode", "sys/health?activecode=299", token=""),
    get("health-bad-code", "sys/health?activecode=abc", token=""),
    get("health-perfstandbyok", "sys/health?perfstandbyok=true&sealedcode=500", token=""),
    get("seal-status", "sys/seal-status", token=""),
    get("leader", "sys/leader", token=""),
    get("init", "sys/init", token=""),
    post("health-post", "sys/health"),
]

ERRORS = [
    get("bad-token", "secret/data/diff/x", token="not-a-token"),
    get("no-token", "secret/data/diff/x", token=""),
    get("bad-token-sys", "sys/mounts", token="s.AAAAAAAAAAAAAAAAAAAAAAAA"),
    get("unknown-route", "nothere/foo"),
    get("unknown-route-no-token", "nothere/foo", token=""),
    get("unsupported-op", "auth/token/create"),
    delete("unsupported-op-lookup-self", "auth/token/lookup-self"),
    post("malformed-json", "secret/data/diff/bad", b'{"data": {"a": '),
    post("json-array-body", "secret/data/diff/bad", b'["a"]'),
    patch("patch-no-content-type", "secret/data/diff/bad", {"data": {"a": 1}}, headers={}),
    patch(
        "patch-wrong-content-type",
        "secret/data/diff/bad",
        {"data": {"a": 1}},
        headers={"Content-Type": "application/json"},
    ),
    Step("dotdot-path", "GET", "/v1/secret/data/diff/../../sys/mounts", target="/v1/secret/data/diff/../x"),
    Step("dotdot-sys", "GET", "/v1/sys/../sys/mounts", target="/v1/sys/../sys/mounts"),
    get("help-query", "sys/mounts?help=1"),
    get("help-no-token", "sys/mounts?help=1", token=""),
    get("help-limited-token", "secret/data/diff/x?help=1", token="s.AAAAAAAAAAAAAAAAAAAAAAAA"),
    lst("list-unsupported", "secret/subkeys/diff/a"),
    lst("list-no-route", "sys/mounts"),
    lst("list-no-route-token", "auth/token/lookup-self"),
    get("sys-unknown-path", "sys/nope"),
    post("token-unknown-path", "auth/token/nope", {}),
    Step("method-unknown", "FETCH", "/v1/sys/mounts"),
    Step("not-v1", "GET", "/v2/sys/health"),
]

KV2 = [
    get("kv2-config-read", "secret/config"),
    post("kv2-config-write", "secret/config", {"max_versions": 5, "cas_required": False}),
    get("kv2-config-read-2", "secret/config"),
    post("kv2-config-dva", "secret/config", {"delete_version_after": "1h"}),
    get("kv2-config-read-3", "secret/config"),
    post("kv2-config-bad-dva", "secret/config", {"delete_version_after": "soon"}),
    post("kv2-config-reset", "secret/config", {"max_versions": 0, "delete_version_after": "0s"}),
    get("kv2-read-missing", "secret/data/diff/a"),
    post("kv2-write-1", "secret/data/diff/a", {"data": {"user": "u1", "nested": {"x": 1, "y": [1, 2]}}}),
    get("kv2-read-1", "secret/data/diff/a"),
    post("kv2-write-cas-ok", "secret/data/diff/a", {"data": {"user": "u2"}, "options": {"cas": 1}}),
    post("kv2-write-cas-stale", "secret/data/diff/a", {"data": {"user": "u3"}, "options": {"cas": 1}}),
    post("kv2-write-cas-zero", "secret/data/diff/a", {"data": {"user": "u3"}, "options": {"cas": 0}}),
    post("kv2-write-cas-new", "secret/data/diff/b", {"data": {"k": "v"}, "options": {"cas": 0}}),
    post("kv2-write-no-data", "secret/data/diff/c", {"options": {}}),
    post("kv2-write-data-not-map", "secret/data/diff/c", {"data": "string"}),
    put("kv2-write-3", "secret/data/diff/a", {"data": {"user": "u3", "extra": True}}),
    get("kv2-read-version-1", "secret/data/diff/a?version=1"),
    get("kv2-read-version-99", "secret/data/diff/a?version=99"),
    get("kv2-read-version-bad", "secret/data/diff/a?version=abc"),
    get("kv2-read-version-0", "secret/data/diff/a?version=0"),
    lst("kv2-list-data-path", "secret/data/diff/"),
    get("kv2-metadata-read", "secret/metadata/diff/a"),
    get("kv2-metadata-missing", "secret/metadata/diff/none"),
    post(
        "kv2-metadata-write",
        "secret/metadata/diff/a",
        {
            "max_versions": 2,
            "cas_required": True,
            "delete_version_after": "3h",
            "custom_metadata": {"owner": "team-a", "env": "prod"},
        },
    ),
    get("kv2-metadata-read-2", "secret/metadata/diff/a"),
    post("kv2-write-cas-required", "secret/data/diff/a", {"data": {"user": "u4"}}),
    post("kv2-write-cas-given", "secret/data/diff/a", {"data": {"user": "u4"}, "options": {"cas": 3}}),
    get("kv2-metadata-trimmed", "secret/metadata/diff/a"),
    get("kv2-read-trimmed-version", "secret/data/diff/a?version=1"),
    patch("kv2-metadata-patch", "secret/metadata/diff/a", {"custom_metadata": {"env": None, "tier": "1"}}),
    get("kv2-metadata-after-patch", "secret/metadata/diff/a"),
    post("kv2-metadata-bad-custom", "secret/metadata/diff/a", {"custom_metadata": {"k": 1}}),
    post("kv2-metadata-no-cas", "secret/metadata/diff/a", {"cas_required": False, "max_versions": 0}),
    patch("kv2-data-patch", "secret/data/diff/a", {"data": {"extra": None, "added": "yes"}}),
    get("kv2-read-after-patch", "secret/data/diff/a"),
    patch("kv2-data-patch-cas-bad", "secret/data/diff/a", {"data": {"z": 1}, "options": {"cas": 1}}),
    patch("kv2-data-patch-missing", "secret/data/diff/none", {"data": {"z": 1}}),
    delete("kv2-delete-latest", "secret/data/diff/a"),
    get("kv2-read-deleted", "secret/data/diff/a"),
    patch("kv2-data-patch-deleted", "secret/data/diff/a", {"data": {"z": 1}}),
    post("kv2-undelete", "secret/undelete/diff/a", {"versions": [5]}),
    get("kv2-read-undeleted", "secret/data/diff/a"),
    post("kv2-undelete-no-versions", "secret/undelete/diff/a", {}),
    post("kv2-delete-versions", "secret/delete/diff/a", {"versions": [4]}),
    get("kv2-read-v4-deleted", "secret/data/diff/a?version=4"),
    post("kv2-destroy", "secret/destroy/diff/a", {"versions": [4]}),
    get("kv2-read-v4-destroyed", "secret/data/diff/a?version=4"),
    post("kv2-destroy-no-versions", "secret/destroy/diff/a", {}),
    get("kv2-metadata-after-destroy", "secret/metadata/diff/a"),
    get("kv2-subkeys", "secret/subkeys/diff/b"),
    post("kv2-write-deep", "secret/data/diff/deep", {"data": {"a": {"b": {"c": 1}}, "d": 2}}),
    get("kv2-subkeys-deep", "secret/subkeys/diff/deep"),
    get("kv2-subkeys-depth", "secret/subkeys/diff/deep?depth=1"),
    get("kv2-subkeys-missing", "secret/subkeys/diff/none"),
    post("kv2-write-folder", "secret/data/diff/folder/inner", {"data": {"k": 1}}),
    lst("kv2-list", "secret/metadata/diff"),
    get("kv2-list-query", "secret/metadata/diff/?list=true"),
    lst("kv2-list-folder", "secret/metadata/diff/folder/"),
    lst("kv2-list-missing", "secret/metadata/nothing"),
    get("kv2-invalid-path", "secret/diff/a"),
    post("kv2-invalid-path-write", "secret/diff/a", {"k": "v"}),
    post("kv2-write-to-folder", "secret/data/diff/folder/", {"data": {"k": 1}}),
    delete("kv2-metadata-delete", "secret/metadata/diff/b"),
    get("kv2-read-after-metadata-delete", "secret/data/diff/b"),
    get("kv2-metadata-read-after-delete", "secret/metadata/diff/b"),
    delete("kv2-metadata-delete-missing", "secret/metadata/diff/none"),
]

MOUNTS = [
    post("mount-kv1", "sys/mounts/diffkv1", {"type": "kv", "description": "diff v1"}),
    post("mount-kv1-dup", "sys/mounts/diffkv1", {"type": "kv"}),
    post("mount-kv2", "sys/mounts/diffkv2", {"type": "kv-v2", "config": {"default_lease_ttl": "1h"}}),
    post("mount-kv-opt", "sys/mounts/diffkvopt", {"type": "kv", "options": {"version": "2"}}),
    post("mount-unknown-type", "sys/mounts/diffbad", {"type": "nope"}),
    post("mount-no-type", "sys/mounts/diffbad", {}),
    post("mount-under-sys", "sys/mounts/sys/x", {"type": "kv"}),
    post("mount-cubbyhole-type", "sys/mounts/diffcubby", {"type": "cubbyhole"}),
    post("mount-nested-conflict", "sys/mounts/diffkv1/inner", {"type": "kv"}),
    post("mount-bad-ttl", "sys/mounts/diffbad", {"type": "kv", "config": {"default_lease_ttl": "x"}}),
    get("mounts-list", "sys/mounts"),
    get("mount-read", "sys/mounts/diffkv2"),
    get("mount-read-missing", "sys/mounts/diffnone"),
    get("mount-tune-read", "sys/mounts/diffkv1/tune"),
    post("mount-tune", "sys/mounts/diffkv1/tune", {"default_lease_ttl": "1h", "max_lease_ttl": "2h"}),
    get("mount-tune-read-2", "sys/mounts/diffkv1/tune"),
    post("mount-tune-desc", "sys/mounts/diffkv1/tune", {"description": "tuned"}),
    post("mount-tune-bad-ttl", "sys/mounts/diffkv1/tune", {"default_lease_ttl": "forever"}),
    post("mount-tune-ttl-order", "sys/mounts/diffkv1/tune", {"default_lease_ttl": "3h"}),
    post("mount-tune-missing", "sys/mounts/diffnone/tune", {"default_lease_ttl": "1h"}),
    get("mount-tune-read-missing", "sys/mounts/diffnone/tune"),
    get("mount-read-tuned", "sys/mounts/diffkv1"),
    post("mount-tune-visibility", "sys/mounts/diffkv2/tune", {"listing_visibility": "unauth"}),
    post(
        "mount-tune-lists",
        "sys/mounts/diffkv2/tune",
        {
            "allowed_response_headers": "Link,Location",
            "passthrough_request_headers": ["X-Trace"],
            "audit_non_hmac_request_keys": "name",
            "audit_non_hmac_response_keys": "value",
        },
    ),
    get("mount-tune-read-lists", "sys/mounts/diffkv2/tune"),
    get("auth-list", "sys/auth"),
    get("auth-token-tune", "sys/auth/token/tune"),
    delete("unmount-missing", "sys/mounts/diffnone"),
    delete("unmount-cubbyhole", "sys/mounts/cubbyhole"),
    delete("unmount-kvopt", "sys/mounts/diffkvopt"),
    get("mount-read-unmounted", "sys/mounts/diffkvopt"),
]

KV1 = [
    post("kv1-write", "diffkv1/app", {"user": "u", "pass": "p", "n": 5}),
    get("kv1-read", "diffkv1/app"),
    post("kv1-write-ttl", "diffkv1/lease", {"v": 1, "ttl": "30m"}),
    get("kv1-read-ttl", "diffkv1/lease"),
    post("kv1-write-nested", "diffkv1/dir/x", {"v": 1}),
    lst("kv1-list", "diffkv1/"),
    lst("kv1-list-dir", "diffkv1/dir"),
    lst("kv1-list-missing", "diffkv1/nothing/"),
    get("kv1-read-missing", "diffkv1/none"),
    patch("kv1-patch", "diffkv1/app", {"user": "v"}),
    post("kv1-write-empty", "diffkv1/empty", {}),
    delete("kv1-delete", "diffkv1/app"),
    get("kv1-read-deleted", "diffkv1/app"),
    delete("kv1-delete-missing", "diffkv1/app"),
    post("kv2b-write", "diffkv2/data/x", {"data": {"a": "b"}}),
    get("kv2b-read", "diffkv2/data/x"),
    get("kv2b-config", "diffkv2/config"),
]

POLICIES = [
    get("policy-list-legacy", "sys/policy"),
    lst("policy-list-acl", "sys/policies/acl"),
    put("policy-write-hcl", "sys/policies/acl/diff-acl", {"policy": ACL_POLICY}),
    get("policy-read-acl", "sys/policies/acl/diff-acl"),
    put("policy-write-json", "sys/policy/diff-json", {"policy": JSON_POLICY}),
    get("policy-read-legacy", "sys/policy/diff-json"),
    put("policy-write-rules", "sys/policy/diff-rules", {"rules": 'path "x" { capabilities = ["read"] }'}),
    get("policy-read-rules", "sys/policies/acl/diff-rules"),
    get("policy-list-query", "sys/policies/acl?list=true"),
    get("policy-list-legacy-2", "sys/policy"),
    put("policy-write-bad-hcl", "sys/policies/acl/diff-bad", {"policy": 'path "x" { capabilities = '}),
    put(
        "policy-write-bad-cap", "sys/policies/acl/diff-bad", {"policy": 'path "x" { capabilities = ["fly"] }'}
    ),
    put("policy-write-empty", "sys/policies/acl/diff-bad", {"policy": ""}),
    put("policy-write-root", "sys/policies/acl/root", {"policy": 'path "x" { capabilities = ["read"] }'}),
    get("policy-read-missing", "sys/policies/acl/diff-none"),
    get("policy-read-missing-legacy", "sys/policy/diff-none"),
    get("policy-read-default", "sys/policies/acl/default"),
    get("policy-read-root", "sys/policies/acl/root"),
    delete("policy-delete-default", "sys/policies/acl/default"),
    delete("policy-delete-root", "sys/policy/root"),
    delete("policy-delete", "sys/policies/acl/diff-rules"),
    delete("policy-delete-missing", "sys/policies/acl/diff-rules"),
    put(
        "policy-write-upper",
        "sys/policies/acl/Diff-Upper",
        {"policy": 'path "x" { capabilities = ["read"] }'},
    ),
    get("policy-read-upper", "sys/policies/acl/diff-upper"),
    delete("policy-delete-upper", "sys/policies/acl/DIFF-UPPER"),
]

TOKENS = [
    get("token-lookup-self-root", "auth/token/lookup-self"),
    post(
        "token-create",
        "auth/token/create",
        {"policies": ["diff-acl"], "ttl": "1h", "meta": {"app": "web"}, "display_name": "Diff App"},
        save={"t1": "auth.client_token", "t1_acc": "auth.accessor"},
    ),
    get("token-lookup-self", "auth/token/lookup-self", token="${t1}"),
    post("token-lookup", "auth/token/lookup", {"token": "${t1}"}),
    get("token-lookup-get", "auth/token/lookup?token=${t1}"),
    post("token-lookup-accessor", "auth/token/lookup-accessor", {"accessor": "${t1_acc}"}),
    post("token-lookup-bad-accessor", "auth/token/lookup-accessor", {"accessor": "nope"}),
    post("token-lookup-bad", "auth/token/lookup", {"token": "s.nonexistentnonexistent12"}),
    post("token-lookup-empty", "auth/token/lookup", {}),
    post("token-renew", "auth/token/renew", {"token": "${t1}", "increment": "30m"}),
    post("token-renew-self", "auth/token/renew-self", {"increment": 600}, token="${t1}"),
    post("token-renew-accessor", "auth/token/renew-accessor", {"accessor": "${t1_acc}"}),
    post(
        "token-create-full",
        "auth/token/create",
        {
            "policies": ["default", "diff-json"],
            "ttl": "2h",
            "explicit_max_ttl": "3h",
            "num_uses": 5,
            "renewable": False,
            "no_parent": True,
            "display_name": "full",
        },
        save={"t2": "auth.client_token"},
    ),
    get("token-lookup-full", "auth/token/lookup-self", token="${t2}"),
    post("token-renew-not-renewable", "auth/token/renew-self", {}, token="${t2}"),
    post(
        "token-create-period",
        "auth/token/create",
        {"period": "24h", "policies": ["diff-acl"]},
        save={"t3": "auth.client_token"},
    ),
    get("token-lookup-period", "auth/token/lookup-self", token="${t3}"),
    post("token-renew-period", "auth/token/renew-self", {"increment": "1h"}, token="${t3}"),
    post(
        "token-create-no-default", "auth/token/create", {"policies": ["diff-acl"], "no_default_policy": True}
    ),
    post("token-create-bad-ttl", "auth/token/create", {"ttl": "forever"}),
    post("token-create-ttl-over-max", "auth/token/create", {"ttl": "2h", "explicit_max_ttl": "1h"}),
    post("token-create-root-only", "auth/token/create", {"policies": ["root"]}, token="${t3}"),
    post(
        "token-create-orphan",
        "auth/token/create-orphan",
        {"policies": ["diff-acl"], "ttl": "1h"},
        save={"orphan": "auth.client_token", "orphan_acc": "auth.accessor"},
    ),
    get("token-lookup-orphan", "auth/token/lookup-self", token="${orphan}"),
    post(
        "token-create-batch",
        "auth/token/create",
        {"type": "batch", "policies": ["diff-acl"], "ttl": "1h"},
        save={"batch": "auth.client_token"},
    ),
    get("token-lookup-batch", "auth/token/lookup-self", token="${batch}"),
    post("token-batch-renew", "auth/token/renew-self", {}, token="${batch}"),
    post("token-create-batch-periodic", "auth/token/create", {"type": "batch", "period": "1h"}),
    post("token-create-bad-type", "auth/token/create", {"type": "weird"}),
    post(
        "token-create-child",
        "auth/token/create",
        {"policies": ["diff-acl"]},
        token="${t3}",
        save={"child": "auth.client_token"},
    ),
    get("token-lookup-child", "auth/token/lookup-self", token="${child}"),
    post(
        "token-role-write",
        "auth/token/roles/diffrole",
        {
            "allowed_policies": ["diff-acl", "diff-json"],
            "orphan": True,
            "token_period": "2h",
            "renewable": True,
        },
    ),
    get("token-role-read", "auth/token/roles/diffrole"),
    lst("token-role-list", "auth/token/roles"),
    get("token-role-read-missing", "auth/token/roles/none"),
    post(
        "token-create-role",
        "auth/token/create/diffrole",
        {"policies": ["diff-json"]},
        save={"role_tok": "auth.client_token"},
    ),
    get("token-lookup-role", "auth/token/lookup-self", token="${role_tok}"),
    post("token-create-role-bad-policy", "auth/token/create/diffrole", {"policies": ["root"]}),
    post("token-create-role-missing", "auth/token/create/nope", {}),
    delete("token-role-delete", "auth/token/roles/diffrole"),
    lst("token-role-list-empty", "auth/token/roles"),
    post(
        "token-create-uses",
        "auth/token/create",
        {"num_uses": 2, "policies": ["diff-acl"]},
        save={"uses": "auth.client_token"},
    ),
    get("token-uses-1", "auth/token/lookup-self", token="${uses}"),
    get("token-uses-2", "auth/token/lookup-self", token="${uses}"),
    get("token-uses-3", "auth/token/lookup-self", token="${uses}"),
]

ACL = [
    get("acl-exact-missing", "secret/data/diff/acl/exact", token="${t1}"),
    post("acl-seed-exact", "secret/data/diff/acl/exact", {"data": {"v": 1}}),
    get("acl-exact-read", "secret/data/diff/acl/exact", token="${t1}"),
    post("acl-exact-write", "secret/data/diff/acl/exact", {"data": {"v": 2}}, token="${t1}"),
    post("acl-glob-create", "secret/data/diff/acl/glob/one", {"data": {"v": 1}}, token="${t1}"),
    get("acl-glob-read", "secret/data/diff/acl/glob/one", token="${t1}"),
    delete("acl-glob-delete", "secret/data/diff/acl/glob/one", token="${t1}"),
    post("acl-glob-denied", "secret/data/diff/acl/glob/denied", {"data": {"v": 1}}, token="${t1}"),
    post("acl-seed-plus", "secret/data/diff/acl/seg/plus", {"data": {"v": 1}}),
    get("acl-plus-read", "secret/data/diff/acl/seg/plus", token="${t1}"),
    get("acl-plus-too-deep", "secret/data/diff/acl/a/b/plus", token="${t1}"),
    lst("acl-list", "secret/metadata/diff/acl/", token="${t1}"),
    lst("acl-list-outside", "secret/metadata/diff/", token="${t1}"),
    post("acl-param-ok", "diffkv1/params", {"color": "red"}, token="${t1}"),
    post("acl-param-bad-value", "diffkv1/params", {"color": "green"}, token="${t1}"),
    post("acl-param-denied-value", "diffkv1/params", {"size": "huge"}, token="${t1}"),
    post("acl-param-size-ok", "diffkv1/params", {"size": "small", "color": "blue"}, token="${t1}"),
    post("acl-param-not-allowed", "diffkv1/params", {"shape": "round"}, token="${t1}"),
    post("acl-required-missing", "diffkv1/required", {"x": 1}, token="${t1}"),
    post("acl-required-given", "diffkv1/required", {"owner": "me"}, token="${t1}"),
    get("acl-sys-denied", "sys/mounts", token="${t1}"),
    get("acl-json-policy", "secret/data/diff/json/any", token="${t2}"),
    get("acl-default-lookup-self", "auth/token/lookup-self", token="${child}"),
    post("acl-create-token-no-sudo", "auth/token/create-orphan", {}, token="${t1}"),
]

CAPABILITIES = [
    post(
        "caps-self",
        "sys/capabilities-self",
        {
            "paths": [
                "secret/data/diff/acl/exact",
                "secret/data/diff/acl/glob/x",
                "secret/data/diff/acl/glob/denied",
                "secret/data/diff/acl/q/plus",
                "sys/mounts",
            ]
        },
        token="${t1}",
    ),
    post("caps-self-one", "sys/capabilities-self", {"path": "secret/data/diff/acl/exact"}, token="${t1}"),
    post("caps-token", "sys/capabilities", {"token": "${t1}", "paths": ["diffkv1/params", "cubbyhole/x"]}),
    post("caps-token-root", "sys/capabilities", {"token": "root", "path": "anything/at/all"}),
    post(
        "caps-accessor", "sys/capabilities-accessor", {"accessor": "${t1_acc}", "paths": ["diffkv1/required"]}
    ),
    post("caps-no-paths", "sys/capabilities-self", {}),
    post("caps-bad-accessor", "sys/capabilities-accessor", {"accessor": "nope", "paths": ["x"]}),
    post("caps-bad-token", "sys/capabilities", {"token": "s.nonexistentnonexistent12", "paths": ["x"]}),
    post("caps-self-no-policy", "sys/capabilities-self", {"paths": ["x"]}, token="${child}"),
]

UI_MOUNTS = [
    get("ui-mounts-root", "sys/internal/ui/mounts"),
    get("ui-mounts-anon", "sys/internal/ui/mounts", token=""),
    get("ui-mounts-limited", "sys/internal/ui/mounts", token="${t1}"),
    get("ui-mount-secret", "sys/internal/ui/mounts/secret"),
    get("ui-mount-deep", "sys/internal/ui/mounts/diffkv2/data/x"),
    get("ui-mount-limited", "sys/internal/ui/mounts/secret", token="${t1}"),
    get("ui-mount-limited-denied", "sys/internal/ui/mounts/diffkv2", token="${t1}"),
    get("ui-mount-missing", "sys/internal/ui/mounts/nomount"),
    get("ui-mount-anon", "sys/internal/ui/mounts/secret", token=""),
]

CUBBYHOLE = [
    post("cubby-root-write", "cubbyhole/diff", {"owner": "root"}),
    get("cubby-root-read", "cubbyhole/diff"),
    post("cubby-child-write", "cubbyhole/diff", {"owner": "child"}, token="${t1}"),
    get("cubby-child-read", "cubbyhole/diff", token="${t1}"),
    get("cubby-root-read-again", "cubbyhole/diff"),
    post("cubby-child-write-2", "cubbyhole/dir/x", {"v": 1}, token="${t1}"),
    lst("cubby-child-list", "cubbyhole/", token="${t1}"),
    lst("cubby-root-list", "cubbyhole/"),
    get("cubby-other-token", "cubbyhole/diff", token="${t3}"),
    get("cubby-batch", "cubbyhole/diff", token="${batch}"),
    post("cubby-write-empty", "cubbyhole/empty", {}),
    delete("cubby-child-delete", "cubbyhole/diff", token="${t1}"),
    get("cubby-child-read-deleted", "cubbyhole/diff", token="${t1}"),
    get("cubby-root-still", "cubbyhole/diff"),
]

REVOCATION = [
    post("revoke-accessor", "auth/token/revoke-accessor", {"accessor": "${orphan_acc}"}),
    get("revoked-accessor-use", "auth/token/lookup-self", token="${orphan}"),
    post("revoke-orphan", "auth/token/revoke-orphan", {"token": "${t3}"}),
    get("revoke-orphan-child-lives", "auth/token/lookup-self", token="${child}"),
    post("revoke-token", "auth/token/revoke", {"token": "${child}"}),
    get("revoked-token-use", "auth/token/lookup-self", token="${child}"),
    post("revoke-token-again", "auth/token/revoke", {"token": "${child}"}),
    post("revoke-self", "auth/token/revoke-self", {}, token="${t1}"),
    get("revoked-self-use", "cubbyhole/dir/x", token="${t1}"),
    post("revoked-lookup", "auth/token/lookup", {"token": "${child}"}),
    post("revoked-renew", "auth/token/renew", {"token": "${child}"}),
    post("revoked-accessor-lookup", "auth/token/lookup-accessor", {"accessor": "${orphan_acc}"}),
    post("revoke-bad-accessor", "auth/token/revoke-accessor", {"accessor": "nope"}),
    post("revoke-empty", "auth/token/revoke", {}),
]

CLEANUP = [
    delete("unmount-kv1", "sys/mounts/diffkv1"),
    get("kv1-after-unmount", "diffkv1/lease"),
    post("remount-kv1", "sys/mounts/diffkv1", {"type": "kv"}),
    get("kv1-after-remount", "diffkv1/lease"),
    get("mounts-list-final", "sys/mounts"),
]

STEPS: list[Step] = [
    *SYSTEM, *ERRORS, *KV2, *MOUNTS, *KV1, *POLICIES, *TOKENS, *ACL, *CAPABILITIES, *UI_MOUNTS,
    *CUBBYHOLE, *REVOCATION, *CLEANUP,
]  # fmt: skip

INTENDED: list[Intended] = [
    Intended(
        "seal-status", "commit_date", "OpenBao dates its build by git commit; ours is not built from one"
    ),
    Intended("malformed-json", "errors[0]", "JSON decoder wording: Go's encoding/json vs orjson (both 400)"),
    Intended(
        "json-array-body", "errors[0]", "JSON decoder wording: Go names its map type; we say what we want"
    ),
    Intended(
        "dotdot-*",
        "*",
        "Go's ServeMux redirects (307) a path holding '..' to the cleaned path; we refuse it "
        "(400) rather than resolve dot segments, so a request never reaches a path other than the one sent",
    ),
    Intended("help-query", "help", "help text comes from our own path declarations, worded differently"),
    Intended(
        "help-query", "openapi.*", "the OpenAPI document names our product and our own path declarations"
    ),
    Intended(
        "list-no-route",
        "*",
        "our sys/mounts list path also matches 'sys/mounts/', so a LIST (which adds the "
        "slash) meets a path that cannot list (405); OpenBao's regex has no slash and finds no path (404)",
    ),
    Intended(
        "policy-write-bad-hcl",
        "errors[0]",
        "our HCL reader words parse errors (and counts columns) "
        "differently from HashiCorp's; both are 400 'failed to parse policy: At line:col: ...'",
    ),
    Intended(
        "cubby-write-empty",
        "*",
        "OpenBao answers an empty cubbyhole write with a 500 (an unclassified "
        "error, in multierror text); bad input is a 400 with us",
    ),
]


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Answer], list[Answer]]]:
    with (
        strongroom_dev_server(tmp_path_factory.mktemp("diff-strongroom")) as ours,
        bao_dev_server(tmp_path_factory.mktemp("diff-bao")) as bao,
    ):
        yield run(ours, STEPS), run(bao, STEPS)


def test_compare_names_every_place_the_answers_part() -> None:
    step = Step("probe", "GET", "/v1/x")
    ours = Answer(
        200,
        {
            "data": {
                "a": 1,
                "ttl": 100,
                "request_id": "r1",
                "t": "2024-01-01T00:00:00Z",
                "d": "",
                "options": {"version": "1"},
                "version": "0.1.0",
            }
        },
    )
    theirs = Answer(
        404,
        {
            "data": {
                "b": 1,
                "ttl": 98,
                "request_id": "r2",
                "t": "2025-02-03T04:05:06.7Z",
                "d": "2025-01-01T00:00:00Z",
                "options": {"version": "2"},
                "version": "2.7.2",
            }
        },
    )
    found = compare([step], [ours], [theirs])
    assert [(m.where, m.ours, m.theirs) for m in found] == [
        ("status", 200, 404),
        ("data.a", 1, "<absent>"),
        ("data.b", "<absent>", 1),
        ("data.d", "", "<time>"),
        ("data.options.version", "1", "2"),
    ]
    assert Intended("pro*", "data.[ab]", "why").covers(found[1]) is False
    assert Intended("pro*", "data.a", "why").covers(found[1]) is True


def test_script_is_broad_and_names_are_unique() -> None:
    names = [step.name for step in STEPS]
    assert len(names) >= 150
    assert len(set(names)) == len(names)


def test_strongroom_answers_as_openbao_does(answers: tuple[list[Answer], list[Answer]]) -> None:
    ours, theirs = answers
    assert_alike(STEPS, ours, theirs, INTENDED)
