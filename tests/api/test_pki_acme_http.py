"""The pki engine's ACME server over real HTTP, driven by a stock ACME client (certbot's `acme` library):
accounts, orders validated by http-01 and tls-alpn-01 responders on loopback, finalization, renewal,
revocation, external account binding, the refusals a client must see (badNonce, accountDoesNotExist,
rejectedIdentifier), and the directory and config/acme answers compared with OpenBao's."""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import josepy
import pytest
from acme import challenges, client, messages
from acme import crypto_util as acme_crypto
from acme import jws as acme_jws
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.acme_responders import Dns01, Http01, TlsAlpn01
from tests.servers import RunningServer, free_port, init_and_unseal, sqlite_config, strongroom_config_server

DEADLINE = 30.0


@dataclass
class Mount:
    """A pki mount with a root CA, config/cluster set and ACME on, and the challenge responders its
    validations reach (the mount's acme_http_01_port and acme_tls_alpn_01_port options name them)."""

    path: str
    base: str  # the mount's URL: config/cluster's path
    http01: Http01
    alpn: TlsAlpn01
    dns: Dns01
    root: httpx.Client

    def directory_url(self, prefix: str = "acme/") -> str:
        return f"{self.base}/{prefix}directory"


Responders = tuple[Http01, TlsAlpn01, Dns01]


def _setup(root: httpx.Client, address: str, path: str, responders: Responders, **acme: Any) -> Mount:
    http01, alpn, dns = responders
    options = {"acme_http_01_port": str(http01.port), "acme_tls_alpn_01_port": str(alpn.port)}
    # ACME's headers pass only when the mount allows them, as OpenBao's ACME setup guide says to tune.
    config = {"allowed_response_headers": ["Replay-Nonce", "Link", "Location"]}
    root.post(
        f"/v1/sys/mounts/{path}", json={"type": "pki", "options": options, "config": config}
    ).raise_for_status()
    root.post(
        f"/v1/{path}/root/generate/internal", json={"common_name": "ACME Test Root", "key_type": "ec"}
    ).raise_for_status()
    base = f"{address}/v1/{path}"
    root.post(f"/v1/{path}/config/cluster", json={"path": base}).raise_for_status()
    root.post(
        f"/v1/{path}/roles/web",
        json={"allowed_domains": "example.test", "allow_subdomains": True, "allow_localhost": False,
              "key_type": "any"},
    ).raise_for_status()  # fmt: skip
    resolver = f"127.0.0.1:{dns.port}"
    root.post(
        f"/v1/{path}/config/acme", json={"enabled": True, "dns_resolver": resolver, **acme}
    ).raise_for_status()
    return Mount(path, base, http01, alpn, dns, root)


@pytest.fixture(scope="module")
def responders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Responders]:
    with (
        Http01().running() as http01,
        TlsAlpn01(tmp_path_factory.mktemp("alpn")).running() as alpn,
        Dns01().running() as dns,
    ):
        yield http01, alpn, dns


@pytest.fixture(scope="module")
def mount(server: RunningServer, responders: Responders) -> Iterator[Mount]:
    with server.client() as root:
        yield _setup(root, server.address, "pki-acme", responders)


