"""More of the web UI's admin screens in a real headless Chromium: secrets engines enabled, tuned and
disabled; JWT login by pasting a JWT; leases renewed and revoked by prefix (and force); identity entities
and groups. Each action is checked through the API afterwards.

One browser and the session's dev server serve the module; each test opens its own tab and names what it
makes uniquely. Console errors, uncaught exceptions and CSP violations fail a test.
"""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import expect

from tests.jwks import claims, rsa_key
from tests.postgres import Postgres
from tests.servers import RunningServer
from tests.ui.browser import Watched
from tests.ui.test_browser import log_in, stored_token

ROOT = {"X-Vault-Token": "root"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def v1(server: RunningServer, path: str) -> httpx.Response:
    return httpx.get(f"{server.address}/v1/{path}", headers=ROOT)


def test_enable_tune_and_disable_a_secrets_engine(server: RunningServer, tab: Watched) -> None:
    page, path = tab.page, unique("team")
    log_in(page, server.address, server.root_token)
    page.get_by_role("link", name="Enable engine").click()
    expect(page.get_by_role("heading", name="Enable a secrets engine")).to_be_visible()
    page.get_by_label("Type").select_option("kv")
    page.get_by_label("KV version").select_option("1")
    page.get_by_label("Path").fill(path)
    page.get_by_label("Description").fill("team secrets")
    page.get_by_label("Default lease TTL").fill("1h")
    page.get_by_label("Max lease TTL").fill("3h")
    page.get_by_role("button", name="Enable engine").click()
    row = page.locator(f'tr[data-path="{path}/"]')
    expect(row).to_contain_text("kv (version 1)")
    expect(row).to_contain_text("team secrets")
    mount = v1(server, f"sys/mounts/{path}").json()["data"]
    assert (mount["type"], mount["options"], mount["description"]) == ("kv", {"version": "1"}, "team secrets")
    assert (mount["config"]["default_lease_ttl"], mount["config"]["max_lease_ttl"]) == (3600, 10800)
    # Another type hides the KV version; it is sent only for kv.
    page.get_by_role("link", name="Enable engine").click()
    page.get_by_label("Type").select_option("transit")
    expect(page.get_by_label("KV version")).to_be_hidden()
    page.get_by_label("Path").fill(f"{path}-transit")
    page.get_by_role("button", name="Enable engine").click()
    expect(page.locator(f'tr[data-path="{path}-transit/"]')).to_contain_text("transit")
    assert v1(server, f"sys/mounts/{path}-transit").json()["data"]["options"] in (None, {})

    row.get_by_role("link", name="Tune").click()
    expect(page.get_by_role("heading", name=f"Tune {path}/")).to_be_visible()
    expect(page.get_by_label("Max lease TTL")).to_have_value("3h")
    page.get_by_label("Default lease TTL").fill("30m")
    page.get_by_label("Description").fill("tuned")
    page.get_by_label("Listing visibility").select_option("unauth")
    page.get_by_label("Allowed response headers").fill("X-One, X-Two")
    page.get_by_label("Passthrough request headers").fill("X-Tenant")
    page.get_by_role("button", name="Save tuning").click()
    expect(page.get_by_text(f"Saved: {path}/ is tuned.")).to_be_visible()
    mount = v1(server, f"sys/mounts/{path}").json()["data"]
    assert (mount["description"], mount["config"]["default_lease_ttl"]) == ("tuned", 1800)
    assert mount["config"]["allowed_response_headers"] == ["X-One", "X-Two"]
    assert mount["config"]["passthrough_request_headers"] == ["X-Tenant"]
    assert mount["config"]["listing_visibility"] == "unauth"
    page.reload()
    expect(page.get_by_label("Allowed response headers")).to_have_value("X-One, X-Two")
    expect(page.get_by_label("Default lease TTL")).to_have_value("30m")
    tab.screenshot("engine-tune")

    page.get_by_role("link", name="Back").click()
    expect(page.locator('tr[data-path="cubbyhole/"]').get_by_role("button")).to_have_count(0)
    row.get_by_role("button", name=f"Disable {path}/").click()
    expect(page.get_by_role("dialog")).to_contain_text(f"at {path}/?")
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    assert v1(server, f"sys/mounts/{path}").status_code == 200
    row.get_by_role("button", name=f"Disable {path}/").click()
    page.get_by_role("dialog").get_by_role("button", name=f"Disable {path}/").click()
    expect(row).to_have_count(0)
    assert f"{path}/" not in v1(server, "sys/mounts").json()["data"]
    tab.assert_clean()


def test_engine_screens_for_a_token_that_may_not(server: RunningServer, tab: Watched) -> None:
    created = httpx.post(
        f"{server.address}/v1/auth/token/create", headers=ROOT, json={"policies": ["default"], "ttl": "10m"}
    )
    page = tab.page
    log_in(page, server.address, created.json()["auth"]["client_token"])
    page.goto(f"{server.address}/ui/#/engines/tune/secret")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    page.goto(f"{server.address}/ui/#/engines/enable")
    page.get_by_label("Path").fill(unique("nope"))
    page.get_by_role("button", name="Enable engine").click()
    expect(page.get_by_role("alert")).to_contain_text("permission denied")
    tab.assert_clean()


def test_log_in_by_pasting_a_jwt(server: RunningServer, tab: Watched) -> None:
    page, mount, issuer, key = tab.page, unique("jwt"), "https://issuer.example", rsa_key()
    httpx.post(f"{server.address}/v1/sys/auth/{mount}", headers=ROOT, json={"type": "jwt"}).raise_for_status()
    for path, body in (
        ("config", {"jwt_validation_pubkeys": [key.public_pem()], "bound_issuer": issuer}),
        (
            "role/app",
            {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["ui"], "token_policies": ["p"]},
        ),
    ):
        httpx.post(f"{server.address}/v1/auth/{mount}/{path}", headers=ROOT, json=body).raise_for_status()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(f"{server.address}/ui/")
    page.get_by_label("Method").select_option("jwt")
    expect(page.get_by_label("Token", exact=True)).to_be_hidden()
    page.get_by_label("JWT mount").fill(mount)
    page.get_by_label("JWT role").fill("app")
    page.get_by_label("JWT", exact=True).fill(key.sign(claims(issuer=issuer, aud="elsewhere")))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Login failed")
    assert stored_token(page) is None
    jwt = key.sign(claims(issuer=issuer, subject="dana", aud="ui"))
    page.get_by_label("JWT", exact=True).fill(jwt)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Secrets engines")).to_be_visible()
    token = stored_token(page)
    assert token not in (None, "root")
    looked_up = httpx.get(
        f"{server.address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": str(token)}
    )
    data = looked_up.json()["data"]
    assert (data["path"], data["meta"]["role"], data["policies"]) == (
        f"auth/{mount}/login",
        "app",
        ["default", "p"],
    )
    assert [u for u in urls if jwt in u or str(token) in u] == []
    tab.assert_clean()


