"""Differential test of pki's revocation side: config/crl, revoke and revoke-with-key, certs/revoked, cert/
<serial>, CRL rotation, config/urls' delta CRL points and tidy, sent to strongroom and to OpenBao alike.

Certificates, serials, ids and times are masked to their checked shape as in test_pki_differential.
"""

from __future__ import annotations

import re
import time
from typing import Any

from tests.interop.differential import Answer, Intended, Step, assert_alike, run
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
    Step("list revoked page", "LIST", f"/v1/{M}/certs/revoked?limit=1"),
    Step("list revoked after", "LIST", f"/v1/{M}/certs/revoked?after=${{serial}}"),
    Step("list certs page", "LIST", f"/v1/{M}/certs?limit=2"),
    get("read revoked cert", "cert/${serial}"),
    get("rotate delta disabled", "crl/rotate-delta"),
    Step(
        "issuer without crl signing",
        "PATCH",
        f"/v1/{M}/issuer/default",
        body={"usage": "read-only,issuing-certificates,ocsp-signing"},
        headers={"Content-Type": "application/merge-patch+json"},
    ),
    post(
        "issue third",
        "issue/web",
        {"common_name": "c.example.com", "ttl": "1h"},
        save={"third": "data.serial_number"},
    ),
    post("revoke without crl signing", "revoke", {"serial_number": "${third}"}),
    get("rotate without crl signing", "crl/rotate"),
    Step(
        "issuer crl signing again",
        "PATCH",
        f"/v1/{M}/issuer/default",
        body={"usage": "read-only,issuing-certificates,ocsp-signing,crl-signing"},
        headers={"Content-Type": "application/merge-patch+json"},
    ),
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
    Step("issuer crl json", "GET", f"/v1/{M}/issuer/default/crl", token=""),
    Step("issuer crl pem", "GET", f"/v1/{M}/issuer/default/crl/pem", token=""),
    Step("issuer delta crl json", "GET", f"/v1/{M}/issuer/default/crl/delta", token=""),
    Step("issuer delta crl pem", "GET", f"/v1/{M}/issuer/default/crl/delta/pem", token=""),
    Step("unknown issuer crl", "GET", f"/v1/{M}/issuer/nope/crl/pem", token=""),
    post(
        "urls delta", "config/urls", {"delta_crl_distribution_points": "http://ca.test/v1/diffcrl/crl/delta"}
    ),
    post("urls bad delta", "config/urls", {"delta_crl_distribution_points": "nope"}),
    post("urls bad crl", "config/urls", {"crl_distribution_points": "nope"}),
    get("read urls", "config/urls"),
    post(
        "urls templated no cluster",
        "config/urls",
        {"enable_templating": True, "issuing_certificates": "{{cluster_path}}/issuer/{{issuer_id}}/der"},
    ),
    post("issue templated no cluster", "issue/web", {"common_name": "c.example.com", "ttl": "1h"}),
    get("read cluster empty", "config/cluster"),
    post("cluster bad path", "config/cluster", {"path": "nope"}),
    post(
        "cluster", "config/cluster", {"path": "https://pr.test/v1/diffcrl", "aia_path": "http://aia.test/x"}
    ),
    get("read cluster", "config/cluster"),
    post(
        "urls templated",
        "config/urls",
        {
            "enable_templating": True,
            "issuing_certificates": "{{cluster_aia_path}}/issuer/{{issuer_id}}/der",
            "crl_distribution_points": "{{cluster_path}}/crl",
        },
    ),
    get("read urls templated", "config/urls"),
    post("urls templates without templating", "config/urls", {"enable_templating": False}),
    post(
        "urls plain",
        "config/urls",
        {"issuing_certificates": "", "crl_distribution_points": "", "enable_templating": False},
    ),
    post("crl disable", "config/crl", {"disable": True}),
    get("tidy status inactive", "tidy-status"),
    post("tidy zero buffer", "tidy", {"tidy_cert_store": True, "safety_buffer": 0}),
    post("tidy small page", "tidy", {"tidy_cert_store": True, "page_size": 3}),
    post("tidy cancel idle", "tidy-cancel"),
    Step("disable", "DELETE", f"/v1/sys/mounts/{M}"),
]