def new_client(
    url: str, *, eab: tuple[str, str] | None = None, rsa_key: bool = False
) -> tuple[client.ClientV2, josepy.JWK]:
    """A registered ACME client with a fresh account key: P-256 (ES256), or RSA (RS256)."""
    if rsa_key:
        key: josepy.JWK = josepy.JWKRSA(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
        net = client.ClientNetwork(key, alg=josepy.RS256, user_agent="strongroom-tests")
    else:
        key = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        net = client.ClientNetwork(key, alg=josepy.ES256, user_agent="strongroom-tests")
    directory = client.ClientV2.get_directory(url, net)
    acme = client.ClientV2(directory, net=net)
    binding = None
    if eab is not None:
        binding = messages.ExternalAccountBinding.from_data(
            account_public_key=key.public_key(), kid=eab[0], hmac_key=eab[1], directory=directory
        )
    registration = messages.NewRegistration.from_data(
        email="ops@example.test", terms_of_service_agreed=True, external_account_binding=binding
    )
    acme.new_account(registration)
    return acme, key


def csr_for(*names: str) -> tuple[bytes, bytes]:
    """A CSR for DNS names, or IP addresses (names that parse as one)."""
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ips, dns = [], []
    for name in names:
        try:
            ips.append(ipaddress.ip_address(name))
        except ValueError:
            dns.append(name)
    return acme_crypto.make_csr(key_pem, dns or None, ipaddrs=ips or None), key_pem


def _kind(challenge: messages.ChallengeBody) -> str:
    """A challenge's type; the library no longer models tls-alpn-01, so that one arrives unrecognized."""
    if isinstance(challenge.chall, challenges.UnrecognizedChallenge):
        return str(challenge.chall.jobj["type"])
    return str(challenge.chall.typ)


def _challenge(authz: messages.AuthorizationResource, kind: str) -> messages.ChallengeBody:
    return next(c for c in authz.body.challenges if _kind(c) == kind)


def obtain(acme: client.ClientV2, key: josepy.JWK, mount: Mount, *names: str, kind: str = "http-01") -> str:
    """Order a certificate for `names`, prove each with `kind`, finalize; the PEM chain."""
    csr, _ = csr_for(*names)
    order = acme.new_order(csr)
    for authz in order.authorizations:
        challenge = _challenge(authz, kind)
        token = (
            challenge.chall.jobj["token"]
            if isinstance(challenge.chall, challenges.UnrecognizedChallenge)
            else challenge.chall.encode("token")
        )
        key_authorization = f"{token}.{josepy.b64encode(key.thumbprint()).decode()}"
        if kind == "http-01":
            mount.http01.answers[token] = key_authorization
        elif kind == "dns-01":
            name = "_acme-challenge." + authz.body.identifier.value
            mount.dns.records[name] = [challenge.chall.validation(key)]
        else:
            mount.alpn.serve(authz.body.identifier.value, key_authorization)
        acme.answer_challenge(challenge, challenges.HTTP01Response())
    finalized = acme.poll_and_finalize(order, deadline=_deadline())
    return str(finalized.fullchain_pem)


def _deadline() -> Any:
    import datetime

    return datetime.datetime.now() + datetime.timedelta(seconds=DEADLINE)


def dns_names(certificate: x509.Certificate) -> list[str]:
    return certificate.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName)


def serial_of(certificate: x509.Certificate) -> str:
    """The serial as the engine's paths spell it (colon-separated hex)."""
    raw = certificate.serial_number.to_bytes(20, "big").lstrip(b"\0") or b"\0"
    return ":".join(f"{byte:02x}" for byte in raw)


def leaf(chain: str) -> x509.Certificate:
    return x509.load_pem_x509_certificates(chain.encode())[0]


def test_a_stock_client_obtains_and_renews_a_certificate_by_http_01(mount: Mount) -> None:
    acme, key = new_client(mount.directory_url())
    chain = obtain(acme, key, mount, "localhost")
    certificate = leaf(chain)
    assert dns_names(certificate) == ["localhost"]
    # sign-verbatim keeps the CSR's empty subject, so the names' extension is critical (RFC 5280 4.2.1.6).
    assert len(certificate.subject) == 0
    assert certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical
    ca = mount.root.get(f"/v1/{mount.path}/ca/pem").text
    assert x509.load_pem_x509_certificates(chain.encode())[1] == x509.load_pem_x509_certificate(ca.encode())
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    # The engine keeps what it issued, like any other certificate.
    listed = mount.root.request("LIST", f"/v1/{mount.path}/certs").json()["data"]["keys"]
    assert serial_of(certificate) in listed

    renewed = leaf(obtain(acme, key, mount, "localhost"))
    assert renewed.serial_number != certificate.serial_number
    assert renewed.not_valid_after_utc >= certificate.not_valid_after_utc


def test_an_rsa_account_proves_an_ip_address_by_http_01(mount: Mount) -> None:
    acme, key = new_client(mount.directory_url(), rsa_key=True)
    csr, _ = csr_for("127.0.0.1")
    [authz] = acme.new_order(csr).authorizations
    assert authz.body.identifier.typ.name == "ip"
    assert [_kind(c) for c in authz.body.challenges] == ["http-01"]
    certificate = leaf(obtain(acme, key, mount, "127.0.0.1"))
    sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_finalize_needs_a_ready_order_and_a_csr_naming_exactly_its_identifiers(mount: Mount) -> None:
    acme, key = new_client(mount.directory_url())
    csr, _ = csr_for("localhost")
    order = acme.new_order(csr)
    with pytest.raises(messages.Error) as early:
        acme.begin_finalization(order)
    assert early.value.code == "orderNotReady"
    [authz] = order.authorizations
    challenge = _challenge(authz, "http-01")
    token = challenge.chall.encode("token")
    mount.http01.answers[token] = f"{token}.{josepy.b64encode(key.thumbprint()).decode()}"
    acme.answer_challenge(challenge, challenges.HTTP01Response())
    order = acme.poll_authorizations(order, _deadline())
    wider, _ = csr_for("localhost", "other.test")
    with pytest.raises(messages.Error) as mismatched:
        acme.begin_finalization(order.update(csr_pem=wider))
    assert mismatched.value.code == "badCSR"
    assert "mismatch on number of DNS identifiers" in mismatched.value.detail
    assert acme.finalize_order(order, _deadline()).fullchain_pem