def credentials(server: RunningServer, mount: str) -> tuple[str, str]:
    """A database credential's lease ID and user name."""
    answer = httpx.get(f"{server.address}/v1/{mount}/creds/app", headers=ROOT).json()
    return answer["lease_id"], answer["data"]["username"]


def test_renew_and_revoke_leases_by_prefix(server: RunningServer, postgres: Postgres, tab: Watched) -> None:
    page, mount = tab.page, unique("db")
    with server.client() as root:
        postgres.enable_database(root, mount, default_ttl="10m", max_ttl="3h")
    (first, first_user), (_, second_user) = credentials(server, mount), credentials(server, mount)
    prefix = f"{mount}/creds/app/"
    log_in(page, server.address, server.root_token)
    page.goto(f"{server.address}/ui/#/leases/{prefix}")
    expect(page.get_by_role("heading", name=f"Leases under {prefix}")).to_be_visible()
    row = page.locator(f'tr[data-lease="{first}"]')
    expect(row.locator("td").nth(1)).to_have_text(re.compile(r"^(9m\d+s|10m)$"))
    page.get_by_label("Renew increment").fill("1h")
    row.get_by_role("button", name=f"Renew {first.removeprefix(prefix)}").click()
    expect(row.locator("td").nth(1)).to_have_text(re.compile(r"^(59m\d+s|1h)$"))
    lookup = httpx.put(f"{server.address}/v1/sys/leases/lookup", headers=ROOT, json={"lease_id": first})
    assert lookup.json()["data"]["ttl"] > 3000
    expect(page.get_by_label("Renew increment")).to_have_value("1h")  # kept for the next renewal
    tab.screenshot("leases-renew")

    page.get_by_role("button", name="Revoke prefix").click()
    expect(page.get_by_role("dialog")).to_contain_text(f"every lease under {prefix}?")
    page.keyboard.press("Escape")
    assert postgres.role_exists(first_user)
    assert postgres.role_exists(second_user)
    page.get_by_role("button", name="Revoke prefix").click()
    page.get_by_role("dialog").get_by_role("button", name=f"Revoke all under {prefix}").click()
    expect(page.get_by_text("No leases here.")).to_be_visible()
    listing = httpx.get(f"{server.address}/v1/sys/leases/lookup/{prefix}?list=true", headers=ROOT)
    assert listing.status_code == 404
    assert not postgres.role_exists(first_user)
    assert not postgres.role_exists(second_user)

    # Forcing asks for the prefix typed out before its button works.
    third, third_user = credentials(server, mount)
    page.reload()
    page.get_by_role("button", name="Force revoke").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Force revoke")).to_be_disabled()
    dialog.get_by_label(f"Type {prefix} to confirm").fill(prefix[:-1])
    expect(dialog.get_by_role("button", name="Force revoke")).to_be_disabled()
    dialog.get_by_label(f"Type {prefix} to confirm").fill(prefix)
    dialog.get_by_role("button", name="Force revoke").click()
    expect(page.get_by_text("No leases here.")).to_be_visible()
    lookup = httpx.put(f"{server.address}/v1/sys/leases/lookup", headers=ROOT, json={"lease_id": third})
    assert lookup.status_code == 400
    assert not postgres.role_exists(third_user)
    tab.assert_clean()


