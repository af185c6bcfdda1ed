"""The cryptographic operations of transit over a KeyPolicy: encrypt, decrypt, HMAC, sign, verify, hash.

Layer: builtin (pure crypto; the `cryptography` library and the transit models, never the framework).
Formats are Vault's, so ciphertexts and signatures read the same: AES-GCM and ChaCha20-Poly1305 give
base64(12-byte nonce || ciphertext || tag), RSA gives base64(OAEP-SHA256 ciphertext), all wrapped as
"vault:v<version>:<base64>".

Invariant: plaintext and key material never enter an error message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac as stdlib_hmac
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import cmac as cmac_primitive
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from strongroom.builtin.secrets.transit import encoding, keygen
from strongroom.builtin.secrets.transit.models import KeyPolicy, KeyType, KeyVersion, TransitError

NONCE_SIZE = 12
CONVERGENT_HMAC_SIZE = 32
TOO_OLD = "ciphertext or signature version is disallowed by policy (too old)"

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha2-224": hashes.SHA224,
    "sha2-256": hashes.SHA256,
    "sha2-384": hashes.SHA384,
    "sha2-512": hashes.SHA512,
    "sha3-224": hashes.SHA3_224,
    "sha3-256": hashes.SHA3_256,
    "sha3-384": hashes.SHA3_384,
    "sha3-512": hashes.SHA3_512,
}
_HASHLIB = {name: name.replace("sha2-", "sha").replace("sha3-", "sha3_") for name in HASHES}


def digest(algorithm: str, data: bytes) -> bytes:
    """`data` hashed with Vault's `algorithm` name, or "unsupported algorithm"."""
    if algorithm not in HASHES:
        raise TransitError(f"unsupported algorithm {algorithm}")
    return hashlib.new(_HASHLIB[algorithm], data).digest()


def _version(policy: KeyPolicy, number: int) -> KeyVersion:
    found = policy.versions.get(number)
    if found is None or number < policy.min_decryption_version:
        raise TransitError("no such key version")
    return found


def encryption_version(policy: KeyPolicy, requested: int) -> int:
    """The version to encrypt with: `requested`, or the latest when 0."""
    if requested == 0:
        return policy.latest_version
    if requested < 0:
        raise TransitError("requested version for encryption is negative")
    if requested > policy.latest_version:
        raise TransitError("requested version for encryption is higher than the latest key version")
    if requested < policy.min_encryption_version:
        raise TransitError("requested version for encryption is less than the minimum encryption key version")
    return requested


def _aead(key_type: KeyType, key: bytes) -> AESGCM | ChaCha20Poly1305:
    return ChaCha20Poly1305(key) if key_type is KeyType.CHACHA20_POLY1305 else AESGCM(key)


def _refuse_unless_encrypting(policy: KeyPolicy, verb: str = "encryption") -> None:
    if not policy.type.supports_encryption:
        raise TransitError(f"message {verb} not supported for key type {policy.type}")


def encrypt(policy: KeyPolicy, plaintext: bytes, context: bytes | None, requested_version: int = 0) -> str:
    """`plaintext` encrypted with the chosen version, as a "vault:vN:..." ciphertext."""
    _refuse_unless_encrypting(policy)
    number = encryption_version(policy, requested_version)
    version = _version(policy, number)
    if policy.type.rsa:
        public = keygen.public_key(policy.type, version)
        assert isinstance(public, rsa.RSAPublicKey)
        try:
            sealed = public.encrypt(plaintext, _oaep())
        except ValueError:  # OAEP holds at most the key size less two hashes and two bytes
            raise TransitError(
                "failed to RSA encrypt the plaintext: crypto/rsa: message too long for RSA key size"
            ) from None
    else:
        if policy.convergent_encryption:
            # Convergent (Vault's version 3): the derivation runs 32 bytes longer; those bytes key an
            # HMAC of the plaintext that is the nonce, so equal inputs give equal outputs.
            size = len(version.key)
            both = keygen.derive(version.key, context, True, size + CONVERGENT_HMAC_SIZE)
            key = both[:size]
            nonce = stdlib_hmac.new(both[size:], plaintext, hashlib.sha256).digest()[:NONCE_SIZE]
        else:
            key = keygen.derive(version.key, context, policy.derived)
            nonce = os.urandom(NONCE_SIZE)
        sealed = nonce + _aead(policy.type, key).encrypt(nonce, plaintext, None)
    return encoding.wrap(number, encoding.b64encode(sealed))


