"""The SSH engine's certificates read by OpenSSH's ssh-keygen and accepted by a real sshd on loopback
(user certificates for logins, host certificates for the client's trust), signed through the HTTP API,
hvac and the bao CLI."""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import hvac
import pytest

from tests.servers import RunningServer, bao_binary, free_port

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
pytestmark = pytest.mark.skipif(
    not (os.path.exists(SSHD) and shutil.which("ssh") and shutil.which("ssh-keygen")),
    reason="OpenSSH (openssh-server, openssh-client) is missing: run scripts/test-tools",
)
USER = getpass.getuser()


@dataclass(frozen=True)
class Engine:
    """A fresh ssh mount with a generated CA and a user role that allows only the current user."""

    client: httpx.Client
    mount: str

    def write(self, path: str, body: dict[str, object]) -> dict[str, object]:
        answer = self.client.post(f"/v1/{self.mount}/{path}", json=body)
        assert answer.status_code == 200, answer.text
        data: dict[str, object] = answer.json()["data"]
        return data


@pytest.fixture
def engine(root: httpx.Client) -> Iterator[Engine]:
    mount = f"ssh-{uuid.uuid4().hex[:8]}"
    assert root.post(f"/v1/sys/mounts/{mount}", json={"type": "ssh"}).status_code == 204
    engine = Engine(root, mount)
    engine.write("config/ca", {"key_type": "ed25519"})
    user_role = {"key_type": "ca", "allow_user_certificates": True, "allowed_users": f"{USER},nobody-else",
                 "default_user": USER, "default_extensions": {"permit-pty": ""}, "ttl": "10m",
                 "allowed_extensions": "permit-pty,permit-port-forwarding"}  # fmt: skip
    assert root.post(f"/v1/{mount}/roles/user", json=user_role).status_code == 204
    host_role = {"key_type": "ca", "allow_host_certificates": True, "allowed_domains": "localhost,127.0.0.1",
                 "allow_bare_domains": True, "ttl": "10m"}  # fmt: skip
    assert root.post(f"/v1/{mount}/roles/host", json=host_role).status_code == 204
    yield engine
    root.delete(f"/v1/sys/mounts/{mount}")


def keygen(path: Path, key_type: str = "ed25519") -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", key_type, "-N", "", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text() if path.suffix else Path(f"{path}.pub").read_text()


def describe(cert: Path) -> str:
    return subprocess.run(
        ["ssh-keygen", "-L", "-f", str(cert)], check=True, capture_output=True, text=True
    ).stdout


@dataclass(frozen=True)
class Sshd:
    port: int
    workdir: Path