def test_identity_entities_and_groups(server: RunningServer, tab: Watched) -> None:
    page, person, team, mount = tab.page, unique("ana"), unique("team"), unique("people")
    httpx.post(
        f"{server.address}/v1/sys/auth/{mount}", headers=ROOT, json={"type": "userpass"}
    ).raise_for_status()
    accessor = v1(server, "sys/auth").json()["data"][f"{mount}/"]["accessor"]
    log_in(page, server.address, server.root_token)
    page.get_by_role("link", name="Access").click()
    page.get_by_role("link", name="Entities").click()
    page.get_by_role("link", name="Create entity").click()
    page.get_by_label("Name").fill(person)
    page.get_by_label("Policies").fill("readers, writers")
    page.get_by_role("button", name="Create entity").click()
    expect(page.get_by_role("heading", name=f"Entity {person}")).to_be_visible()
    entity = v1(server, f"identity/entity/name/{person}").json()["data"]
    assert (entity["policies"], entity["disabled"]) == (["readers", "writers"], False)
    alias = {"name": "ana", "canonical_id": entity["id"], "mount_accessor": accessor}
    httpx.post(f"{server.address}/v1/identity/entity-alias", headers=ROOT, json=alias).raise_for_status()

    page.goto(f"{server.address}/ui/#/identity/group")
    page.get_by_role("link", name="Create group").click()
    page.get_by_label("Name").fill(team)
    page.get_by_label("Policies").fill("team-policy")
    page.get_by_label("Member entities").fill(f"{person}, nobody-{person}")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("alert")).to_have_text(f"No entity is named nobody-{person}.")
    assert v1(server, f"identity/group/name/{team}").status_code == 404
    page.get_by_label("Member entities").fill(person)
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name=f"Group {team}")).to_be_visible()
    group = v1(server, f"identity/group/name/{team}").json()["data"]
    assert (group["type"], group["policies"], group["member_entity_ids"]) == (
        "internal",
        ["team-policy"],
        [entity["id"]],
    )

    # The entity's page names its alias's mount and its group, by name.
    page.get_by_role("link", name=person).click()
    expect(page.get_by_role("heading", name=f"Entity {person}")).to_be_visible()
    expect(page.locator("table.aliases")).to_contain_text(f"auth/{mount}/")
    expect(page.locator(".facts")).to_contain_text(team)
    tab.screenshot("identity-entity")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Policies").fill("readers")
    page.get_by_label("Disabled").check()
    page.get_by_role("button", name="Save entity").click()
    expect(page.get_by_role("heading", name=f"Entity {person}")).to_be_visible()
    entity = v1(server, f"identity/entity/name/{person}").json()["data"]
    assert (entity["policies"], entity["disabled"]) == (["readers"], True)

    page.get_by_role("link", name=team).click()
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    assert v1(server, f"identity/group/name/{team}").status_code == 200
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete group").click()
    expect(page.get_by_role("heading", name="Groups")).to_be_visible()
    expect(page.get_by_role("link", name=team)).to_have_count(0)
    assert v1(server, f"identity/group/name/{team}").status_code == 404
    tab.assert_clean()


