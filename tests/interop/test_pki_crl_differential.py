"""Differential test of pki's revocation side: config/crl, revoke and revoke-with-key, certs/revoked, cert/
<serial>, CRL rotation, config/urls' delta CRL points and tidy, sent to strongroom and to OpenBao alike.

Certificates, serials, ids and times are masked to their checked shape as in test_pki_differential.
"""

from __future__ import annotations

from typing import Any

from tests.interop.differential import Intended, Step, assert_alike, run
from tests.interop.test_pki_differential import _masked
from tests.servers import RunningServer

M = "diffcrl"
ROLE = {"allowed_domains": "example.com", "allow_subdomains": True, "max_ttl": "72h", "key_type": "ec"}


def post(name: str, path: str, body: Any = None, **kw: Any) -> Step:
    return Step(name, "POST", f"/v1/{M}/{path}", body={} if body is None else body, **kw)


def get(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "GET", f"/v1/{M}/{path}", **kw)


STEPS: list[Step] = [
    Step("enable", "POST", f"/v1/sys/mounts/{M}", body={"type": "pki"}),
    get("config crl defaults", "config/crl"),
    post("crl delta without auto rebuild", "config/crl", {"enable_delta": True}),
    post("crl bad expiry", "config/crl", {"expiry": "bogus"}),
    post("crl bad grace", "config/crl", {"auto_rebuild": True, "auto_rebuild_grace_period": "100h"}),
    post("crl negative ocsp expiry", "config/crl", {"ocsp_expiry": "-1s"}),
    post(
        "crl bad delta interval",
        "config/crl",
        {"auto_rebuild": True, "enable_delta": True, "delta_rebuild_interval": "80h"},
    ),
    post("crl bad interval text", "config/crl", {"delta_rebuild_interval": "soon"}),
    post("crl write", "config/crl", {"expiry": "48h", "ocsp_expiry": "1h"}),
    get("config crl written", "config/crl"),
    post("root", "root/generate/internal", {"common_name": "example.com", "ttl": "8760h", "key_type": "ec"}),
    post("role", "roles/web", ROLE),
    post(
        "issue",
        "issue/web",
        {"common_name": "a.example.com", "ttl": "1h"},
        save={"serial": "data.serial_number", "key": "data.private_key", "cert": "data.certificate"},
    ),
    post(
        "issue other",
        "issue/web",
        {"common_name": "b.example.com", "ttl": "1h"},
        save={"other_key": "data.private_key", "other": "data.serial_number"},
    ),
    get("read cert", "cert/${serial}"),
    Step("list revoked empty", "LIST", f"/v1/{M}/certs/revoked"),
    post("rwk without key", "revoke-with-key", {"serial_number": "${serial}"}),
    post("rwk short key", "revoke-with-key", {"serial_number": "${serial}", "private_key": "short"}),
    post("rwk wrong key", "revoke-with-key", {"serial_number": "${serial}", "private_key": "${other_key}"}),
    post(
        "rwk both",
        "revoke-with-key",
        {"serial_number": "${serial}", "certificate": "${cert}", "private_key": "${key}"},
    ),
    post("rwk missing", "revoke-with-key", {"serial_number": "00:11", "private_key": "${key}"}),
    post("rwk", "revoke-with-key", {"serial_number": "${serial}", "private_key": "${key}"}),
    post("revoke by pem again", "revoke", {"certificate": "${cert}"}),
    Step("list revoked", "LIST", f"/v1/{M}/certs/revoked"),
    get("read revoked cert", "cert/${serial}"),
    get("rotate delta disabled", "crl/rotate-delta"),
    post("crl auto and delta", "config/crl", {"auto_rebuild": True, "enable_delta": True}),
    post("revoke with delta", "revoke", {"serial_number": "${other}"}),
    get("rotate delta", "crl/rotate-delta"),
    get("rotate", "crl/rotate"),
    get("cert crl", "cert/crl"),
    get("cert delta crl", "cert/delta-crl"),
    get("cert ca chain", "cert/ca_chain"),
    Step("raw cert pem", "GET", f"/v1/{M}/cert/${{serial}}/raw/pem", token=""),
    Step("raw ca pem", "GET", f"/v1/{M}/cert/ca/raw/pem", token=""),
    Step("raw missing", "GET", f"/v1/{M}/cert/00:11/raw", token=""),
    Step("raw not hex", "GET", f"/v1/{M}/cert/zz/raw", token=""),
    Step("delta crl pem", "GET", f"/v1/{M}/crl/delta/pem", token=""),
    post(
        "urls delta", "config/urls", {"delta_crl_distribution_points": "http://ca.test/v1/diffcrl/crl/delta"}
    ),
    post("urls bad delta", "config/urls", {"delta_crl_distribution_points": "nope"}),
    post("urls bad crl", "config/urls", {"crl_distribution_points": "nope"}),
    get("read urls", "config/urls"),
    post("crl disable", "config/crl", {"disable": True}),
    get("tidy status inactive", "tidy-status"),
    post("tidy zero buffer", "tidy", {"tidy_cert_store": True, "safety_buffer": 0}),
    post("tidy small page", "tidy", {"tidy_cert_store": True, "page_size": 3}),
    post("tidy cancel idle", "tidy-cancel"),
    Step("disable", "DELETE", f"/v1/sys/mounts/{M}"),
]

INTENDED: list[Intended] = [
    Intended(
        "rwk wrong key",
        "*",
        "OpenBao answers a key that is not the certificate's with a 500 and a wrapped error list; a bad "
        "input is a 400 with the plain message here",
    ),
]


def test_pki_revocation_matches_openbao(server: RunningServer, bao: RunningServer) -> None:
    ours = _masked(run(server, STEPS))
    theirs = _masked(run(bao, STEPS))
    assert_alike(STEPS, ours, theirs, INTENDED)