def test_a_key_holds_one_account_across_directories(mount: Mount) -> None:
    _, key = new_client(mount.directory_url())
    elsewhere = _post(
        f"{mount.base}/roles/web/acme/new-account", key, b"{}", nonce=_fresh_nonce(mount), kid=None
    )
    assert elsewhere.status_code == 400
    assert elsewhere.json()["detail"].endswith("account part of different ACME directory path")


def test_tls_alpn_01_proves_a_name(mount: Mount) -> None:
    acme, key = new_client(mount.directory_url())
    handshakes = mount.alpn.handshakes
    certificate = leaf(obtain(acme, key, mount, "localhost", kind="tls-alpn-01"))
    assert mount.alpn.handshakes > handshakes
    assert certificate.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName) == ["localhost"]


def test_dns_01_proves_a_wildcard_through_the_configured_resolver(mount: Mount) -> None:
    acme, key = new_client(mount.directory_url())
    csr, _ = csr_for("*.wild.test")
    order = acme.new_order(csr)
    [authz] = order.authorizations
    assert [_kind(c) for c in authz.body.challenges] == ["dns-01"]  # a wildcard can be proved no other way
    assert authz.body.wildcard is True
    certificate = leaf(obtain(acme, key, mount, "*.wild.test", kind="dns-01"))
    assert dns_names(certificate) == ["*.wild.test"]
    assert "_acme-challenge.wild.test" in mount.dns.queries


def test_a_wrong_answer_is_recorded_on_the_challenge(mount: Mount) -> None:
    acme, _ = new_client(mount.directory_url())
    csr, _ = csr_for("localhost")
    [authz] = acme.new_order(csr).authorizations
    challenge = _challenge(authz, "http-01")
    mount.http01.answers[challenge.chall.encode("token")] = "not.the-key-authorization"
    acme.answer_challenge(challenge, challenges.HTTP01Response())
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        body = acme.poll(authz)[0].body
        [seen] = [c for c in body.challenges if _kind(c) == "http-01"]
        if seen.error is not None:
            break
        time.sleep(0.2)
    assert body.status.name == "pending"  # retried a few times before it turns invalid
    assert seen.status.name == "processing"
    assert seen.error.typ == "urn:ietf:params:acme:error:incorrectResponse"


def test_an_account_revokes_its_certificate_and_the_crl_lists_it(mount: Mount) -> None:
    acme, key = new_client(mount.directory_url())
    certificate = leaf(obtain(acme, key, mount, "localhost"))
    acme.revoke(certificate, 0)
    serial = ":".join(
        f"{b:02x}" for b in certificate.serial_number.to_bytes(20, "big").lstrip(b"\0") or b"\0"
    )
    read = mount.root.get(f"/v1/{mount.path}/cert/{serial}").json()["data"]
    assert read["revocation_time"] > 0
    with pytest.raises(messages.Error) as refused:
        acme.revoke(certificate, 0)
    assert refused.value.code == "alreadyRevoked"


def test_a_role_directory_rejects_an_identifier_its_role_does_not_allow(mount: Mount) -> None:
    acme, _ = new_client(mount.directory_url("roles/web/acme/"))
    csr, _ = csr_for("localhost")
    with pytest.raises(messages.Error) as refused:
        acme.new_order(csr)
    assert refused.value.code == "rejectedIdentifier"
    assert "role (web) will not issue certificate for name localhost" in refused.value.detail


def test_a_role_directory_issues_a_name_its_role_allows(mount: Mount) -> None:
    acme, key = new_client(mount.directory_url("roles/web/acme/"))
    csr, _ = csr_for("www.example.test")
    [authz] = acme.new_order(csr).authorizations
    assert authz.body.identifier.value == "www.example.test"
    assert [_kind(c) for c in authz.body.challenges] == ["http-01", "dns-01", "tls-alpn-01"]
    certificate = leaf(obtain(acme, key, mount, "www.example.test", kind="dns-01"))
    assert dns_names(certificate) == ["www.example.test"]
    # The role requires a common name: the CSR had none, so the first name became it.
    assert certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "www.example.test"


def _post(url: str, key: josepy.JWK, payload: bytes, *, nonce: bytes, kid: str | None) -> httpx.Response:
    jws = acme_jws.JWS.sign(payload, key=key, alg=josepy.ES256, nonce=nonce, url=url, kid=kid)
    return httpx.post(url, content=jws.json_dumps(), headers={"Content-Type": "application/jose+json"})


