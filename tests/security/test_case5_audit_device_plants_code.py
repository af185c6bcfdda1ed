"""Issue 18, case 5 (the class of HCSEC-2025-14 / CVE-2025-54997 / CVE-2025-6000): a token allowed to
enable audit devices makes a file device write an executable shell script, `mode = "0755"` with a
`prefix` of `#!/bin/sh` and the attacker's lines, or append to a file the system or server runs.

Black-box over real HTTP, against strongroom and OpenBao side by side. Where strongroom is stricter than
OpenBao 2.x (a prefix with a line break even when prefixing is allowed, a file over the server's config,
an existing file that is not an audit log), the OpenBao run is a strict xfail: it records that OpenBao
accepts the request, and fails the day it does not.
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import RunningServer, bao_dev_server, strongroom_dev_server

API_REFUSED = (
    "cannot enable audit device via API; use declarative, config-based audit device management instead"
)
PREFIX_REFUSED = "audit log prefixing is not allowed"
SCRIPT_PREFIX = "#!/bin/sh\ntouch /tmp/planted-by-audit\n"
OPENBAO_LOOSER = pytest.mark.xfail(strict=True, reason="OpenBao 2.x accepts it")
BOTH = ["strongroom", "openbao"]
STRICTER = ["strongroom", pytest.param("openbao", marks=OPENBAO_LOOSER)]


def enable(server: RunningServer, name: str, options: dict[str, str]) -> httpx.Response:
    with server.client() as client:
        return client.put(f"/v1/sys/audit/{name}", json={"type": "file", "options": options})


def disable(server: RunningServer, name: str) -> None:
    with server.client() as client:
        client.delete(f"/v1/sys/audit/{name}").raise_for_status()


def devices(server: RunningServer) -> set[str]:
    with server.client() as client:
        return set(client.get("/v1/sys/audit").json()["data"])


def executable(path: Path) -> bool:
    return bool(stat.S_IMODE(path.stat().st_mode) & 0o111)


@pytest.fixture(params=BOTH)
def dev(request: pytest.FixtureRequest) -> RunningServer:
    """The session's plain dev server (no config) of either implementation."""
    return request.getfixturevalue("server" if request.param == "strongroom" else "bao")


def _start(kind: str, workdir: Path, config: str) -> Iterator[tuple[RunningServer, Path]]:
    start = strongroom_dev_server if kind == "strongroom" else bao_dev_server
    with start(workdir, config=config) as running:
        yield running, workdir


@pytest.fixture(scope="module", params=BOTH)
def unsafe(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, Path]]:
    """A dev server whose config allows API-created audit devices, but no prefix."""
    workdir = tmp_path_factory.mktemp(f"case5-{request.param}")
    yield from _start(request.param, workdir, "unsafe_allow_api_audit_creation = true\n")


@pytest.fixture(scope="module", params=STRICTER)
def prefixing(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, Path]]:
    """A dev server whose config allows API-created audit devices and prefixes."""
    workdir = tmp_path_factory.mktemp(f"case5-prefix-{request.param}")
    config = "unsafe_allow_api_audit_creation = true\nallow_audit_log_prefixing = true\n"
    yield from _start(request.param, workdir, config)


def test_a_dev_server_refuses_audit_devices_through_the_api(dev: RunningServer, tmp_path: Path) -> None:
    script = tmp_path / "planted.sh"
    answer = enable(dev, "planted", {"file_path": str(script), "mode": "0755", "prefix": SCRIPT_PREFIX})
    assert (answer.status_code, answer.json()) == (400, {"errors": [API_REFUSED]})
    assert not script.exists()
    assert "planted/" not in devices(dev)


def test_a_prefix_needs_allow_audit_log_prefixing(unsafe: tuple[RunningServer, Path], tmp_path: Path) -> None:
    server, _ = unsafe
    script = tmp_path / "planted.sh"
    answer = enable(server, "planted", {"file_path": str(script), "mode": "0755", "prefix": SCRIPT_PREFIX})
    assert (answer.status_code, answer.json()) == (400, {"errors": [PREFIX_REFUSED]})
    assert not script.exists()


def test_mode_0755_gives_a_log_without_execute_bits(
    unsafe: tuple[RunningServer, Path], tmp_path: Path
) -> None:
    server, _ = unsafe
    log = tmp_path / "audit.sh"
    assert enable(server, "exec", {"file_path": str(log), "mode": "0755"}).status_code == 204
    try:
        devices(server)  # one more request, so the log holds entries whatever the server writes first
        assert log.read_bytes().startswith(b'{"time"')
        assert not executable(log)
    finally:
        disable(server, "exec")


def test_a_prefix_never_starts_a_line_of_its_own(
    prefixing: tuple[RunningServer, Path], tmp_path: Path
) -> None:
    server, _ = prefixing
    script = tmp_path / "planted.sh"
    answer = enable(server, "planted", {"file_path": str(script), "prefix": SCRIPT_PREFIX})
    assert answer.status_code == 400, answer.text
    assert not script.exists()


def test_no_audit_file_over_the_servers_config(prefixing: tuple[RunningServer, Path]) -> None:
    server, workdir = prefixing
    config = workdir / "config" / "dev.hcl"
    before = config.read_text()
    answer = enable(server, "config", {"file_path": str(config)})
    assert answer.status_code == 400, answer.text
    assert config.read_text() == before


def test_no_audit_file_appended_to_a_file_that_is_not_an_audit_log(
    prefixing: tuple[RunningServer, Path], tmp_path: Path
) -> None:
    server, _ = prefixing
    notes = tmp_path / "notes.txt"
    notes.write_text("export PATH=/usr/bin\n")
    answer = enable(server, "notes", {"file_path": str(notes)})
    assert answer.status_code == 400, answer.text
    assert notes.read_text() == "export PATH=/usr/bin\n"


def test_no_dotfile_a_shell_or_ssh_would_read(prefixing: tuple[RunningServer, Path], tmp_path: Path) -> None:
    # With a prefix such as "ssh-ed25519 AAAA... " every audit line would be an authorized key.
    server, _ = prefixing
    keys = tmp_path / ".ssh" / "authorized_keys"
    keys.parent.mkdir()
    answer = enable(server, "ssh", {"file_path": str(keys), "prefix": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 "})
    assert answer.status_code == 400, answer.text
    assert not keys.exists()


# strongroom only: OpenBao has no location guard and, running as root here, would write into the virtualenv.
@pytest.mark.parametrize("prefixing", ["strongroom"], indirect=True)
def test_strongroom_writes_nothing_under_its_own_code(prefixing: tuple[RunningServer, Path]) -> None:
    server, _ = prefixing
    target = Path(sys.prefix) / "bin" / "planted"
    answer = enable(server, "venv", {"file_path": str(target)})
    assert answer.status_code == 400, answer.text
    assert "which holds code or configuration" in answer.json()["errors"][0]
    assert not target.exists()