INTENDED: list[Intended] = [
    Intended(
        "unknown issuer crl",
        "status",
        "OpenBao answers a CRL request for an issuer it does not have with a 500; here it is a 400",
    ),
    Intended(
        "issue templated no cluster",
        "*",
        "OpenBao answers URLs it cannot template at issuance with a 500; the mount's configuration is "
        "wrong, so here it is a 400 with the same words",
    ),
    Intended(
        "cluster bad path",
        "*",
        "OpenBao answers a cluster path that is no URL with a 500 and a wrapped error list; here it is a 400",
    ),
    Intended(
        "rwk wrong key",
        "*",
        "OpenBao answers a key that is not the certificate's with a 500 and a wrapped error list; a bad "
        "input is a 400 with the plain message here",
    ),
]


_INNER_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _ids_in_warnings(answers: list[Answer]) -> list[Answer]:
    """Issuer ids quoted inside warnings, masked (each server's issuer has its own)."""
    masked = []
    for answer in answers:
        body = answer.body
        if isinstance(body, dict) and body.get("warnings"):
            body = {**body, "warnings": [_INNER_UUID.sub("<uuid>", text) for text in body["warnings"]]}
        masked.append(Answer(answer.status, body))
    return masked


def test_pki_revocation_matches_openbao(server: RunningServer, bao: RunningServer) -> None:
    ours = _masked(_ids_in_warnings(run(server, STEPS)))
    theirs = _masked(_ids_in_warnings(run(bao, STEPS)))
    assert_alike(STEPS, ours, theirs, INTENDED)


def _tidy_outcome(server: RunningServer, mount: str) -> list[Any]:
    """Issue two short-lived certificates (one revoked), let them expire, tidy in two steps, and report what
    tidy-status counted and what is left."""
    with server.client() as client:

        def ok(response: Any) -> Any:
            assert response.status_code in (200, 202, 204), response.text
            return response.json() if response.content else None

        def tidied(body: dict[str, Any]) -> dict[str, Any]:
            ok(client.post(f"/v1/{mount}/tidy", json={"safety_buffer": "1s", **body}))
            deadline = time.monotonic() + 10  # OpenBao tidies in the background
            while True:
                status = ok(client.get(f"/v1/{mount}/tidy-status"))["data"]
                if status["state"] != "Running" or time.monotonic() > deadline:
                    return status

        ok(client.post(f"/v1/sys/mounts/{mount}", json={"type": "pki"}))
        ok(client.post(f"/v1/{mount}/root/generate/internal", json={"common_name": "t", "key_type": "ec"}))
        ok(client.post(f"/v1/{mount}/roles/r", json={"allow_any_name": True, "key_type": "ec"}))
        serials = [
            ok(client.post(f"/v1/{mount}/issue/r", json={"common_name": name, "ttl": "3s"}))["data"][
                "serial_number"
            ]
            for name in ("a", "b")
        ]
        ok(client.post(f"/v1/{mount}/revoke", json={"serial_number": serials[0]}))
        time.sleep(5)
        outcome: list[Any] = []
        for body in ({"tidy_cert_store": True}, {"tidy_revoked_certs": True}):
            status = tidied(body)
            counts = [
                status[key] for key in ("state", "cert_store_deleted_count", "revoked_cert_deleted_count")
            ]
            certs = ok(client.request("LIST", f"/v1/{mount}/certs")) or {"data": {"keys": []}}
            revoked = client.request("LIST", f"/v1/{mount}/certs/revoked")
            left = revoked.json()["data"]["keys"] if revoked.status_code == 200 else []
            outcome.append([counts, len(certs["data"]["keys"]), left == [serials[0]]])
        ok(client.delete(f"/v1/sys/mounts/{mount}"))
    return outcome


def test_tidy_deletes_as_openbao(server: RunningServer, bao: RunningServer) -> None:
    ours = _tidy_outcome(server, "difftidy")
    assert ours == _tidy_outcome(bao, "difftidy")
    assert ours[0][0] == ["Finished", 2, 0]  # both expired certificates, the revoked one's record too
