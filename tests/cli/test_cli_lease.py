"""`strongroom lease renew|revoke|lookup`, compared byte for byte with `bao` on the same server.

Errors and argument handling run against both servers. Leases themselves run against OpenBao only: no
strongroom secrets engine issues leases yet (no database or PKI engine), so there is nothing to look up,
renew or revoke there; OpenBao's PKI engine with generate_lease=true provides them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.dual import Run, api, bao_cli, dual_target, run_bao, run_strongroom, same, strongroom
from tests.servers import RunningServer

__all__ = ["bao_cli", "dual_target", "strongroom"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("lease", "renew"), "Missing ID!\n"),
        (("lease", "renew", "a", "b"), "Too many arguments (expected 1-2, got 2)\n"),
        (("lease", "lookup"), "Missing ID!\n"),
        (("lease", "lookup", "a", "b"), "Too many arguments (expected 1, got 2)\n"),
        (("lease", "revoke"), "Not enough arguments (expected 1, got 0)\n"),
        (("lease", "revoke", "a", "b"), "Too many arguments (expected 1, got 2)\n"),
        (("lease", "revoke", "-force", "a"), "Specifying -force requires also specifying -prefix\n"),
        (
            ("lease", "renew", "-increment=abc", "a"),
            'invalid value "abc" for flag -increment: time: invalid duration "abc"\n',
        ),
    ],
)
def test_argument_errors_exit_1_like_bao(
    strongroom: Run, bao_cli: Run, args: tuple[str, ...], message: str
) -> None:
    ours = strongroom(*args)
    assert (ours.code, ours.out, ours.err) == (1, "", message)
    same(ours, bao_cli(*args))


def test_unknown_leases(strongroom: Run, bao_cli: Run, dual_target: RunningServer) -> None:
    lookup = strongroom("lease", "lookup", "nope/1")
    assert lookup.code == 2
    assert lookup.err == (
        "error looking up lease id nope/1: Error making API request.\n\n"
        f"URL: PUT {dual_target.address}/v1/sys/leases/lookup\nCode: 400. Errors:\n\n* invalid lease\n"
    )
    for args in (("lease", "lookup", "nope/1"), ("lease", "renew", "nope/1")):
        same(strongroom(*args), bao_cli(*args))
    queued = strongroom("lease", "revoke", "nope/1")
    assert (queued.code, queued.out) == (0, "All revocation operations queued successfully!\n")
    for args in (
        ("lease", "revoke", "-sync", "nope/1"),
        ("lease", "revoke", "-prefix", "nope/"),
        ("lease", "revoke", "-prefix", "-sync", "nope/"),
    ):
        same(strongroom(*args), bao_cli(*args))


@pytest.fixture
def pki_role(bao: RunningServer, unique: str) -> Iterator[str]:
    """A PKI role on OpenBao whose certificates carry leases; the mount is removed afterwards."""
    mount = f"pki-{unique}"
    api(bao, "POST", f"sys/mounts/{mount}", {"type": "pki"})
    api(bao, "POST", f"{mount}/root/generate/internal", {"common_name": "example.com", "ttl": "24h"})
    api(bao, "POST", f"{mount}/roles/web", {"allow_any_name": True, "generate_lease": True, "ttl": "1h"})
    yield f"{mount}/issue/web"
    api(bao, "DELETE", f"sys/mounts/{mount}")


def _lease(server: RunningServer, role: str) -> str:
    lease_id: str = api(server, "POST", role, {"common_name": "a.example.com"}).json()["lease_id"]
    return lease_id


def test_lookup_renew_and_revoke_real_leases(
    bao: RunningServer,
    pki_role: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    ours, theirs = run_strongroom(bao.address, monkeypatch, capsys, tmp_path), run_bao(bao.address, tmp_path)
    lease_id = _lease(bao, pki_role)
    looked = ours("lease", "lookup", lease_id)
    assert looked.code == 0, looked.err
    rows = dict(line.split(None, 1) for line in looked.out.splitlines()[2:])
    assert (rows["id"], rows["path"], rows["renewable"], rows["last_renewal"]) == (
        lease_id,
        pki_role,
        "false",
        "<nil>",
    )
    assert rows["ttl"] in ("1h", "59m59s", "59m58s")
    assert ours("lease", "lookup", "-field=path", lease_id).out == pki_role
    # PKI leases are not renewable: the refusal is the server's, printed as bao prints it.
    same(
        ours("lease", "renew", "-increment=30m", lease_id),
        theirs("lease", "renew", "-increment=30m", lease_id),
    )
    revoked = ours("lease", "revoke", "-sync", lease_id)
    assert (revoked.code, revoked.out) == (0, f"Success! Revoked lease: {lease_id}\n")
    assert ours("lease", "lookup", lease_id).code == 2

    for _ in range(2):
        _lease(bao, pki_role)
    by_prefix = ours("lease", "revoke", "-prefix", "-sync", pki_role)
    assert by_prefix.out == f"Success! Revoked any leases with prefix: {pki_role}\n"
    with bao.client() as http:
        assert http.request("LIST", f"/v1/sys/leases/lookup/{pki_role}").status_code == 404

    _lease(bao, pki_role)
    forced = ours("lease", "revoke", "-prefix", "-force", pki_role)
    assert (forced.code, forced.out) == (0, f"Success! Force revoked any leases with prefix: {pki_role}\n")
    assert (
        forced.err
        == "Warning! Force-removing leases can cause Vault to become out of sync with\nsecret engines!\n"
    )