def _fresh_nonce(mount: Mount) -> bytes:
    answer = httpx.head(f"{mount.base}/acme/new-nonce")
    assert answer.status_code == 200
    return josepy.b64decode(answer.headers["Replay-Nonce"])


def test_a_reused_or_unknown_nonce_is_bad_nonce_with_a_fresh_one(mount: Mount) -> None:
    acme, key = new_client(mount.directory_url())
    kid = acme.net.account.uri
    url = f"{mount.base}/acme/new-order"
    payload = b'{"identifiers":[{"type":"dns","value":"localhost"}]}'
    nonce = _fresh_nonce(mount)
    assert _post(url, key, payload, nonce=nonce, kid=kid).status_code == 201
    replayed = _post(url, key, payload, nonce=nonce, kid=kid)
    assert replayed.status_code == 400
    assert replayed.headers["content-type"] == "application/problem+json"
    assert replayed.json()["type"] == "urn:ietf:params:acme:error:badNonce"
    assert replayed.headers["Replay-Nonce"]
    invented = _post(url, key, payload, nonce=b"not-a-nonce-we-gave", kid=kid)
    assert invented.json()["type"] == "urn:ietf:params:acme:error:badNonce"


@pytest.mark.parametrize(
    ("identifier", "problem"),
    [
        ({"type": "dns", "value": "a..example.test"}, "malformed"),
        ({"type": "dns", "value": "under_score.test"}, "malformed"),
        ({"type": "dns", "value": "*.\u00e9.test"}, "malformed"),
        ({"type": "dns", "value": "*.*.example.test"}, "malformed"),
        ({"type": "dns", "value": "10.0.0.1"}, "malformed"),
        ({"type": "ip", "value": "not-an-address"}, "malformed"),
        ({"type": "email", "value": "ops@example.test"}, "unsupportedIdentifier"),
        ({"type": "dns", "value": ""}, "malformed"),
    ],
)
def test_an_identifier_no_certificate_can_name_is_refused(
    mount: Mount, identifier: dict[str, str], problem: str
) -> None:
    acme, key = new_client(mount.directory_url())
    body = json.dumps({"identifiers": [identifier]}).encode()
    answer = _post(
        f"{mount.base}/acme/new-order", key, body, nonce=_fresh_nonce(mount), kid=acme.net.account.uri
    )
    assert answer.status_code == 400
    assert answer.json()["type"] == f"urn:ietf:params:acme:error:{problem}"


def test_an_unknown_account_and_a_wrong_url_are_refused(mount: Mount) -> None:
    key = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    url = f"{mount.base}/acme/new-order"
    answer = _post(url, key, b"{}", nonce=_fresh_nonce(mount), kid=f"{mount.base}/acme/account/nobody")
    assert answer.status_code == 400
    assert answer.json()["type"] == "urn:ietf:params:acme:error:accountDoesNotExist"
    unsigned_by_account = _post(url, key, b"{}", nonce=_fresh_nonce(mount), kid=None)
    assert unsigned_by_account.json()["type"] == "urn:ietf:params:acme:error:malformed"  # needs a kid
    acme, own = new_client(mount.directory_url())
    kid = acme.net.account.uri
    order = b'{"identifiers":[{"type":"dns","value":"localhost"}]}'
    # A JWS names the URL it is for: one replayed at another endpoint is refused.
    signed = _post(url, own, order, nonce=_fresh_nonce(mount), kid=kid)
    assert signed.status_code == 201
    jws = acme_jws.JWS.sign(
        order,
        key=own,
        alg=josepy.ES256,
        nonce=_fresh_nonce(mount),
        url=f"{mount.base}/acme/new-account",
        kid=kid,
    )
    answer = httpx.post(url, content=jws.json_dumps(), headers={"Content-Type": "application/jose+json"})
    assert answer.status_code == 401
    assert answer.json()["type"] == "urn:ietf:params:acme:error:unauthorized"
    # A signature by another key than the account's is no signature.
    forged = _post(url, key, order, nonce=_fresh_nonce(mount), kid=kid)
    assert forged.json()["type"] == "urn:ietf:params:acme:error:malformed"
    assert "failed to verify signature" in forged.json()["detail"]