def test_identity_and_leases_for_a_token_that_may_not(server: RunningServer, tab: Watched) -> None:
    created = httpx.post(
        f"{server.address}/v1/auth/token/create", headers=ROOT, json={"policies": ["default"], "ttl": "10m"}
    )
    page = tab.page
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, server.address, created.json()["auth"]["client_token"])
    for route in ("#/identity/entity", "#/identity/group/show/anything", "#/leases/"):
        page.goto(f"{server.address}/ui/{route}")
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    tab.assert_clean()


def test_a_group_readable_but_not_listable_shows_its_members_by_id(
    server: RunningServer, tab: Watched
) -> None:
    team, policy = unique("crew"), unique("group-reader")
    rules = 'path "identity/group/name/*" { capabilities = ["read"] }'
    httpx.put(
        f"{server.address}/v1/sys/policies/acl/{policy}", headers=ROOT, json={"policy": rules}
    ).raise_for_status()
    made = httpx.post(f"{server.address}/v1/identity/entity", headers=ROOT, json={"name": unique("member")})
    member = made.json()["data"]["id"]
    group = {"name": team, "member_entity_ids": [member]}
    httpx.post(f"{server.address}/v1/identity/group", headers=ROOT, json=group).raise_for_status()
    created = httpx.post(
        f"{server.address}/v1/auth/token/create", headers=ROOT, json={"policies": [policy], "ttl": "10m"}
    )
    page = tab.page
    log_in(page, server.address, created.json()["auth"]["client_token"])
    page.goto(f"{server.address}/ui/#/identity/group/show/{team}")
    expect(page.get_by_role("heading", name=f"Group {team}")).to_be_visible()
    expect(page.locator(".facts code", has_text=member)).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete group").click()
    expect(page.get_by_role("alert")).to_contain_text("permission denied")
    assert v1(server, f"identity/group/name/{team}").status_code == 200
    tab.assert_clean()


def test_the_new_screens_fit_a_phone(server: RunningServer, tab: Watched) -> None:
    page = tab.page
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, server.address, server.root_token)
    screens = (
        ("#/secrets", "Secrets engines"),
        ("#/engines/enable", "Enable a secrets engine"),
        ("#/engines/tune/secret", "Tune secret/"),
        ("#/identity/entity/create", "Create entity"),
        ("#/identity/group/create", "Create group"),
    )
    for route, heading in screens:
        page.goto(f"{server.address}/ui/{route}")
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, route
    tab.assert_clean()


def test_enabling_an_engine_by_keyboard(server: RunningServer, tab: Watched) -> None:
    page, path = tab.page, unique("keys")
    log_in(page, server.address, server.root_token)
    page.goto(f"{server.address}/ui/#/engines/enable")
    expect(page.get_by_role("heading", name="Enable a secrets engine")).to_be_visible()
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "engine-type":
            break
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("ArrowDown")  # the next type: transit
    expect(page.get_by_label("Type")).to_have_value("transit")
    page.keyboard.press("Tab")  # the KV version is hidden for transit: Path is next
    expect(page.get_by_label("Path")).to_be_focused()
    page.keyboard.type(path)
    page.keyboard.press("Enter")
    expect(page.locator(f'tr[data-path="{path}/"]')).to_contain_text("transit")
    assert v1(server, f"sys/mounts/{path}").json()["data"]["type"] == "transit"
    tab.assert_clean()
