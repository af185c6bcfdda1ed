"""OpenSSH certificates signed by the CA key, through cryptography's SSHCertificateBuilder.

Layer: builtin (pure functions over the cryptography library; no framework).
The builder signs with an RSA CA key as rsa-sha2-512 only; Vault signs as the role's algorithm_signer
(rsa-sha2-256 by default), so an RSA-signed certificate is re-signed here: the signed body is the
certificate without its trailing signature field, whose length the CA key's size fixes.
"""

from __future__ import annotations

import base64
import secrets
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import SSHCertificateBuilder, SSHCertificateType

from strongroom.builtin.secrets.ssh.keys import PrivateKey, PublicKey, SshKeyError

RSA_SIGNERS: dict[str, type[hashes.SHA1 | hashes.SHA256 | hashes.SHA512]] = {
    "ssh-rsa": hashes.SHA1,
    "rsa-sha2-256": hashes.SHA256,
    "rsa-sha2-512": hashes.SHA512,
}
DEFAULT_SIGNER = "default"


@dataclass(frozen=True, slots=True)
class CertificateRequest:
    """Everything a certificate says, decided by the role and the request."""

    public_key: PublicKey
    key_id: str
    principals: Sequence[str]
    host: bool
    valid_after: int
    valid_before: int
    critical_options: Mapping[str, str]
    extensions: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Signed:
    """A signed certificate: its serial number and its authorized_keys-style line."""

    serial: int
    line: str


def sign(request: CertificateRequest, ca: PrivateKey, algorithm_signer: str = DEFAULT_SIGNER) -> Signed:
    """The certificate `request` describes, signed by `ca` (RSA CAs with `algorithm_signer`'s hash:
    "default" is rsa-sha2-256, as Vault)."""
    serial = secrets.randbits(64)
    builder = (
        SSHCertificateBuilder()
        .public_key(request.public_key)
        .serial(serial)
        .type(SSHCertificateType.HOST if request.host else SSHCertificateType.USER)
        .key_id(request.key_id.encode())
        .valid_after(request.valid_after)
        .valid_before(request.valid_before)
    )
    if request.principals:
        builder = builder.valid_principals([p.encode() for p in request.principals])
    else:
        builder = builder.valid_for_all_principals()  # type: ignore[no-untyped-call]
    for name, value in request.critical_options.items():
        builder = builder.add_critical_option(name.encode(), value.encode())
    for name, value in request.extensions.items():
        builder = builder.add_extension(name.encode(), value.encode())
    if algorithm_signer not in ("", DEFAULT_SIGNER) and not isinstance(ca, rsa.RSAPrivateKey):
        raise SshKeyError(
            "failed to generate signed SSH key: sign error: ssh: unsupported signature algorithm "
            f'"{algorithm_signer}" for key format "{_key_format(ca)}"'
        )
    line = builder.sign(ca).public_bytes()
    if isinstance(ca, rsa.RSAPrivateKey):
        line = _resign_rsa(line, ca, algorithm_signer)
    return Signed(serial, line.decode() + "\n")


def _resign_rsa(line: bytes, ca: rsa.RSAPrivateKey, algorithm_signer: str) -> bytes:
    name = "rsa-sha2-256" if algorithm_signer in ("", DEFAULT_SIGNER) else algorithm_signer
    if name == "rsa-sha2-512":
        return line
    prefix, blob = line.split(b" ", 1)
    raw = base64.b64decode(blob)
    signature_field = 4 + (4 + len(b"rsa-sha2-512")) + (4 + (ca.key_size + 7) // 8)
    body = raw[:-signature_field]
    signature = ca.sign(body, padding.PKCS1v15(), RSA_SIGNERS[name]())
    blob_out = _string(_string(name.encode()) + _string(signature))
    return prefix + b" " + base64.b64encode(body + blob_out)


def _key_format(ca: PrivateKey) -> str:
    line = ca.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return line.split(b" ")[0].decode()


def _string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value