def test_only_return_existing_finds_the_account_of_a_key(mount: Mount) -> None:
    acme, _key = new_client(mount.directory_url())
    found = acme.query_registration(acme.net.account)
    assert found.body.status == "valid"
    stranger = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    answer = _post(
        f"{mount.base}/acme/new-account", stranger, b'{"onlyReturnExisting":true}',
        nonce=_fresh_nonce(mount), kid=None,
    )  # fmt: skip
    assert answer.json()["type"] == "urn:ietf:params:acme:error:accountDoesNotExist"
    acme.deactivate_registration(acme.net.account)
    csr, _ = csr_for("localhost")
    with pytest.raises(messages.Error) as refused:
        acme.new_order(csr)
    assert refused.value.code == "unauthorized"


def _key_change(mount: Mount, acme: client.ClientV2, old: josepy.JWK, new: josepy.JWK) -> httpx.Response:
    url = f"{mount.base}/acme/key-change"
    kid = acme.net.account.uri
    change = json.dumps({"account": kid, "oldKey": old.public_key().to_partial_json()}).encode()
    inner = acme_jws.JWS.sign(change, key=new, alg=josepy.ES256, nonce=None, url=url, kid=None)
    return _post(url, old, inner.json_dumps().encode(), nonce=_fresh_nonce(mount), kid=kid)


def test_a_key_change_moves_the_account_to_its_new_key(mount: Mount) -> None:
    acme, old = new_client(mount.directory_url())
    new = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    changed = _key_change(mount, acme, old, new)
    assert changed.status_code == 200
    assert changed.json()["status"] == "valid"
    # The new key finds the account; the old one no longer signs for it.
    found = _post(
        f"{mount.base}/acme/new-account",
        new,
        b'{"onlyReturnExisting":true}',
        nonce=_fresh_nonce(mount),
        kid=None,
    )
    assert found.headers["Location"] == acme.net.account.uri
    order = b'{"identifiers":[{"type":"dns","value":"localhost"}]}'
    stale = _post(
        f"{mount.base}/acme/new-order", old, order, nonce=_fresh_nonce(mount), kid=acme.net.account.uri
    )
    assert stale.json()["detail"].startswith("failed to verify signature")
    fresh = _post(
        f"{mount.base}/acme/new-order", new, order, nonce=_fresh_nonce(mount), kid=acme.net.account.uri
    )
    assert fresh.status_code == 201
    # A key that already holds an account cannot be taken over: 409 naming that account.
    other, other_key = new_client(mount.directory_url())
    taken = _key_change(mount, other, other_key, new)
    assert taken.status_code == 409
    assert taken.headers["Location"] == acme.net.account.uri


def test_an_issuer_directory_signs_with_that_issuer_and_allowed_issuers_limits_it(
    server: RunningServer, responders: Responders
) -> None:
    with server.client() as root:
        mount = _setup(root, server.address, "pki-acme-issuers", responders)
        second = root.post(
            f"/v1/{mount.path}/root/generate/internal",
            json={"common_name": "Second Root", "key_type": "ec", "issuer_name": "second"},
        ).json()["data"]
        acme, key = new_client(mount.directory_url("issuer/second/acme/"))
        chain = x509.load_pem_x509_certificates(obtain(acme, key, mount, "localhost").encode())
        assert chain[1] == x509.load_pem_x509_certificate(second["certificate"].encode())
        assert chain[0].issuer == chain[1].subject
        # The default directory still signs with the default (first) issuer.
        default_chain = obtain(*new_client(mount.directory_url()), mount, "localhost")
        assert (
            "Second Root"
            not in x509.load_pem_x509_certificates(default_chain.encode())[1].subject.rfc4514_string()
        )
        root.post(f"/v1/{mount.path}/config/acme", json={"allowed_issuers": ["default"]}).raise_for_status()
        refused = httpx.get(mount.directory_url("issuer/second/acme/"))
        assert refused.status_code == 500
        assert refused.json()["detail"].endswith("specified issuer not allowed by ACME policy")
        assert httpx.get(mount.directory_url()).status_code == 200