@pytest.fixture
def sshd(engine: Engine, server: RunningServer, tmp_path: Path) -> Iterator[Sshd]:
    """sshd on a loopback port: its own host key (with a host certificate from the engine), trusting the
    engine's CA (fetched without a token from public_key) for user certificates and nothing else."""
    ca = httpx.get(f"{server.address}/v1/{engine.mount}/public_key").text
    (tmp_path / "ca.pub").write_text(ca)
    host_public = keygen(tmp_path / "host_key")
    signed = engine.write("sign/host", {"public_key": host_public, "cert_type": "host",
                                        "valid_principals": "127.0.0.1,localhost"})  # fmt: skip
    (tmp_path / "host_key-cert.pub").write_text(str(signed["signed_key"]))
    port = free_port()
    config = tmp_path / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {tmp_path}/host_key\n"
        f"HostCertificate {tmp_path}/host_key-cert.pub\nPidFile {tmp_path}/sshd.pid\n"
        f"TrustedUserCAKeys {tmp_path}/ca.pub\nAuthorizedKeysFile none\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
        "StrictModes no\nUsePAM no\nLogLevel VERBOSE\n"
    )
    with contextlib.suppress(PermissionError):  # sshd's privilege-separation directory (run as root)
        os.makedirs("/run/sshd", exist_ok=True)
    log = (tmp_path / "sshd.log").open("wb")
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError((tmp_path / "sshd.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        (tmp_path / "known_hosts").write_text(f"@cert-authority 127.0.0.1 {ca}")
        yield Sshd(port, tmp_path)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def login(sshd: Sshd, key: Path, cert: Path, user: str = USER) -> subprocess.CompletedProcess[str]:
    """`ssh user@127.0.0.1 true` with the key and its certificate, trusting only host certificates of the
    engine's CA."""
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(key), "-o", f"CertificateFile={cert}",
         "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
         "-o", f"UserKnownHostsFile={sshd.workdir}/known_hosts", "-o", "GlobalKnownHostsFile=/dev/null",
         "-p", str(sshd.port), f"{user}@127.0.0.1", "true"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_ssh_keygen_reads_what_the_certificate_says(engine: Engine, tmp_path: Path) -> None:
    public = keygen(tmp_path / "id")
    signed = engine.write(
        "sign/user",
        {
            "public_key": public,
            "ttl": "5m",
            "extensions": {"permit-pty": "", "permit-port-forwarding": ""},
            "critical_options": {"force-command": "/bin/true", "source-address": "127.0.0.1/32"},
        },
    )
    cert = tmp_path / "id-cert.pub"
    cert.write_text(str(signed["signed_key"]))
    text = describe(cert)
    assert "Type: ssh-ed25519-cert-v01@openssh.com user certificate" in text
    assert f"Serial: {int(str(signed['serial_number']), 16)}" in text
    assert 'Key ID: "vault-' in text
    principals = text.split("Principals:")[1].split("Critical Options:")[0].split()
    assert principals == [USER]
    options = text.split("Critical Options:")[1].split("Extensions:")[0].split()
    assert options == ["force-command", "/bin/true", "source-address", "127.0.0.1/32"]
    assert text.split("Extensions:")[1].split() == ["permit-port-forwarding", "permit-pty"]
    valid = text.split("Valid: from ")[1].split("\n")[0]
    start, end = (time.mktime(time.strptime(t, "%Y-%m-%dT%H:%M:%S")) for t in valid.split(" to "))
    assert end - start == 5 * 60 + 30  # the TTL, plus the role's not_before_duration back-dating
    assert start <= time.time() - 30 < start + 5


def test_rsa_ca_signs_with_the_roles_algorithm(engine: Engine, root: httpx.Client, tmp_path: Path) -> None:
    engine.write("config/ca", {"key_type": "ssh-rsa", "key_bits": 2048})
    for signer, shown in (("", "rsa-sha2-256"), ("rsa-sha2-512", "rsa-sha2-512"), ("ssh-rsa", "ssh-rsa")):
        role = {"key_type": "ca", "allow_user_certificates": True, "allowed_users": "*", "default_user": "a"}
        if signer:
            role["algorithm_signer"] = signer
        assert root.post(f"/v1/{engine.mount}/roles/rsa", json=role).status_code == 204
        signed = engine.write("sign/rsa", {"public_key": keygen(tmp_path / f"k{shown}", "ecdsa")})
        cert = tmp_path / f"k{shown}-cert.pub"
        cert.write_text(str(signed["signed_key"]))
        assert f"(using {shown})" in describe(cert)


def test_sshd_accepts_the_signed_key(engine: Engine, sshd: Sshd, tmp_path: Path) -> None:
    key = tmp_path / "id"
    signed = engine.write("sign/user", {"public_key": keygen(key)})
    cert = tmp_path / "id-cert.pub"
    cert.write_text(str(signed["signed_key"]))
    done = login(sshd, key, cert)
    assert done.returncode == 0, done.stderr + (sshd.workdir / "sshd.log").read_text()


def test_sshd_refuses_a_certificate_for_another_principal(engine: Engine, sshd: Sshd, tmp_path: Path) -> None:
    key = tmp_path / "id"
    signed = engine.write("sign/user", {"public_key": keygen(key), "valid_principals": "nobody-else"})
    cert = tmp_path / "id-cert.pub"
    cert.write_text(str(signed["signed_key"]))
    done = login(sshd, key, cert)
    assert done.returncode == 255
    assert "Permission denied" in done.stderr


def test_issued_key_pair_logs_in(engine: Engine, sshd: Sshd, tmp_path: Path) -> None:
    issued = engine.write("issue/user", {"key_type": "ec", "key_bits": 256})
    key, cert = tmp_path / "issued", tmp_path / "issued-cert.pub"
    key.write_text(str(issued["private_key"]))
    key.chmod(0o600)
    cert.write_text(str(issued["signed_key"]))
    assert issued["private_key_type"] == "ec"
    done = login(sshd, key, cert)
    assert done.returncode == 0, done.stderr + (sshd.workdir / "sshd.log").read_text()


def test_hvac_and_the_bao_cli_sign_keys(engine: Engine, server: RunningServer, tmp_path: Path) -> None:
    client = hvac.Client(url=server.address, token=server.root_token)
    assert client.secrets.ssh.read_public_key(mount_point=engine.mount)["data"]["public_key"].startswith(
        "ssh-ed25519 "
    )
    client.secrets.ssh.create_role(
        name="hvac", key_type="ca", allow_user_certificates=True, allowed_users=USER, default_user=USER,
        mount_point=engine.mount,
    )  # fmt: skip
    assert (
        client.secrets.ssh.read_role(name="hvac", mount_point=engine.mount)["data"]["allowed_users"] == USER
    )
    public = keygen(tmp_path / "hv")
    signed = client.secrets.ssh.sign_ssh_key(
        name="hvac", public_key=public, valid_principals=USER, mount_point=engine.mount
    )
    assert signed["data"]["signed_key"].startswith("ssh-ed25519-cert-v01@openssh.com ")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env |= {"HOME": str(tmp_path), "BAO_ADDR": server.address, "BAO_TOKEN": server.root_token}
    cli = [
        bao_binary(),
        "write",
        "-field=signed_key",
        f"{engine.mount}/sign/user",
        f"public_key=@{tmp_path}/hv.pub",
    ]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    cert = tmp_path / "hv-cert.pub"
    cert.write_text(done.stdout)
    assert USER in describe(cert)
    client.secrets.ssh.delete_ca_information(mount_point=engine.mount)
    refused = httpx.get(f"{server.address}/v1/{engine.mount}/public_key")
    assert refused.status_code == 400
    assert refused.json() == {"errors": ["no default issuer currently configured"]}