def decrypt(policy: KeyPolicy, ciphertext: str, context: bytes | None) -> bytes:
    """The plaintext of a "vault:vN:..." ciphertext, or Vault's refusal."""
    _refuse_unless_encrypting(policy, "decryption")
    number, payload = encoding.unwrap(ciphertext, "ciphertext")
    if number > policy.latest_version:
        raise TransitError("invalid ciphertext: version is too new")
    if number < policy.min_decryption_version:
        raise TransitError(TOO_OLD)
    try:
        sealed = base64.b64decode(payload, validate=True)
    except ValueError:
        raise TransitError("invalid ciphertext: could not decode base64") from None
    version = _version(policy, number)
    if policy.type.rsa:
        if not version.key:
            raise TransitError("cannot decrypt ciphertext, key version does not have a private counterpart")
        private = keygen.private_key(policy.type, version.key)
        assert isinstance(private, rsa.RSAPrivateKey)
        try:
            return private.decrypt(sealed, _oaep())
        except ValueError:
            raise TransitError("failed to RSA decrypt the ciphertext: crypto/rsa: decryption error") from None
    key = keygen.derive(version.key, context, policy.derived)
    if len(sealed) < NONCE_SIZE:
        raise TransitError("invalid ciphertext length")
    try:
        return _aead(policy.type, key).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], None)
    except InvalidTag:
        word = "chacha20poly1305" if policy.type is KeyType.CHACHA20_POLY1305 else "cipher"
        raise TransitError(f"{word}: message authentication failed") from None


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def hmac(policy: KeyPolicy, data: bytes, algorithm: str, requested_version: int = 0) -> str:
    """The HMAC of `data` with the version's HMAC key, as "vault:vN:base64"."""
    number = requested_version or policy.latest_version
    if number > policy.latest_version:
        raise TransitError(f"key version does not exist; latest key version is {policy.latest_version}")
    if number < policy.min_encryption_version or number < policy.min_decryption_version:
        raise TransitError("cannot generate HMAC: version is too old (disallowed by policy)")
    return encoding.wrap(number, encoding.b64encode(_mac(policy, number, data, algorithm)))


def _mac(policy: KeyPolicy, number: int, data: bytes, algorithm: str) -> bytes:
    if algorithm not in HASHES:
        raise TransitError(f"unsupported algorithm {algorithm}")
    return stdlib_hmac.new(_version(policy, number).hmac_key, data, _HASHLIB[algorithm]).digest()


def verify_hmac(policy: KeyPolicy, data: bytes, given: str, algorithm: str) -> bool:
    """Whether `given` ("vault:vN:...") is the HMAC of `data`."""
    number, _ = encoding.unwrap(given, "HMAC")
    if number > policy.latest_version:
        raise TransitError("invalid HMAC: version is too new")
    if number < policy.min_decryption_version:
        raise TransitError("cannot verify HMAC: version is too old (disallowed by policy)")
    expected = encoding.wrap(number, encoding.b64encode(_mac(policy, number, data, algorithm)))
    return stdlib_hmac.compare_digest(expected.encode(), given.encode())


AES_BLOCK_SIZE = 16


def _cmac_tag(policy: KeyPolicy, number: int, data: bytes, mac_length: int) -> bytes:
    if not policy.type.cmac:
        raise TransitError(f"CMAC is not supported for key type {policy.type}")
    if mac_length < 0 or mac_length > AES_BLOCK_SIZE:
        raise TransitError("mac_length cannot be larger than the cipher's block size")
    mac = cmac_primitive.CMAC(algorithms.AES(_version(policy, number).key))
    mac.update(data)
    return mac.finalize()[: mac_length or AES_BLOCK_SIZE]


def cmac(policy: KeyPolicy, data: bytes, mac_length: int, requested_version: int = 0) -> str:
    """The AES-CMAC of `data` (truncated to `mac_length` bytes when given), as "vault:vN:base64"."""
    number = requested_version or policy.latest_version
    if number > policy.latest_version:
        raise TransitError(f"key version does not exist; latest key version is {policy.latest_version}")
    if number < policy.min_encryption_version or number < policy.min_decryption_version:
        raise TransitError("cannot generate CMAC: version is too old (disallowed by policy)")
    return encoding.wrap(number, encoding.b64encode(_cmac_tag(policy, number, data, mac_length)))


def verify_cmac(policy: KeyPolicy, data: bytes, given: str, mac_length: int) -> bool:
    """Whether `given` ("vault:vN:...") is the CMAC of `data`."""
    number, _ = encoding.unwrap(given, "CMAC")
    if number > policy.latest_version:
        raise TransitError("invalid CMAC: version is too new")
    if number < policy.min_decryption_version:
        raise TransitError("cannot verify CMAC: version is too old (disallowed by policy)")
    expected = encoding.wrap(number, encoding.b64encode(_cmac_tag(policy, number, data, mac_length)))
    return stdlib_hmac.compare_digest(expected.encode(), given.encode())


def _signing_key(policy: KeyPolicy, number: int, context: bytes | None) -> keygen.PrivateKey:
    version = _version(policy, number)
    if policy.type is KeyType.ED25519 and policy.derived:
        # Vault derives from its whole ed25519 private key (seed || public key), 32 bytes of seed out.
        public = ed25519.Ed25519PrivateKey.from_private_bytes(version.key).public_key().public_bytes_raw()
        whole = version.key + public
        seed = keygen.derive(whole, context, True, 32)
        return ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    return keygen.private_key(policy.type, version.key)


def _hash(name: str) -> hashes.HashAlgorithm:
    found = HASHES.get(name)
    if found is None:
        raise TransitError(f"unsupported hash algorithm {name}")
    return found()