def test_an_eab_is_required_single_use_and_bound_to_its_directory(
    server: RunningServer, responders: Responders
) -> None:
    with server.client() as root:
        mount = _setup(root, server.address, "pki-acme-eab", responders, eab_policy="new-account-required")
        url = mount.directory_url()
        directory = httpx.get(url).json()
        assert directory["meta"]["externalAccountRequired"] is True
        with pytest.raises(messages.Error) as refused:
            new_client(url)
        assert refused.value.code == "externalAccountRequired"
        made = root.post(f"/v1/{mount.path}/acme/new-eab").json()["data"]
        assert made["key_type"] == "hs"
        assert made["acme_directory"] == "acme/directory"
        listed = root.request("LIST", f"/v1/{mount.path}/eab").json()["data"]
        assert made["id"] in listed["keys"]
        assert "key" not in listed["key_info"][made["id"]]
        acme, key = new_client(url, eab=(made["id"], made["key"]))
        assert obtain(acme, key, mount, "localhost")
        with pytest.raises(messages.Error) as reused:
            new_client(url, eab=(made["id"], made["key"]))
        assert reused.value.code == "unauthorized"
        other = root.post(f"/v1/{mount.path}/roles/web/acme/new-eab").json()["data"]
        with pytest.raises(messages.Error) as misplaced:
            new_client(url, eab=(other["id"], other["key"]))
        assert misplaced.value.code == "unauthorized"
        deleted = root.delete(f"/v1/{mount.path}/eab/{other['id']}")
        assert deleted.status_code == 204
        again = root.delete(f"/v1/{mount.path}/eab/{other['id']}").json()
        assert again["warnings"] == [f"No key id found with id: {other['id']}"]
        # new-eab hands out keys: it needs a token, unlike the ACME endpoints.
        assert httpx.post(f"{server.address}/v1/{mount.path}/acme/new-eab").status_code == 403


def _bao_error(answer: httpx.Response) -> list[str]:
    """An error list without the wrapping OpenBao's go-multierror adds ("1 error occurred: ...")."""
    return [e.removeprefix("1 error occurred:\n\t* ").strip() for e in answer.json()["errors"]]


def _acme_answers(target: RunningServer, *, tuned: bool) -> dict[str, Any]:
    """What a fresh pki mount answers along ACME's setup, with the server's address taken out."""
    seen: dict[str, Any] = {}
    path = "pki-acme-diff" + ("-tuned" if tuned else "")
    base = f"{target.address}/v1/{path}"

    def plain(answer: httpx.Response) -> tuple[int, str, str | None, str | None]:
        link = answer.headers.get("link")
        return (
            answer.status_code,
            answer.text.replace(target.address, "ADDR"),
            answer.headers.get("content-type") if answer.content else None,
            link and link.replace(target.address, "ADDR"),
        )

    with target.client() as root:
        config = {"allowed_response_headers": ["Replay-Nonce", "Link", "Location"]} if tuned else {}
        root.post(f"/v1/sys/mounts/{path}", json={"type": "pki", "config": config}).raise_for_status()
        seen["config default"] = root.get(f"/v1/{path}/config/acme").json()["data"]
        seen["cluster default"] = root.get(f"/v1/{path}/config/cluster").json()["data"]
        seen["disabled directory"] = httpx.get(f"{base}/acme/directory").status_code
        seen["enable without cluster"] = _bao_error(
            root.post(f"/v1/{path}/config/acme", json={"enabled": True})
        )
        root.post(f"/v1/{path}/root/generate/internal", json={"common_name": "x", "key_type": "ec"})
        seen["cluster not a URL"] = _bao_error(root.post(f"/v1/{path}/config/cluster", json={"path": "x"}))
        cluster = root.post(f"/v1/{path}/config/cluster", json={"path": base}).json()["data"]
        seen["cluster"] = {k: v.replace(target.address, "ADDR") for k, v in cluster.items()}
        for body in (
            {"eab_policy": "bogus"},
            {"default_directory_policy": "role:nope"},
            {"default_directory_policy": "what"},
            {"allowed_roles": ""},
            {"dns_resolver": "resolver.example:53"},
        ):
            seen[f"refused {body}"] = _bao_error(root.post(f"/v1/{path}/config/acme", json=body))
        enabled = root.post(
            f"/v1/{path}/config/acme", json={"enabled": True, "eab_policy": "new-account-required"}
        )
        seen["enable"] = enabled.json()["data"]
        seen["directory"] = plain(httpx.get(f"{base}/acme/directory"))
        head = httpx.head(f"{base}/acme/new-nonce")
        seen["nonce head"] = (*plain(head), "replay-nonce" in head.headers)
        get = httpx.get(f"{base}/acme/new-nonce")
        seen["nonce get"] = (*plain(get), "replay-nonce" in get.headers)
        seen["unknown role directory"] = plain(httpx.get(f"{base}/roles/none/acme/directory"))
        seen["unsigned new-account"] = plain(
            httpx.post(
                f"{base}/acme/new-account", content=b"{}", headers={"content-type": "application/jose+json"}
            )
        )[:3]
        eab = root.post(f"/v1/{path}/roles/none/acme/new-eab").json()["data"]
        seen["eab"] = (sorted(eab), eab["key_type"], eab["acme_directory"], eab["key"][:12], len(eab["key"]))
        missing = "6f2b2ad5-0c5d-4bc8-a50c-4b3e4b8b0f1e"
        seen["delete missing eab"] = root.delete(f"/v1/{path}/eab/{missing}").json()["warnings"]
        not_an_id = root.delete(f"/v1/{path}/eab/not-an-id")
        seen["delete a non-id"] = (not_an_id.status_code, _bao_error(not_an_id))
        root.post(f"/v1/{path}/config/acme", json={"default_directory_policy": "forbid"}).raise_for_status()
        seen["forbidden default directory"] = plain(httpx.get(f"{base}/acme/directory"))
        seen["role directory still open"] = plain(httpx.get(f"{base}/roles/none/acme/directory"))[0]
    return seen


