"""`strongroom login -method=oidc` (and `bao login -method=oidc`) against strongroom, end to end: the CLI
runs as a subprocess with skip_browser=true, the test reads the URL it prints and plays the browser
(strongroom's own OIDC provider authorizes the user; the redirect goes to the CLI's local listener), and
the CLI completes the login and stores the token.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.api.test_oidc_login_http import CALLBACK, Provider, play_browser, setup_oidc_mount, setup_provider
from tests.servers import RunningServer, bao_binary, free_port

_URL = re.compile(r"^\s+(http\S+/authorize\?\S+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def provider(server: RunningServer) -> tuple[str, Provider]:
    name = f"c{uuid.uuid4().hex[:8]}"
    with server.client() as root:
        idp = setup_provider(root, server.address, name, [CALLBACK])
        setup_oidc_mount(root, f"oidc-{name}", idp, name)
    return name, idp


def _environment(server: RunningServer, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    return env | {
        "STRONGROOM_ADDR": server.address,
        "BAO_ADDR": server.address,
        "HOME": str(home),
        "BROWSER": "false",
    }


def _printed_url(process: subprocess.Popen[str]) -> str:
    """The authorization URL the CLI prints on stderr (read until it appears)."""
    assert process.stderr is not None
    seen = ""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen += line
        found = _URL.search(seen)
        if found:
            return found.group(1)
    process.kill()
    raise AssertionError(f"no authorization URL printed: {seen!r}")


# The browser's last step: given the authorization URL's query and what the provider granted, bring the
# answer back where the login expects it.
Return = Callable[[dict[str, str], dict[str, str]], None]


def _cli_login(command: list[str], server: RunningServer, home: Path, idp: Provider, back: Return) -> str:
    """Run the CLI login, play the browser (ending with `back`), and return the CLI's stdout once it exits."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(server, home),
    )
    try:
        auth_url = _printed_url(process)
        query = {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}
        back(query, play_browser(server.address, auth_url, idp.user_token))
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    return stdout


def _to_listener(*, page: bool = True, form_post: bool = False) -> Return:
    """The provider's redirect (or form post) to the CLI's listener. With `page` false, the listener's page
    may be cut short (bao's CLI exits while it is still writing it)."""

    def back(query: dict[str, str], granted: dict[str, str]) -> None:
        answer = {"code": granted["code"], "state": granted["state"]}
        try:
            if form_post:
                reply = httpx.post(query["redirect_uri"], data=answer, timeout=10)
            else:
                reply = httpx.get(query["redirect_uri"], params=answer, timeout=10)
        except httpx.RemoteProtocolError:
            assert not page
        else:
            assert reply.status_code == 200
            assert "Signed in via your OIDC provider" in reply.text

    return back


def test_strongroom_login_method_oidc(
    server: RunningServer, provider: tuple[str, Provider], tmp_path: Path
) -> None:
    name, idp = provider
    port = str(free_port())
    command = [sys.executable, "-m", "strongroom", "login", "-method=oidc", f"-path=oidc-{name}"]
    login = [*command, "role=person", f"port={port}", "skip_browser=true"]
    stdout = _cli_login(login, server, tmp_path, idp, _to_listener())
    assert "Success! You are now authenticated." in stdout
    assert "token_policies" in stdout
    lookup = subprocess.run(
        [sys.executable, "-m", "strongroom", "token", "lookup", "-format=json"],
        capture_output=True,
        text=True,
        env=_environment(server, tmp_path),
        timeout=30,
        check=True,
    )
    assert f'"identity_policies": [\n      "oidc-{name}-eng"\n    ]' in lookup.stdout
    assert '"meta": {\n      "nickname": "olly",\n      "role": "person"\n    }' in lookup.stdout


def test_bao_login_method_oidc_against_strongroom(
    server: RunningServer, provider: tuple[str, Provider], tmp_path: Path
) -> None:
    name, idp = provider
    port = str(free_port())
    command = [bao_binary(), "login", "-method=oidc", f"-path=oidc-{name}", "-format=json"]
    login = [*command, "role=person", f"port={port}", "skip_browser=true"]
    # bao's CLI may exit while its page is still being written.
    stdout = _cli_login(login, server, tmp_path, idp, _to_listener(page=False))
    assert f'"oidc-{name}-eng"' in stdout
    assert (tmp_path / ".vault-token").read_text().startswith("s.")


