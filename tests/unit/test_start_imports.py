"""What starting a server imports: engines and heavy libraries load when first mounted or used, not before."""

from __future__ import annotations

import subprocess
import sys

# Loaded only by a mount, a storage type, or a command that needs them.
LAZY = (
    "psycopg",
    "jwt",
    "argon2",
    "cryptography.x509",
    "yaml",
    "httpx",
    "strongroom.client",
    "prometheus_client",
    "strongroom.agent.runner",
    "strongroom.physical.postgresql",
    "strongroom.builtin.secrets.kv.backend",
    "strongroom.builtin.secrets.database.backend",
    "strongroom.builtin.secrets.pki.backend",
    "strongroom.builtin.secrets.transit.backend",
    "strongroom.builtin.secrets.totp.backend",
    "strongroom.builtin.secrets.ssh.backend",
    "segno",
    "strongroom.builtin.auth.jwt.backend",
    "strongroom.builtin.auth.userpass.backend",
    "strongroom.builtin.auth.approle.backend",
    "strongroom.builtin.auth.cert.backend",
    # The TLS relay (pyOpenSSL) loads with the first TLS listener that requests client certificates.
    "OpenSSL",
    # granian's process manager: the server embeds granian's worker and needs only its native module.
    "granian.server",
    "multiprocessing",
)


def imported_by(statement: str) -> set[str]:
    script = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_the_server_command_imports_no_engine_nor_heavy_library() -> None:
    loaded = imported_by("import strongroom.cli.main, strongroom.cli.server")
    assert "strongroom.server" in loaded
    assert sorted(loaded.intersection(LAZY)) == []


def test_mounting_an_engine_imports_it() -> None:
    loaded = imported_by(
        "import asyncio\n"
        "from strongroom.builtin.registry import AUTH_METHODS\n"
        "from strongroom.framework.testing import BackendHarness\n"
        "asyncio.run(BackendHarness.create(AUTH_METHODS['jwt'], 'jwt'))"
    )
    assert {"jwt", "strongroom.builtin.auth.jwt.backend"} <= loaded
    assert "psycopg" not in loaded


def test_a_totp_mount_loads_segno_only_to_draw_a_barcode() -> None:
    harness = (
        "import asyncio\n"
        "from strongroom.builtin.registry import SECRETS_ENGINES\n"
        "from strongroom.framework.testing import BackendHarness\n"
        "async def main(body):\n"
        "    totp = await BackendHarness.create(SECRETS_ENGINES['totp'], 'totp')\n"
        "    await totp.write('keys/k', body)\n"
    )
    imported = imported_by(harness + "asyncio.run(main({'key': 'JBSWY3DPEHPK3PXP'}))")
    assert "strongroom.builtin.secrets.totp.backend" in imported
    assert "segno" not in imported
    drawn = imported_by(harness + "asyncio.run(main({'generate': True, 'issuer': 'I', 'account_name': 'a'}))")
    assert "segno" in drawn
