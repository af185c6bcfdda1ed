"""Advisories about audit devices: what they may write, where, and what the log may hold.

HCSEC-2025-14 / CVE-2025-6000, CVE-2025-54997 (OpenBao 2.3.2 GH-1634, 2.4.0 GH-1651): a token allowed
`sys/audit` made a file device write an executable script (`prefix = "#!/bin/sh ..."`, `mode = "0755"`)
wherever the server could write, and so ran code on the host. OpenBao refuses API-created devices unless
`unsafe_allow_api_audit_creation`, a prefix unless `allow_audit_log_prefixing`, and strips execute bits.
HCSEC-2026-16 / CVE-2026-5051: the legacy `path` option skipped the location guard that `file_path` had.
HCSEC-2024-18 / CVE-2024-8365: client tokens and accessors reached the audit log in plain text.
HCSEC-2024-01 / CVE-2024-0831: one device with `log_raw` made the other devices log raw values too.
GHSA-ghfh-fmx4-26h8 / CVE-2025-62513 (OpenBao 2.4.3): a response given as a raw HTTP body was logged
without HMAC.

The servers here are started from config files declaring two file devices (one plain, one `log_raw`), with
API-created devices allowed, so each test reaches the check its advisory is about: strongroom in production
mode on SQLite, OpenBao in dev mode with `-config`.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.security.advisories import BOTH, enable_secrets, ok, target, token_with, write_policy
from tests.servers import (
    RunningServer,
    bao_dev_server,
    free_port,
    sqlite_config,
    strongroom_config_server,
)


@dataclass(frozen=True)
class Audited:
    """A server with declared audit devices `plain` and `raw` writing to `plain_log` and `raw_log`."""

    server: RunningServer
    plain_log: Path
    raw_log: Path
    workdir: Path
    forbidden: Path
    """A file no audit device may write: the server's own config file (strongroom only)."""


def _devices(workdir: Path) -> str:
    return (
        f'audit "file" "plain" {{\n  options {{\n    file_path = "{workdir / "plain.log"}"\n  }}\n}}\n'
        f'audit "file" "raw" {{\n  options {{\n    file_path = "{workdir / "raw.log"}"\n'
        '    log_raw = "true"\n  }\n}\n'
        "unsafe_allow_api_audit_creation = true\n"
    )


@pytest.fixture(scope="module")
def audited_strongroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audited]:
    workdir = tmp_path_factory.mktemp("audited-strongroom")
    port = free_port()
    with strongroom_config_server(workdir, sqlite_config(workdir, port, _devices(workdir)), port) as running:
        keys = ok(
            httpx.put(f"{running.address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1})
        )
        ok(httpx.put(f"{running.address}/v1/sys/unseal", json={"key": keys.json()["keys_base64"][0]}))
        root_token = keys.json()["root_token"]
        with httpx.Client(base_url=running.address, headers={"X-Vault-Token": root_token}) as root:
            ok(root.post("/v1/sys/mounts/secret", json={"type": "kv", "options": {"version": "2"}}))
        server = RunningServer(running.address, root_token, running.process, running.log)
        yield Audited(server, workdir / "plain.log", workdir / "raw.log", workdir, running.config)


@pytest.fixture(scope="module")
def audited_bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audited]:
    workdir = tmp_path_factory.mktemp("audited-bao")
    config = workdir / "extra.hcl"
    config.write_text(_devices(workdir))
    with bao_dev_server(workdir, f"-config={config}") as running:
        yield Audited(running, workdir / "plain.log", workdir / "raw.log", workdir, config)


def _audited(request: pytest.FixtureRequest, which: str) -> Audited:
    return request.getfixturevalue(  # type: ignore[no-any-return]
        "audited_strongroom" if which == "strongroom" else "audited_bao"
    )


def _removed_after(request: pytest.FixtureRequest, running: RunningServer) -> str:
    """A fresh device name, disabled after the test should a vulnerable server have enabled it (the dev
    servers are shared by the session, and a device whose file goes away fails every request)."""
    device = uuid.uuid4().hex[:8]
    request.addfinalizer(
        lambda: httpx.delete(
            f"{running.address}/v1/sys/audit/{device}", headers={"X-Vault-Token": running.root_token}
        )
    )
    return device


@BOTH
def test_hcsec_2025_14_cve_2025_6000_dev_server_refuses_api_audit_devices(
    request: pytest.FixtureRequest, which: str, tmp_path: Path
) -> None:
    running = target(request, which)
    script = tmp_path / f"{which}.sh"
    device = _removed_after(request, running)
    with running.client() as root:
        answer = root.put(f"/v1/sys/audit/{device}", json={
            "type": "file",
            "options": {"file_path": str(script), "mode": "0755", "prefix": "#!/bin/sh\nid\n"},
        })  # fmt: skip
    assert answer.status_code == 400, answer.text
    assert not script.exists()


@BOTH
def test_hcsec_2025_14_cve_2025_54997_prefix_needs_allow_audit_log_prefixing(
    request: pytest.FixtureRequest, which: str
) -> None:
    audited = _audited(request, which)
    script = audited.workdir / f"prefixed-{uuid.uuid4().hex[:8]}.sh"
    with audited.server.client() as root:
        answer = root.put(f"/v1/sys/audit/{uuid.uuid4().hex[:8]}", json={
            "type": "file", "options": {"file_path": str(script), "prefix": "#!/bin/sh\nid\n"},
        })  # fmt: skip
    assert answer.status_code == 400, answer.text
    assert not script.exists()