def _rsa_padding(
    signature_algorithm: str, hash_algorithm: hashes.HashAlgorithm, signing: bool
) -> padding.AsymmetricPadding:
    if signature_algorithm in ("", "pss"):
        salt = padding.PSS.MAX_LENGTH if signing else padding.PSS.AUTO
        return padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=salt)
    if signature_algorithm == "pkcs1v15":
        return padding.PKCS1v15()
    raise TransitError(f"unsupported rsa signature algorithm {signature_algorithm}")


def _signed_hash(
    hash_algorithm: hashes.HashAlgorithm, prehashed: bool
) -> hashes.HashAlgorithm | utils.Prehashed:
    return utils.Prehashed(hash_algorithm) if prehashed else hash_algorithm


def sign(
    policy: KeyPolicy,
    data: bytes,
    *,
    context: bytes | None = None,
    requested_version: int = 0,
    hash_algorithm: str = "sha2-256",
    prehashed: bool = False,
    signature_algorithm: str = "",
    marshaling: str = "asn1",
) -> tuple[int, str]:
    """(version used, "vault:vN:..." signature of `data`)."""
    if not policy.type.supports_signing:
        raise TransitError(f"key type {policy.type} does not support signing")
    number = requested_version or policy.latest_version
    if number > policy.latest_version:
        raise TransitError("requested version for signing is higher than the latest key version")
    if number < policy.min_encryption_version:
        raise TransitError("requested version for signing is less than the minimum encryption key version")
    if not _version(policy, number).key:
        raise TransitError("requested version for signing does not contain a private part")
    private = _signing_key(policy, number, context)
    try:
        raw = _sign(
            private,
            data,
            hash_algorithm=_hash(hash_algorithm),
            prehashed=prehashed,
            signature_algorithm=signature_algorithm,
            marshaling=marshaling,
        )
    except ValueError as exc:
        if isinstance(exc, TransitError):
            raise
        raise TransitError("unable to sign: the input does not fit the hash algorithm") from None
    text = (
        base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        if marshaling == "jws"
        else encoding.b64encode(raw)
    )
    return number, encoding.wrap(number, text)


def _sign(
    private: keygen.PrivateKey,
    data: bytes,
    *,
    hash_algorithm: hashes.HashAlgorithm,
    prehashed: bool,
    signature_algorithm: str,
    marshaling: str,
) -> bytes:
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return private.sign(data)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        if marshaling not in ("asn1", "jws"):
            raise TransitError(f"unsupported marshaling type {marshaling}")
        der = private.sign(data, ec.ECDSA(_signed_hash(hash_algorithm, prehashed)))
        if marshaling == "asn1":
            return der
        r, s = utils.decode_dss_signature(der)
        size = (private.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return private.sign(
        data,
        _rsa_padding(signature_algorithm, hash_algorithm, signing=True),
        _signed_hash(hash_algorithm, prehashed),
    )


def verify_signature(
    policy: KeyPolicy,
    data: bytes,
    signature: str,
    *,
    context: bytes | None = None,
    hash_algorithm: str = "sha2-256",
    prehashed: bool = False,
    signature_algorithm: str = "",
    marshaling: str = "asn1",
) -> bool:
    """Whether `signature` ("vault:vN:...") signs `data` with that version of the key."""
    if not policy.type.supports_signing:
        raise TransitError(f"key type {policy.type} does not support verification")
    number, payload = encoding.unwrap(signature, "signature")
    if number > policy.latest_version:
        raise TransitError("invalid signature: version is too new")
    if number < policy.min_decryption_version:
        raise TransitError(TOO_OLD)
    try:
        if marshaling == "jws":
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        else:
            raw = base64.b64decode(payload, validate=True)
    except ValueError:
        raise TransitError("invalid base64 signature value") from None
    if policy.type is KeyType.ED25519 and policy.derived:
        public: keygen.PublicKey = _signing_key(policy, number, context).public_key()
    else:
        public = keygen.public_key(policy.type, _version(policy, number))
    chosen = _hash(hash_algorithm)
    try:
        if isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(raw, data)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(
                _der_signature(public, raw, marshaling), data, ec.ECDSA(_signed_hash(chosen, prehashed))
            )
        else:
            assert isinstance(public, rsa.RSAPublicKey)
            padder = _rsa_padding(signature_algorithm, chosen, signing=False)
            public.verify(raw, data, padder, _signed_hash(chosen, prehashed))
    except InvalidSignature:
        return False
    except ValueError as exc:
        if isinstance(exc, TransitError):
            raise
        return False
    return True


def _der_signature(public: ec.EllipticCurvePublicKey, raw: bytes, marshaling: str) -> bytes:
    if marshaling == "jws":
        size = (public.curve.key_size + 7) // 8
        if len(raw) != 2 * size:
            raise TransitError("supplied signature is invalid")
        return utils.encode_dss_signature(
            int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
        )
    try:
        utils.decode_dss_signature(raw)
    except ValueError:
        raise TransitError("supplied signature is invalid") from None
    return raw
