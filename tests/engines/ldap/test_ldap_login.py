"""The ldap auth method against a real slapd, over real HTTP to a strongroom dev server: config, local
groups and users, logins (constructed DN, search with a bind DN, StartTLS, ldaps, failover), lockout."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests.servers import RunningServer
from tests.slapd import ADMIN_DN, ADMIN_PASSWORD, GROUPS, PEOPLE, Slapd, password, running_slapd

BIND_FAILED = "ldap operation failed: failed to bind as user"


@pytest.fixture
def mount(root: httpx.Client) -> Iterator[str]:
    path = f"ldap-{uuid.uuid4().hex[:8]}"
    assert root.post(f"/v1/sys/auth/{path}", json={"type": "ldap"}).status_code == 204
    yield path
    root.delete(f"/v1/sys/auth/{path}")


def configure(root: httpx.Client, mount: str, slapd: Slapd, **extra: Any) -> None:
    body = {"url": slapd.url, "userdn": PEOPLE, "userattr": "uid", "groupdn": GROUPS, **extra}
    answer = root.post(f"/v1/auth/{mount}/config", json=body)
    assert answer.status_code in (200, 204), answer.text


def login(server: RunningServer, mount: str, user: str, secret: str | None = None) -> httpx.Response:
    with server.client(token="") as client:
        client.headers.pop("X-Vault-Token")
        return client.post(
            f"/v1/auth/{mount}/login/{user}", json={"password": password(user) if secret is None else secret}
        )


def test_config_defaults_and_no_secrets_in_read(root: httpx.Client, mount: str, slapd: Slapd) -> None:
    defaults = root.get(f"/v1/auth/{mount}/config").json()["data"]
    assert defaults["url"] == "ldap://127.0.0.1"
    assert (defaults["userattr"], defaults["groupattr"], defaults["deny_null_bind"]) == ("cn", "cn", True)
    assert (
        defaults["groupfilter"]
        == "(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))"
    )
    assert (defaults["tls_min_version"], defaults["request_timeout"], defaults["token_type"]) == (
        "tls12",
        90,
        "default",
    )
    configure(
        root, mount, slapd, binddn=ADMIN_DN, bindpass=ADMIN_PASSWORD, client_tls_cert="", token_ttl="1h"
    )
    data = root.get(f"/v1/auth/{mount}/config").json()["data"]
    assert "bindpass" not in data
    assert (data["request_timeout"], data["connection_timeout"], data["dereference_aliases"]) == (
        90,
        30,
        "never",
    )
    assert ADMIN_PASSWORD not in str(data)
    assert (data["binddn"], data["userattr"], data["token_ttl"], data["case_sensitive_names"]) == (
        ADMIN_DN,
        "uid",
        3600,
        False,
    )
    # A later write changes only what it names.
    configure(root, mount, slapd, starttls=True, certificate=slapd.ca)
    data = root.get(f"/v1/auth/{mount}/config").json()["data"]
    assert (data["binddn"], data["starttls"], data["token_ttl"]) == (ADMIN_DN, True, 3600)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"tls_min_version": "tls9"}, "invalid 'tls_min_version'"),
        (
            {"tls_min_version": "tls13"},
            "'tls_max_version' must be greater than or equal to 'tls_min_version'",
        ),
        ({"certificate": "not a pem"}, "failed to parse server tls cert"),
        ({"client_tls_cert": "x"}, "both client_tls_cert and client_tls_key must be set"),
        ({"groupfilter": "(member={{.UserDN)"}, "invalid groupfilter"),
        ({"token_type": "weird"}, "invalid 'token_type' value \"weird\""),
        ({"use_token_groups": True}, "use_token_groups"),
    ],
)
def test_config_refuses_bad_values(root: httpx.Client, mount: str, body: dict[str, Any], error: str) -> None:
    answer = root.post(f"/v1/auth/{mount}/config", json=body)
    assert answer.status_code == 400, answer.text
    assert error in answer.json()["errors"][0]


def test_login_with_constructed_dn_gets_directory_groups_policies(
    server: RunningServer, root: httpx.Client, mount: str, slapd: Slapd
) -> None:
    configure(root, mount, slapd, token_policies="base")
    for group, policy in (("devs", "dev"), ("OPS", "Ops-Pol"), ("legacy", "old")):
        assert root.post(f"/v1/auth/{mount}/groups/{group}", json={"policies": policy}).status_code == 204
    assert root.request("LIST", f"/v1/auth/{mount}/groups").json()["data"]["keys"] == [
        "devs",
        "legacy",
        "ops",
    ]
    assert root.get(f"/v1/auth/{mount}/groups/Ops").json()["data"] == {"policies": ["ops-pol"]}

    alice = login(server, mount, "alice").json()["auth"]
    assert alice["policies"] == ["base", "default", "dev", "ops-pol"]
    assert alice["metadata"] == {"username": "alice"}
    bob = login(server, mount, "Bob", password("bob")).json()["auth"]  # names fold to lower case by default
    assert bob["policies"] == ["base", "default", "dev", "old"]
    carol = login(server, mount, "carol").json()
    assert carol["auth"]["policies"] == ["base", "default"]
    assert carol["warnings"] == [
        f'no LDAP groups found in groupDN "{GROUPS}"; only policies from locally-defined groups available'
    ]
    with server.client(token=alice["client_token"]) as client:
        me = client.get("/v1/auth/token/lookup-self").json()["data"]
    assert (me["display_name"], me["meta"]) == (f"{mount}-alice", {"username": "alice"})


def test_wrong_password_and_unknown_user(
    server: RunningServer, root: httpx.Client, mount: str, slapd: Slapd
) -> None:
    configure(root, mount, slapd)
    for user, secret in (("alice", "nope"), ("nobody", "x"), ("alice", "bob-pw")):
        answer = login(server, mount, user, secret)
        assert (answer.status_code, answer.json()) == (400, {"errors": [BIND_FAILED]})
    assert login(server, mount, "%20", "x").status_code == 404
    empty = login(server, mount, "alice", "")
    assert empty.json()["errors"] == [
        "password cannot be of zero length when passwordless binds are being denied"
    ]


def test_local_users_add_groups_and_policies(
    server: RunningServer, root: httpx.Client, mount: str, slapd: Slapd
) -> None:
    configure(root, mount, slapd)
    root.post(f"/v1/auth/{mount}/groups/admins", json={"policies": "admin"})
    answer = root.post(
        f"/v1/auth/{mount}/users/Carol", json={"groups": " Admins ,x,admins", "policies": "own"}
    )
    assert answer.status_code == 204
    assert root.get(f"/v1/auth/{mount}/users/carol").json()["data"] == {
        "groups": "admins,x",
        "policies": ["own"],
    }
    assert root.request("LIST", f"/v1/auth/{mount}/users").json()["data"]["keys"] == ["carol"]
    auth = login(server, mount, "carol").json()["auth"]
    assert auth["policies"] == ["admin", "default", "own"]
    root.delete(f"/v1/auth/{mount}/users/carol")
    assert root.get(f"/v1/auth/{mount}/users/carol").status_code == 404
    assert login(server, mount, "carol").json()["auth"]["policies"] == ["default"]


def test_search_with_bind_dn_and_entity_alias(
    server: RunningServer, root: httpx.Client, mount: str, slapd: Slapd
) -> None:
    configure(root, mount, slapd, binddn=ADMIN_DN, bindpass=ADMIN_PASSWORD, userattr="mail",
              userfilter="(&(objectClass=inetOrgPerson)(uid={{.Username}}))")  # fmt: skip
    assert root.get(f"/v1/auth/{mount}/config").json()["warnings"]  # the filter ignores userattr
    answer = login(server, mount, "alice")
    assert answer.status_code == 200, answer.text
    assert login(server, mount, "alice", "wrong").json()["errors"] == [BIND_FAILED]
    alias = _alias_of(root, answer.json()["auth"])
    assert alias == "alice@example.org"  # the userattr ("mail") value of the entry the search found

    configure(root, mount, slapd, username_as_alias=True)
    assert _alias_of(root, login(server, mount, "bob").json()["auth"]) == "bob"


def _alias_of(root: httpx.Client, auth: dict[str, Any]) -> str:
    entity = root.get(f"/v1/identity/entity/id/{auth['entity_id']}").json()["data"]
    names: list[str] = [alias["name"] for alias in entity["aliases"]]
    assert len(names) == 1
    return names[0]


def test_starttls_ldaps_and_failover(
    server: RunningServer, root: httpx.Client, mount: str, slapd: Slapd
) -> None:
    configure(root, mount, slapd, starttls=True, certificate=slapd.ca)
    assert login(server, mount, "alice").status_code == 200
    configure(root, mount, slapd, url=slapd.ldaps_url, starttls=False)
    assert login(server, mount, "alice").status_code == 200
    # Without the CA, the server's certificate is refused; insecure_tls skips the check.
    configure(root, mount, slapd, url=slapd.ldaps_url, certificate="")
    refused = login(server, mount, "alice")
    assert refused.status_code == 400
    assert "error connecting to host" in refused.json()["errors"][0]
    configure(root, mount, slapd, url=slapd.ldaps_url, insecure_tls=True)
    assert login(server, mount, "alice").status_code == 200
    # The first URL does not answer: the next one is tried.
    configure(root, mount, slapd, url=f"ldap://127.0.0.1:1,{slapd.url}", insecure_tls=False)
    assert login(server, mount, "alice").status_code == 200


def test_user_lockout(server: RunningServer, root: httpx.Client, mount: str, slapd: Slapd) -> None:
    configure(root, mount, slapd)
    tune = {"user_lockout_config": {"lockout_threshold": "2", "lockout_duration": "10m"}}
    assert root.post(f"/v1/sys/auth/{mount}/tune", json=tune).status_code == 204
    for _ in range(2):
        assert login(server, mount, "bob", "wrong").json()["errors"] == [BIND_FAILED]
    locked = login(server, mount, "bob")
    assert (locked.status_code, locked.json()) == (403, {"errors": ["permission denied"]})
    accessor = root.get(f"/v1/sys/auth/{mount}").json()["data"]["accessor"]
    users = root.get("/v1/sys/locked-users", params={"mount_accessor": accessor}).json()["data"]
    assert users["by_namespace"][0]["mount_accessors"][0]["alias_identifiers"] == ["bob"]
    assert root.post(f"/v1/sys/locked-users/{accessor}/unlock/bob").status_code == 204
    assert login(server, mount, "bob").status_code == 200
    assert ADMIN_PASSWORD not in server.log.read_text()
    assert "bob-pw" not in server.log.read_text()


def test_acl_sees_the_folded_name(
    server: RunningServer, root: httpx.Client, mount: str, slapd: Slapd
) -> None:
    configure(root, mount, slapd)
    rules = f'path "auth/{mount}/users/*" {{ capabilities = ["update"] }}\n'
    rules += f'path "auth/{mount}/users/alice" {{ capabilities = ["deny"] }}\n'
    assert root.put(f"/v1/sys/policies/acl/{mount}-editor", json={"policy": rules}).status_code == 204
    token = root.post("/v1/auth/token/create", json={"policies": [f"{mount}-editor"]}).json()["auth"]
    with server.client(token=token["client_token"]) as editor:
        denied = editor.post(f"/v1/auth/{mount}/users/ALICE", json={"policies": "root"})
        assert denied.status_code == 403
        assert editor.post(f"/v1/auth/{mount}/users/Bob", json={"policies": "p"}).status_code == 204
    assert root.get(f"/v1/auth/{mount}/users/alice").status_code == 404
    assert root.get(f"/v1/auth/{mount}/users/BOB").json()["data"]["policies"] == ["p"]
    # With case-sensitive names nothing folds: "Bob" is another user than "bob".
    configure(root, mount, slapd, case_sensitive_names=True)
    assert root.post(f"/v1/auth/{mount}/users/Bob", json={"policies": "q"}).status_code == 204
    assert root.request("LIST", f"/v1/auth/{mount}/users").json()["data"]["keys"] == ["Bob", "bob"]


def test_discoverdn_anonymous_group_search_and_paging(
    server: RunningServer, root: httpx.Client, mount: str, slapd: Slapd
) -> None:
    root.post(f"/v1/auth/{mount}/groups/devs", json={"policies": "dev"})
    # No bind DN: the user's DN is found by an anonymous search (this slapd lets anyone read).
    configure(root, mount, slapd, discoverdn=True, userattr="cn", userfilter="(uid={{.Username}})")
    answer = login(server, mount, "alice")
    assert answer.json()["auth"]["policies"] == ["default", "dev"]
    assert _alias_of(root, answer.json()["auth"]) == "Alice"  # the cn of the entry found
    configure(root, mount, slapd, discoverdn=False, userattr="uid", userfilter="", binddn=ADMIN_DN,
              bindpass=ADMIN_PASSWORD, anonymous_group_search=True, max_page_size=1)  # fmt: skip
    assert login(server, mount, "bob").json()["auth"]["policies"] == ["default", "dev"]
    # A filter that matches more than one entry is no user at all.
    configure(root, mount, slapd, userfilter="(objectClass=inetOrgPerson)")
    assert login(server, mount, "bob").json()["errors"] == [BIND_FAILED]


def test_client_certificate(server: RunningServer, root: httpx.Client, mount: str) -> None:
    with running_slapd(require_client_cert=True) as strict:
        configure(root, mount, strict, url=strict.ldaps_url, certificate=strict.ca)
        refused = login(server, mount, "alice")
        assert "error connecting to host" in refused.json()["errors"][0]
        mismatched = {"client_tls_cert": strict.client_cert, "client_tls_key": _other_key()}
        answer = root.post(f"/v1/auth/{mount}/config", json=mismatched)
        assert answer.json()["errors"] == [
            "failed to parse client X509 key pair: tls: private key does not match public key"
        ]
        configure(root, mount, strict, client_tls_cert=strict.client_cert, client_tls_key=strict.client_key)
        assert login(server, mount, "alice").status_code == 200
        data = root.get(f"/v1/auth/{mount}/config").json()["data"]
        assert "client_tls_key" not in data
        assert "client_tls_cert" not in data  # as Vault's read, which shows neither


def test_silent_directory_times_out_as_an_error(
    server: RunningServer, root: httpx.Client, mount: str
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        body = {"url": url, "userdn": PEOPLE, "userattr": "uid", "request_timeout": "1s"}
        assert root.post(f"/v1/auth/{mount}/config", json=body).status_code == 204
        started = time.monotonic()
        answer = login(server, mount, "alice")
        assert answer.status_code == 400
        assert answer.json()["errors"] == [BIND_FAILED]
        assert time.monotonic() - started < 5


def _other_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _ldap_modify(slapd: Slapd, tool: str, ldif: str) -> None:
    subprocess.run(
        [tool, "-x", "-H", slapd.url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD],
        input=ldif, text=True, capture_output=True, check=True, timeout=30,
    )  # fmt: skip


def test_renewal_rechecks_directory_groups_with_the_service_account(
    server: RunningServer, root: httpx.Client, mount: str, slapd: Slapd
) -> None:
    configure(root, mount, slapd, binddn=ADMIN_DN, bindpass=ADMIN_PASSWORD, token_ttl="5m")
    root.post(f"/v1/auth/{mount}/groups/temp", json={"policies": "tmp"})
    token = login(server, mount, "carol").json()["auth"]["client_token"]
    with server.client(token=token) as carol:
        assert carol.post("/v1/auth/token/renew-self", json={}).json()["auth"]["lease_duration"] == 300
        _ldap_modify(slapd, "ldapadd", f"dn: cn=temp,{GROUPS}\nobjectClass: groupOfNames\ncn: temp\n"
                     f"member: uid=carol,{PEOPLE}\n")  # fmt: skip
        try:
            refused = carol.post("/v1/auth/token/renew-self", json={})
            assert refused.status_code == 400
            # Vault's words, wrapped by the token store as Vault wraps them.
            assert refused.json()["errors"] == [
                "1 error occurred:\n\t* failed to renew entry: policies have changed, not renewing\n\n"
            ]
        finally:
            _ldap_modify(slapd, "ldapdelete", f"cn=temp,{GROUPS}\n")
        assert carol.post("/v1/auth/token/renew-self", json={}).status_code == 200