@pytest.mark.parametrize("tuned", [False, True], ids=["untuned", "tuned"])
def test_config_and_directory_answers_match_openbao(
    server: RunningServer, bao: RunningServer, tuned: bool
) -> None:
    ours, theirs = _acme_answers(server, tuned=tuned), _acme_answers(bao, tuned=tuned)
    assert ours == theirs
    # The tuned mount sends the nonce; the untuned one drops it, as OpenBao's router does.
    assert ours["nonce head"][-1] is tuned


def test_a_validation_under_way_resumes_after_a_restart(tmp_path: Path, responders: Responders) -> None:
    http01 = responders[0]
    port = free_port()
    config = sqlite_config(tmp_path, port)
    with strongroom_config_server(tmp_path, config, port) as first:
        unseal_key, token = init_and_unseal(first.address)
        with httpx.Client(base_url=first.address, headers={"X-Vault-Token": token}, timeout=10) as root:
            mount = _setup(root, first.address, "pki", responders)
        acme, key = new_client(mount.directory_url())
        csr, _ = csr_for("localhost")
        order = acme.new_order(csr)
        [authz] = order.authorizations
        challenge = _challenge(authz, "http-01")
        token_value = challenge.chall.encode("token")
        acme.answer_challenge(challenge, challenges.HTTP01Response())  # nothing served yet: it will retry
        deadline = time.monotonic() + DEADLINE
        while token_value not in http01.fetches and time.monotonic() < deadline:
            time.sleep(0.1)
        assert token_value in http01.fetches
    with strongroom_config_server(tmp_path, config, port) as second:
        http01.answers[token_value] = f"{token_value}.{josepy.b64encode(key.thumbprint()).decode()}"
        httpx.put(f"{second.address}/v1/sys/unseal", json={"key": unseal_key}).raise_for_status()
        # The client's nonce died with the first process: badNonce, and the library retries with a fresh one.
        finalized = acme.poll_and_finalize(order, deadline=_deadline())
        assert dns_names(leaf(finalized.fullchain_pem)) == ["localhost"]