def test_an_unknown_redirect_is_refused_before_listening(
    server: RunningServer, provider: tuple[str, Provider], tmp_path: Path
) -> None:
    name, _ = provider
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "strongroom",
            "login",
            "-method=oidc",
            f"-path=oidc-{name}",
            "role=person",
            "callbackhost=evil.example",
            "skip_browser=true",
        ],
        capture_output=True,
        text=True,
        env=_environment(server, tmp_path),
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        'Error authenticating: Unable to authorize role "person" with redirect_uri '
        '"http://evil.example:8250/oidc/callback". Check the server logs for more information.'
    )


@pytest.fixture(scope="module")
def direct(server: RunningServer) -> tuple[str, Provider]:
    """An oidc mount whose role uses callback_mode=direct (the browser comes back to the server)."""
    name = f"d{uuid.uuid4().hex[:8]}"
    server_callback = f"{server.address}/v1/auth/oidc-{name}/oidc/callback"
    with server.client() as root:
        idp = setup_provider(root, server.address, name, [server_callback])
        role = {"callback_mode": "direct", "allowed_redirect_uris": [server_callback], "poll_interval": 1}
        setup_oidc_mount(root, f"oidc-{name}", idp, name, **role)
    return name, idp


@pytest.mark.parametrize("cli", ["strongroom", "bao"])
def test_login_method_oidc_in_direct_mode(
    server: RunningServer, direct: tuple[str, Provider], tmp_path: Path, cli: str
) -> None:
    name, idp = direct
    program = [sys.executable, "-m", "strongroom"] if cli == "strongroom" else [bao_binary()]
    command = [*program, "login", "-method=oidc", f"-path=oidc-{name}", "-format=json"]
    callback = f"{server.address}/v1/auth/oidc-{name}/oidc/callback"

    def confirm(query: dict[str, str], granted: dict[str, str]) -> None:
        # The browser arrives at the server, which asks the user to confirm; the user does.
        assert query["redirect_uri"] == callback
        params = {"code": granted["code"], "state": granted["state"]}
        asked = httpx.get(callback, params=params, timeout=10)
        assert "Sign in confirmation required" in asked.text
        confirmed = httpx.get(callback, params={**params, "confirmation": "1"}, timeout=10)
        assert confirmed.status_code == 200

    login = [*command, "role=person", "callbackmode=direct", "skip_browser=true"]
    stdout = _cli_login(login, server, tmp_path, idp, confirm)
    assert f'"oidc-{name}-eng"' in stdout


@pytest.mark.parametrize("cli", ["strongroom", "bao"])
def test_login_method_oidc_with_form_post(server: RunningServer, tmp_path: Path, cli: str) -> None:
    name = f"f{uuid.uuid4().hex[:8]}"
    mount = f"oidc-{name}"
    with server.client() as root:
        idp = setup_provider(root, server.address, name, [CALLBACK])
        setup_oidc_mount(root, mount, idp, name)
        config = {
            "oidc_discovery_url": idp.issuer,
            "oidc_client_id": idp.client_id,
            "oidc_client_secret": idp.client_secret,
            "oidc_response_mode": "form_post",
        }
        root.post(f"/v1/auth/{mount}/config", json=config).raise_for_status()
    port = str(free_port())
    program = [sys.executable, "-m", "strongroom"] if cli == "strongroom" else [bao_binary()]
    command = [*program, "login", "-method=oidc", f"-path={mount}", "-format=json"]
    login = [*command, "role=person", f"port={port}", "skip_browser=true"]
    # bao's CLI may exit while its page is still being written.
    back = _to_listener(page=cli == "strongroom", form_post=True)
    stdout = _cli_login(login, server, tmp_path, idp, back)
    assert f'"oidc-{name}-eng"' in stdout