@BOTH
def test_hcsec_2025_14_gh_1651_audit_file_mode_never_executable(
    request: pytest.FixtureRequest, which: str
) -> None:
    audited = _audited(request, which)
    with audited.server.client() as root:
        for mode in ("0755", "0777", "0700", "04755", "01777"):
            log = audited.workdir / f"mode-{mode}-{uuid.uuid4().hex[:8]}.log"
            device = uuid.uuid4().hex[:8]
            answer = root.put(f"/v1/sys/audit/{device}", json={
                "type": "file", "options": {"file_path": str(log), "mode": mode},
            })  # fmt: skip
            if answer.status_code != 204:
                assert answer.status_code == 400, answer.text
                continue
            ok(root.get("/v1/sys/mounts"))  # something to audit
            assert log.exists()
            # No execute bit, and no setuid, setgid or sticky bit either.
            assert stat.S_IMODE(log.stat().st_mode) & 0o7111 == 0, (mode, oct(log.stat().st_mode))
            ok(root.delete(f"/v1/sys/audit/{device}"))


@BOTH
def test_hcsec_2026_16_cve_2026_5051_legacy_path_option_is_refused_as_file_path(
    request: pytest.FixtureRequest, which: str, tmp_path: Path
) -> None:
    running = target(request, which)
    with running.client() as root:
        for option in ("file_path", "path"):
            log = tmp_path / f"{option}.log"
            answer = root.put(f"/v1/sys/audit/{_removed_after(request, running)}", json={
                "type": "file", "options": {option: str(log)},
            })  # fmt: skip
            assert answer.status_code == 400, (option, answer.text)
            assert not log.exists()


def test_hcsec_2026_16_cve_2026_5051_legacy_path_option_is_guarded_where_devices_are_allowed(
    audited_strongroom: Audited,
) -> None:
    # OpenBao has no location guard: where API-created devices are allowed at all, it trusts the operator.
    # strongroom refuses a file that is not an audit log, by either option name.
    forbidden = audited_strongroom.forbidden
    before = forbidden.read_bytes()
    with audited_strongroom.server.client() as root:
        for option in ("file_path", "path"):
            answer = root.put(f"/v1/sys/audit/{uuid.uuid4().hex[:8]}", json={
                "type": "file", "options": {option: str(forbidden)},
            })  # fmt: skip
            assert answer.status_code == 400, (option, answer.text)
            ok(root.get("/v1/sys/mounts"))
    assert forbidden.read_bytes() == before


def _log_text(audited: Audited, log: Path) -> str:
    assert log.exists(), f"{log} was never written: the declared device is not enabled"
    return log.read_text()


@BOTH
def test_hcsec_2024_18_cve_2024_8365_tokens_and_accessors_never_plain_in_audit_log(
    request: pytest.FixtureRequest, which: str
) -> None:
    audited = _audited(request, which)
    with audited.server.client() as root:
        policy = write_policy(root, 'path "secret/*" { capabilities = ["read", "create", "update"] }')
        created = ok(root.post("/v1/auth/token/create", json={"policies": [policy]})).json()["auth"]
        child, accessor = created["client_token"], created["accessor"]
        ok(root.post("/v1/auth/token/lookup-accessor", json={"accessor": accessor}))
    with audited.server.client(child) as client:
        ok(client.post("/v1/secret/data/app", json={"data": {"k": "v"}}))
        ok(client.get("/v1/auth/token/lookup-self"))
        client.get("/v1/secret/data/app", headers={"Authorization": f"Bearer {child}"})
    text = _log_text(audited, audited.plain_log)
    for secret in (child, accessor):
        assert secret not in text


@BOTH
def test_hcsec_2024_01_cve_2024_0831_log_raw_stays_in_its_own_device(
    request: pytest.FixtureRequest, which: str
) -> None:
    audited = _audited(request, which)
    value = f"raw-only-{uuid.uuid4().hex}"
    with audited.server.client() as root:
        ok(root.post("/v1/secret/data/raw-check", json={"data": {"password": value}}))
        ok(root.get("/v1/secret/data/raw-check"))
    assert value in _log_text(
        audited, audited.raw_log
    )  # the raw device does log it: the check below means something
    assert value not in _log_text(audited, audited.plain_log)


@BOTH
def test_ghsa_ghfh_fmx4_26h8_cve_2025_62513_raw_http_bodies_are_hmaced(
    request: pytest.FixtureRequest, which: str
) -> None:
    audited = _audited(request, which)
    with audited.server.client() as root:
        mount = enable_secrets(root, "pki", config={"max_lease_ttl": "87600h"})
        common_name = f"raw-body-{uuid.uuid4().hex[:8]}.example"
        ok(
            root.post(
                f"/v1/{mount}/root/generate/internal", json={"common_name": common_name, "ttl": "8760h"}
            )
        )
        policy = write_policy(root, f'path "{mount}/*" {{ capabilities = ["read"] }}')
        token = token_with(root, [policy])
    with audited.server.client(token) as client:
        pem = ok(client.get(f"/v1/{mount}/ca/pem")).text
    body_line = pem.strip().splitlines()[1]
    assert body_line not in _log_text(audited, audited.plain_log)
    assert os.path.getsize(audited.plain_log) > 0