def _protocol_answers(target: RunningServer) -> list[tuple[str, Any]]:
    """(what, answer) for a run of signed ACME requests, the server's address and random ids taken out."""
    path = "pki-acme-jws"
    base = f"{target.address}/v1/{path}"
    with target.client() as root:
        config = {"allowed_response_headers": ["Replay-Nonce", "Link", "Location"]}
        root.post(f"/v1/sys/mounts/{path}", json={"type": "pki", "config": config}).raise_for_status()
        root.post(f"/v1/{path}/root/generate/internal", json={"common_name": "x", "key_type": "ec"})
        root.post(f"/v1/{path}/config/cluster", json={"path": base}).raise_for_status()
        root.post(f"/v1/{path}/config/acme", json={"enabled": True}).raise_for_status()
        root.post(f"/v1/{path}/roles/web", json={"allowed_domains": "example.test", "allow_subdomains": True})
    key = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))

    def nonce() -> bytes:
        return josepy.b64decode(httpx.head(f"{base}/acme/new-nonce").headers["Replay-Nonce"])

    def send(url: str, payload: bytes, kid: str | None, *, with_nonce: bytes | None = None) -> httpx.Response:
        jws = acme_jws.JWS.sign(
            payload, key=key, alg=josepy.ES256, nonce=with_nonce or nonce(), url=url, kid=kid
        )
        return httpx.post(url, content=jws.json_dumps(), headers={"Content-Type": "application/jose+json"})

    def shape(answer: httpx.Response) -> tuple[int, Any]:
        if answer.headers.get("content-type") == "application/problem+json":
            return answer.status_code, answer.json()["type"]
        body = answer.json() if answer.content else None
        return answer.status_code, sorted(body) if isinstance(body, dict) else body

    seen: list[tuple[str, Any]] = []
    created = send(f"{base}/acme/new-account", b'{"contact":["mailto:ops@example.test"]}', None)
    kid = created.headers["Location"]
    seen.append(
        ("new account", (shape(created), created.json()["contact"], "replay-nonce" in created.headers))
    )
    seen.append(("same key again", shape(send(f"{base}/acme/new-account", b"{}", None))))
    # OpenBao drops an account's contacts on a POST-as-GET or a deactivation that does not repeat them;
    # RFC 8555 7.3.2 changes only the fields a request names, so here only the status is compared.
    seen.append(("account by kid", shape(send(kid, b"", kid))[0]))
    order = send(f"{base}/acme/new-order", b'{"identifiers":[{"type":"dns","value":"localhost"}]}', kid)
    seen.append(("new order", (shape(order), order.json()["status"], order.json()["identifiers"])))
    order_url = order.headers["Location"]
    authz_url = order.json()["authorizations"][0]
    authz = send(authz_url, b"", kid).json()
    seen.append(("authorization", (sorted(authz), sorted(c["type"] for c in authz["challenges"]))))
    csr = josepy.encode_b64jose(
        x509.load_pem_x509_csr(csr_for("localhost")[0]).public_bytes(serialization.Encoding.DER)
    )
    finalize = json.dumps({"csr": csr}).encode()
    seen.append(("finalize too early", shape(send(order_url + "/finalize", finalize, kid))))
    seen.append(("cert too early", shape(send(order_url + "/cert", b"", kid))))
    seen.append(("order by POST-as-GET", shape(send(order_url, b"", kid))))
    unknown = "6f2b2ad5-0c5d-4bc8-a50c-4b3e4b8b0f1e"
    seen.append(("unknown order", shape(send(f"{base}/acme/order/{unknown}", b"", kid))))
    seen.append(("unknown authorization", shape(send(f"{base}/acme/authorization/{unknown}", b"", kid))))
    seen.append(
        (
            "unknown challenge type",
            shape(send(f"{authz_url.replace('authorization', 'challenge')}/nope-01", b"", kid)),
        )
    )
    used = nonce()
    send(
        f"{base}/acme/new-order",
        b'{"identifiers":[{"type":"dns","value":"localhost"}]}',
        kid,
        with_nonce=used,
    )
    seen.append(("reused nonce", shape(send(f"{base}/acme/new-order", b"{}", kid, with_nonce=used))))
    seen.append(("no identifiers", shape(send(f"{base}/acme/new-order", b"{}", kid))))
    seen.append(
        (
            "email identifier",
            shape(send(f"{base}/acme/new-order", b'{"identifiers":[{"type":"email","value":"a@b.c"}]}', kid)),
        )
    )
    seen.append(
        (
            "ip as dns",
            shape(
                send(f"{base}/acme/new-order", b'{"identifiers":[{"type":"dns","value":"10.0.0.1"}]}', kid)
            ),
        )
    )
    seen.append(
        (
            "not allowed by role",
            shape(
                send(
                    f"{base}/roles/web/acme/new-order",
                    b'{"identifiers":[{"type":"dns","value":"x.other.test"}]}',
                    kid,
                )
            ),
        )
    )
    seen.append(
        (
            "notAfter",
            shape(
                send(
                    f"{base}/acme/new-order",
                    b'{"identifiers":[{"type":"dns","value":"localhost"}],"notAfter":"2030-01-01T00:00:00Z"}',
                    kid,
                )
            ),
        )
    )
    seen.append(
        ("unknown kid", shape(send(f"{base}/acme/new-order", b"{}", f"{base}/acme/account/{unknown}")))
    )
    seen.append(("new-order without kid", shape(send(f"{base}/acme/new-order", b"{}", None))))
    seen.append(
        (
            "revoke unknown certificate reason",
            shape(send(f"{base}/acme/revoke-cert", b'{"certificate":"AA","reason":4}', kid)),
        )
    )
    seen.append(("orders", shape(send(f"{base}/acme/orders", b"", kid))))
    deactivated = send(kid, b'{"status":"deactivated"}', kid)
    seen.append(("deactivate", (deactivated.status_code, deactivated.json()["status"])))
    seen.append(("deactivated account orders", shape(send(f"{base}/acme/new-order", b"{}", kid))))
    return seen


def test_signed_requests_are_answered_as_openbao_answers_them(
    server: RunningServer, bao: RunningServer
) -> None:
    ours, theirs = _protocol_answers(server), _protocol_answers(bao)
    assert [what for what, _ in ours] == [what for what, _ in theirs]
    differing = [(what, mine, reference) for (what, mine), (_, reference) in zip(ours, theirs, strict=True)
                 if mine != reference]  # fmt: skip
    assert differing == [], "\n".join(map(str, differing))
