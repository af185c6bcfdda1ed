"""The JOSE pieces of the ACME server on their own: every account algorithm OpenBao accepts verifies, a key
of one kind cannot pass as another, thumbprints match RFC 7638's example, EAB HMACs, and nonces."""

from __future__ import annotations

import base64
import hashlib
import hmac

import josepy
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from strongroom.builtin.secrets.pki.acme import jose
from strongroom.builtin.secrets.pki.acme.nonces import LIFETIME, Nonces
from strongroom.builtin.secrets.pki.acme.problems import AcmeProblem
from strongroom.util.clock import ManualClock

MESSAGE = b"protected.payload"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _ec_signature(key: ec.EllipticCurvePrivateKey, digest: hashes.HashAlgorithm) -> bytes:
    r, s = decode_dss_signature(key.sign(MESSAGE, ec.ECDSA(digest)))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


@pytest.mark.parametrize(
    ("algorithm", "curve", "digest"),
    [
        ("ES256", ec.SECP256R1(), hashes.SHA256()),
        ("ES384", ec.SECP384R1(), hashes.SHA384()),
        ("ES512", ec.SECP521R1(), hashes.SHA512()),
    ],
)
def test_ecdsa_signatures_verify_with_the_jwk_of_their_key(
    algorithm: str, curve: ec.EllipticCurve, digest: hashes.HashAlgorithm
) -> None:
    key = ec.generate_private_key(curve)
    public = jose.public_key(josepy.JWKEC(key=key.public_key()).to_partial_json())
    signature = _ec_signature(key, digest)
    assert jose.verify(algorithm, public, MESSAGE, signature)
    assert not jose.verify(algorithm, public, MESSAGE + b"x", signature)
    assert not jose.verify("ES256" if algorithm != "ES256" else "ES384", public, MESSAGE, signature)


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
def test_rsa_signatures_verify_and_cannot_pass_as_another_scheme(algorithm: str) -> None:
    digest = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[algorithm[2:]]
    if algorithm.startswith("RS"):
        scheme: padding.AsymmetricPadding = padding.PKCS1v15()
    else:
        scheme = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
    signature = RSA_KEY.sign(MESSAGE, scheme, digest)
    public = jose.public_key(josepy.JWKRSA(key=RSA_KEY.public_key()).to_partial_json())
    assert jose.verify(algorithm, public, MESSAGE, signature)
    other = ("PS" if algorithm.startswith("RS") else "RS") + algorithm[2:]
    assert not jose.verify(other, public, MESSAGE, signature)
    assert not jose.verify("ES256", public, MESSAGE, signature)


def test_eddsa_verifies_with_an_okp_jwk() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes_raw()
    public = jose.public_key({"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)})
    assert jose.verify("EdDSA", public, MESSAGE, key.sign(MESSAGE))
    assert not jose.verify("ES256", public, MESSAGE, key.sign(MESSAGE))


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "P-256", "x": _b64(b"\x01" * 32), "y": _b64(b"\x02" * 32)},  # not on the curve
        {"kty": "oct", "k": "c2VjcmV0"},
        {"kty": "OKP", "crv": "X25519", "x": _b64(b"\x00" * 32)},
        "not a jwk",
    ],
)
def test_a_jwk_that_is_no_usable_public_key_is_refused(jwk: object) -> None:
    with pytest.raises(AcmeProblem) as refused:
        jose.public_key(jwk)
    assert refused.value.kind in ("malformed", "badPublicKey")


def test_the_thumbprint_is_rfc_7638s() -> None:
    # RFC 7638 section 3.1's example key and thumbprint.
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJE"
            "CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
            "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6"
            "WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jose.thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_an_eab_hmac_verifies_only_with_its_key_and_algorithm() -> None:
    secret = b"k" * 32
    signature = hmac.new(secret, MESSAGE, hashlib.sha256).digest()
    assert jose.verify_hmac("HS256", secret, MESSAGE, signature)
    assert not jose.verify_hmac("HS384", secret, MESSAGE, signature)
    assert not jose.verify_hmac("HS256", b"x" * 32, MESSAGE, signature)
    assert not jose.verify_hmac("none", secret, MESSAGE, signature)


def test_a_nonce_is_good_once_and_only_until_it_expires() -> None:
    clock = ManualClock()
    nonces = Nonces(clock)
    first, second = nonces.issue(), nonces.issue()
    assert first != second
    assert nonces.redeem(first)
    assert not nonces.redeem(first)
    assert not nonces.redeem("never-issued")
    clock.advance(LIFETIME + 1)
    assert not nonces.redeem(second)


def test_a_flattened_jws_with_unprotected_headers_or_missing_parts_is_malformed() -> None:
    with pytest.raises(AcmeProblem, match="missing required field 'signature'"):
        jose.parse_jws({"protected": "e30", "payload": ""})
    with pytest.raises(AcmeProblem, match="unprotected headers"):
        jose.parse_jws({"protected": "e30", "payload": "", "signature": "", "header": {"kid": "x"}})
    with pytest.raises(AcmeProblem, match="failed to json unmarshal 'protected'"):
        jose.parse_jws({"protected": _b64(b"[1]"), "payload": "", "signature": ""})
