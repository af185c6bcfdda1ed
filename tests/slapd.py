"""A real OpenLDAP for tests: Debian's `slapd` with its own slapd.conf, an mdb database loaded by slapadd,
listening on loopback (ldap:// with StartTLS, and ldaps://) with a certificate from tests/tls.py.

The directory (suffix dc=example,dc=org): the admin ADMIN_DN (password ADMIN_PASSWORD), people under
ou=people (uid=NAME, inetOrgPerson, password "NAME-pw"), and groups under ou=groups: `devs` (groupOfNames:
alice, bob), `ops` (groupOfUniqueNames: alice), `legacy` (posixGroup, memberUid: bob). carol is in none.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port
from tests.tls import ScratchCA

SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-pw"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
USERS = ("alice", "bob", "carol")

SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


def slapd_binary() -> str | None:
    """The slapd executable, or None when Debian's slapd is not installed."""
    found = shutil.which("slapd") or "/usr/sbin/slapd"
    return found if Path(found).exists() else None


def password(user: str) -> str:
    return f"{user}-pw"


@dataclass(frozen=True)
class Slapd:
    """A running slapd: plain LDAP (StartTLS offered) on `port`, LDAP over TLS on `tls_port`; `ca` is the PEM
    of the CA that signed its certificate (for 127.0.0.1 and localhost), and of a client certificate and key
    from the same CA (which a slapd started with `require_client_cert` demands of every TLS client)."""

    port: int
    tls_port: int
    ca: str
    client_cert: str
    client_key: str

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"


def _ldif() -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n",
        f"dn: {ADMIN_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: admin\n"
        f"userPassword: {ADMIN_PASSWORD}\n",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n",
    ]
    for user in USERS:
        entries.append(
            f"dn: uid={user},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {user}\ncn: {user.title()}\n"
            f"sn: {user.title()}\nmail: {user}@example.org\nuserPassword: {password(user)}\n"
        )
    entries += [
        f"dn: cn=devs,{GROUPS}\nobjectClass: groupOfNames\ncn: devs\n"
        f"member: uid=alice,{PEOPLE}\nmember: uid=bob,{PEOPLE}\n",
        f"dn: cn=ops,{GROUPS}\nobjectClass: groupOfUniqueNames\ncn: ops\nuniqueMember: uid=alice,{PEOPLE}\n",
        f"dn: cn=legacy,{GROUPS}\nobjectClass: posixGroup\ncn: legacy\ngidNumber: 5000\nmemberUid: bob\n",
    ]
    return "\n".join(entries)


def _config(directory: Path, cert: Path, key: Path, ca: Path, require_client_cert: bool) -> str:
    includes = "".join(f"include /etc/ldap/schema/{name}.schema\n" for name in SCHEMAS)
    return (
        f"{includes}"
        + ("TLSVerifyClient demand\n" if require_client_cert else "")
        + f"pidfile {directory}/slapd.pid\n"
        "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
        f"TLSCACertificateFile {ca}\nTLSCertificateFile {cert}\nTLSCertificateKeyFile {key}\n"
        "access to attrs=userPassword by anonymous auth by self read by * none\n"
        "access to * by * read\n"
        f"database mdb\nmaxsize 16777216\nsuffix {SUFFIX}\nrootdn {ADMIN_DN}\nrootpw {ADMIN_PASSWORD}\n"
        f"directory {directory}/db\n"
    )


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"slapd exited: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("slapd did not start listening")


@contextmanager
def running_slapd(*, require_client_cert: bool = False) -> Iterator[Slapd]:
    """A fresh slapd with the directory above; stopped and removed on exit."""
    binary = slapd_binary()
    assert binary is not None, "slapd is not installed (scripts/test-tools installs it)"
    with tempfile.TemporaryDirectory(prefix="strongroom-slapd-") as name:
        directory = Path(name)
        (directory / "db").mkdir()
        ca = ScratchCA(directory, "slapd test CA")
        issued, client = ca.issue("slapd"), ca.issue("ldap-client", server=False)
        conf = directory / "slapd.conf"
        conf.write_text(_config(directory, issued.cert, issued.key, ca.path, require_client_cert))
        (directory / "data.ldif").write_text(_ldif())
        slapadd = str(Path(binary).with_name("slapadd"))
        subprocess.run([slapadd, "-f", str(conf), "-l", str(directory / "data.ldif")], check=True,
                       capture_output=True)  # fmt: skip
        port, tls_port = free_port(), free_port()
        log = directory / "slapd.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [binary, "-d", "0", "-f", str(conf), "-h",
                 f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            _wait_listening(port, process, log)
            _wait_listening(tls_port, process, log)
            yield Slapd(
                port=port,
                tls_port=tls_port,
                ca=ca.path.read_text(),
                client_cert=client.cert.read_text(),
                client_key=client.key.read_text(),
            )
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
