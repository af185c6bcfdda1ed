"""Fuzz a real strongroom dev server with adversarial requests and record every answer that breaks the rule.

Run by hand, never in CI:

    uv run python bench/fuzz.py [--seconds 300] [--seed 1] [--workers 6] [--out /tmp/strongroom-fuzz]

The rule: bad input gets Vault's `{"errors": [...]}` with a 4xx, never a 5xx or a traceback. The script
starts `strongroom server -dev` on a free port, mounts every engine and auth method, sets up state deep
enough for the handlers to reach their parsing (a PKI root and roles, an ACME-enabled mount with
config/cluster, transit keys, SSH and TOTP keys, identity and OIDC objects, quotas, a password policy),
then reads the server's OpenAPI document and sends requests built from it for `--seconds`: every HTTP
method (LIST included), path parameters that are known names or hostile segments, bodies with each field
given the wrong type, huge or negative numbers, NaN-like and control-character strings, long strings,
malformed base64/PEM/DER/JSON, and odd content types; half as root, half as a token with a limited policy.
Beside the schema it sends JWS bodies to the ACME endpoints, mutated DER OCSP requests (GET base64 and POST
raw body), mutated snapshots to restore, WebSocket upgrades to sys/events/subscribe with hostile
`vault-token.b64url.` subprotocols, and paths under /ui/.

Recorded, in OUT/findings.jsonl (one line per request, the first 20 per endpoint and status): every 5xx,
every 4xx whose body is not JSON with an `errors` list (except the endpoints whose answers are not Vault's
JSON: OCSP, PEM/DER/CRL fetches, ACME problem+json, the UI), and a summary by endpoint template. The server's
log is OUT/server.log; the count of tracebacks in it is printed. Requests that would end the run rather
than test input (sealing, revoking the root token, disabling the mounts set up here, deleting the PKI
root) are never sent.

The hostile values and requests are in bench/fuzz_inputs.py, the setup and the after-run check in
bench/fuzz_server.py.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import random
import re
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz_inputs import (
    CONTENT_TYPES,
    KNOWN_NAMES,
    Generator,
    Material,
    b64,
    hostile_strings,
    jws,
    mutate_bytes,
    quote,
)
from fuzz_server import call, drop_quotas, health_check, set_up
from tests.servers import strongroom_dev_server

# (method regex, path regex): requests that would stop the run instead of testing how input is parsed.
NEVER = [
    (".", r"^sys/(seal|step-down|generate-root|rekey|rotate/root|replication)"),
    (".", r"^auth/token/revoke-self"),
    (".", r"^sys/(leases/)?revoke-(prefix|force)"),
    ("DELETE", r"^sys/(mounts|auth)/"),
    (".", r"^sys/(remount|mounts/[^/]+/tune|auth/[^/]+/tune)"),
    ("DELETE", r"^pki(-acme)?/(root|issuer/|key/)"),
    (".", r"^pki(-acme)?/root/(replace|rotate)"),
    ("DELETE", r"^sys/(policy|policies/acl)/limited"),
    (".", r"^sys/quotas/config"),
]
# Endpoints whose answers are legitimately not Vault's JSON errors.
NOT_JSON = re.compile(
    r"/ocsp|/acme/|/(ca|crl|ca_chain|pem|der|raw|delta)(/pem|/der)?$|/cert/[^/]+/raw|^/ui|/crl/|"
    r"\.well-known|/oidc/callback|sys/events/subscribe|sys/metrics|/cert/ca_chain|^identity/oidc/provider/[^/]+/(token|authorize|userinfo)"
)
# How the server logs an exception it turned into a 500.
CRASH = re.compile(r"internal error serving request|Traceback")


class Fuzzer:
    def __init__(
        self, address: str, tokens: list[str], paths: dict[str, Any], material: Material, seed: int, out: Path
    ) -> None:
        self.host, port = address.removeprefix("http://").split(":")
        self.port = int(port)
        self.tokens = tokens
        self.paths = paths
        self.material = material
        self.seed = seed
        self.out = out
        self.lock = threading.Lock()
        self.sent = 0
        self.by_status: collections.Counter[int] = collections.Counter()
        self.findings: collections.Counter[tuple[str, str, str]] = collections.Counter()
        self.findings_file = (out / "findings.jsonl").open("w")
        self.transport_errors = 0

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def worker(self, index: int, deadline: float) -> None:
        rng = random.Random(self.seed * 1000 + index)
        gen = Generator(rng, self.paths, Material.__new__(Material))
        gen.material.__dict__.update(self.material.__dict__)
        gen.material.rng = rng
        conn = self.connection()
        while time.monotonic() < deadline:
            kind = rng.random()
            if kind < 0.07:
                method, path, headers, body = self.acme(rng, conn)
            elif kind < 0.11:
                method, path, headers, body = self.ocsp(rng)
            elif kind < 0.12:
                self.websocket(rng)
                continue
            elif kind < 0.13:
                method, path, headers, body = self.snapshot(rng)
            elif kind < 0.15:
                method, path, headers, body = "GET", "ui/" + gen.segment("ui"), {}, b""
                if rng.random() < 0.5:
                    path = rng.choice(["ui", "", "ui/vault/auth", "ui/%2e%2e/%2e%2e/etc/passwd", "ui/.."])
            else:
                method, path, headers, body = gen.request()
            if any(re.search(m, method) and re.search(p, path) for m, p in NEVER):
                continue
            token = rng.choice(self.tokens)
            if rng.random() < 0.02:
                token = hostile_strings(rng).encode("latin-1", "replace").decode("latin-1").replace("\r", "")
                token = token.replace("\n", "")
            headers = {"X-Vault-Token": token, **headers}
            url = "/" + path if path.startswith("ui") or path == "" else "/v1/" + path
            try:
                response, text = self.send(conn, method, url, headers, body)
            except (OSError, http.client.HTTPException):
                # A kept-alive connection the server closed between requests: send again on a new one.
                conn.close()
                conn = self.connection()
                try:
                    response, text = self.send(conn, method, url, headers, body)
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = self.connection()
                    with self.lock:
                        self.transport_errors += 1
                    self.record(method, url, headers, body, 0, repr(exc).encode(), "")
                    continue
            status = response.status
            ctype = response.getheader("Content-Type", "")
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = self.connection()
            with self.lock:
                self.sent += 1
                self.by_status[status] += 1
            if status >= 500 or (
                400 <= status < 500 and method != "HEAD" and not self.vault_error(url, status, text, headers)
            ):
                self.record(method, url, headers, body, status, text, ctype)

    @staticmethod
    def send(
        conn: http.client.HTTPConnection, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[http.client.HTTPResponse, bytes]:
        conn.request(method, url, body=body or None, headers=headers)
        response = conn.getresponse()
        return response, response.read()

    @staticmethod
    def vault_error(url: str, status: int, text: bytes, headers: dict[str, str]) -> bool:
        """Whether a 4xx answer has Vault's shape (or is one of the answers that legitimately differ)."""
        if (
            status == 400
            and not text
            and any(ord(c) < 32 or ord(c) == 127 for v in headers.values() for c in v)
        ):
            return True  # the HTTP parser refused a control character in a header, as Go's does
        if NOT_JSON.search(url.split("?", maxsplit=1)[0].removeprefix("/v1/")) or status in (413, 414, 431):
            return True
        try:
            answer = json.loads(text)
        except ValueError:
            return False
        # Vault answers some 4xx with a whole response: KV v2's 404 with a warning, transit's batch 400.
        return isinstance(answer, dict) and (isinstance(answer.get("errors"), list) or "request_id" in answer)

    def record(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        status: int,
        text: bytes,
        ctype: str,
    ) -> None:
        template = re.sub(r"/v1/", "", url.split("?", maxsplit=1)[0])
        template = "/".join(seg if seg in WORDS else "*" for seg in template.split("/"))
        key = (method, template, str(status))
        with self.lock:
            self.findings[key] += 1
            if self.findings[key] > 20:
                return
            self.findings_file.write(
                json.dumps(
                    {
                        "method": method,
                        "url": url[:3000],
                        "headers": headers,
                        "body": body[:4000].decode("utf-8", "replace"),
                        "status": status,
                        "content_type": ctype,
                        "answer": text[:2000].decode("utf-8", "replace"),
                    }
                )
                + "\n"
            )
            self.findings_file.flush()

    def acme(
        self, rng: random.Random, conn: http.client.HTTPConnection
    ) -> tuple[str, str, dict[str, str], bytes]:
        prefix = rng.choice(
            [
                "pki-acme/acme",
                "pki-acme/roles/r/acme",
                "pki-acme/issuer/default/acme",
                "pki-acme/issuer/default/roles/r/acme",
                "pki/acme",
            ]
        )
        leaf = rng.choice(
            [
                "new-account",
                "new-order",
                "revoke-cert",
                "key-change",
                "orders",
                f"account/{b64(rng.randbytes(6), True)}",
                f"order/{b64(rng.randbytes(6), True)}",
                f"order/{b64(rng.randbytes(6), True)}/finalize",
                f"authorization/{b64(rng.randbytes(6), True)}",
                f"challenge/{b64(rng.randbytes(6), True)}/http-01",
                "new-nonce",
                "directory",
                "order/x/cert",
                quote(hostile_strings(rng)),
            ]
        )
        path = f"{prefix}/{leaf}"
        account = ""
        if self.material.acme_urls and rng.random() < 0.5:
            # As the account the setup made, at the URLs of its order: deep enough to reach the payloads.
            prefix = "pki-acme/acme"
            account = self.material.acme_urls[0]
            target = rng.choice(
                [*self.material.acme_urls, "new-order", "orders", "key-change", "revoke-cert"]
            )
            path = target.split("/v1/", 1)[1] if "/v1/" in target else f"{prefix}/{target}"
        nonce = hostile_strings(rng)
        if rng.random() < 0.7:
            try:
                conn.request("HEAD", f"/v1/{prefix}/new-nonce")
                reply = conn.getresponse()
                reply.read()
                nonce = reply.getheader("Replay-Nonce", nonce)
            except (OSError, http.client.HTTPException):
                conn.close()
        url = f"http://{self.host}:{self.port}/v1/{path}"
        body = jws(self.material, rng, url, nonce, account)
        if rng.random() < 0.1:
            body = mutate_bytes(rng, body)
        return "POST", path, {"Content-Type": rng.choice(["application/jose+json"] * 5 + CONTENT_TYPES)}, body

    def ocsp(self, rng: random.Random) -> tuple[str, str, dict[str, str], bytes]:
        request = self.material.ocsp_request()
        if rng.random() < 0.7:
            request = mutate_bytes(rng, request)
        mount = rng.choice(["pki", "pki-acme"])
        if rng.random() < 0.5:
            encoded = rng.choice(
                [quote(b64(request)), b64(request), b64(request, True), quote(hostile_strings(rng))]
            )
            return "GET", f"{mount}/ocsp/{encoded}", {}, b""
        ctype = rng.choice(["application/ocsp-request"] * 4 + CONTENT_TYPES)
        return "POST", f"{mount}/ocsp", {"Content-Type": ctype}, request

    def snapshot(self, rng: random.Random) -> tuple[str, str, dict[str, str], bytes]:
        body = rng.choice(
            [
                mutate_bytes(rng, self.material.snapshot),
                rng.randbytes(200),
                b"",
                b"{}",
                self.material.snapshot[: rng.randrange(1, max(2, len(self.material.snapshot)))],
            ]
        )
        if body == self.material.snapshot:
            body = body[:-1]
        path = rng.choice(["sys/storage/raft/snapshot", "sys/storage/raft/snapshot-force"])
        return (
            "POST",
            path,
            {"Content-Type": rng.choice(["application/octet-stream", "application/json", ""])},
            body,
        )

    def websocket(self, rng: random.Random) -> None:
        token = rng.choice([*self.tokens, hostile_strings(rng)])
        offers = [
            f"vault-token.b64url.{b64(token.encode('utf-8', 'surrogatepass'), True)}",
            "vault-events.v1",
            f"vault-token.b64url.{hostile_strings(rng)}",
            "vault-token.b64url.",
            "vault-token.b64url.!!!",
            f"vault-token.b64url.{b64(rng.randbytes(20), True)}",
            hostile_strings(rng),
        ]
        protocols = ", ".join(rng.sample(offers, k=rng.randint(0, 3)))
        protocols = (
            protocols.encode("latin-1", "replace").decode("latin-1").replace("\r", "").replace("\n", "")
        )
        pattern = quote(rng.choice(["*", "kv*", hostile_strings(rng), ""]))
        query = rng.choice(
            ["", "?json=true", "?json=x", "?namespaces=%00", "?filter=" + quote(hostile_strings(rng))]
        )
        request = (
            f"GET /v1/sys/events/subscribe/{pattern}{query} HTTP/1.1\r\nHost: {self.host}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {rng.choice([b64(rng.randbytes(16)), '', '!!'])}\r\n"
            f"Sec-WebSocket-Version: {rng.choice(['13', '8', 'x'])}\r\n"
            f"Sec-WebSocket-Protocol: {protocols}\r\n\r\n"
        )
        try:
            with socket.create_connection((self.host, self.port), timeout=10) as sock:
                sock.sendall(request.encode("latin-1"))
                first = sock.recv(4096)
        except OSError as exc:
            first = repr(exc).encode()
        status_line = first.split(b"\r\n", 1)[0]
        with self.lock:
            self.sent += 1
        match = re.match(rb"HTTP/1.1 (\d+)", status_line)
        status = int(match.group(1)) if match else 0
        with self.lock:
            self.by_status[status] += 1
        if status >= 500 or status == 0:
            self.record(
                "GET(ws)",
                f"/v1/sys/events/subscribe/{pattern}{query}",
                {"Sec-WebSocket-Protocol": protocols},
                b"",
                status,
                first,
                "",
            )


WORDS: set[str] = set()


def crash_sites(log: str) -> collections.Counter[str]:
    """The exceptions in the server's log, each as its type and innermost frame of strongroom's code."""
    sites: collections.Counter[str] = collections.Counter()
    for block in re.split(r"\n(?=\d{4}-\d\d-\d\d )", log):
        lines = block.strip().splitlines()
        if not lines or not CRASH.search(lines[0]):
            continue
        frames = [line.strip() for line in lines if line.strip().startswith("File ") and "strongroom" in line]
        where = (
            re.sub(r'^File ".*/(strongroom/[^"]+)", line (\d+), in (\S+)', r"\1:\2 \3", frames[-1])
            if frames
            else ""
        )
        sites[f"{lines[0].rsplit(': ', 1)[-1]} at {where}"] += 1
    return sites


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "strongroom-fuzz")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    material = Material(rng)
    with tempfile.TemporaryDirectory() as workdir, strongroom_dev_server(Path(workdir)) as server:
        limited = set_up(server.address, material)
        host, port = server.address.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        paths: dict[str, Any] = call(conn, "GET", "sys/internal/specs/openapi")["data"]["paths"]
        for extra in (
            "sys/storage/raft/snapshot",
            "sys/seal-status",
            "sys/health",
            "sys/leader",
            "sys/host-info",
            "sys/config/ui/headers/{header}",
            "sys/internal/counters/activity",
            "sys/wrapping/lookup",
            "sys/tools/random/{bytes}",
            "sys/tools/hash/{algorithm}",
            "sys/plugins/catalog/{type}/{name}",
            "sys/loggers/{name}",
            "sys/internal/ui/resultant-acl",
            "sys/pprof/{name}",
            "sys/config/cors",
            "sys/namespaces/{name}",
            "sys/raw/{path}",
            "sys/audit-hash/{path}",
        ):
            paths.setdefault("/" + extra, {"get": {}, "post": {}})
        for template in paths:
            WORDS.update(seg for seg in template.strip("/").split("/") if "{" not in seg)
        WORDS.update(KNOWN_NAMES)
        print(
            f"{len(paths)} path templates; fuzzing for {args.seconds:.0f}s with {args.workers} workers",
            flush=True,
        )
        fuzzer = Fuzzer(server.address, ["root", limited], paths, material, args.seed, args.out)
        deadline = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=fuzzer.worker, args=(i, deadline), daemon=True)
            for i in range(args.workers)
        ]
        threads.append(threading.Thread(target=drop_quotas, args=(server.address, deadline), daemon=True))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            time.sleep(10)
            print(
                f"  {time.monotonic() - started:5.0f}s sent={fuzzer.sent} by status={dict(fuzzer.by_status)}",
                flush=True,
            )
        problems = health_check(server.address)
        log = server.log.read_text(errors="replace")
        (args.out / "server.log").write_text(log)
    print(
        f"sent {fuzzer.sent} requests in {time.monotonic() - started:.0f}s;",
        f"transport errors {fuzzer.transport_errors}",
    )
    crashes = crash_sites(log)
    print(f"exceptions logged by the server: {sum(crashes.values())}, by type and innermost frame:")
    for site, count in crashes.most_common():
        print(f"  {count:6d}  {site}")
    print("state after the run:", problems if problems else "intact")
    print(f"findings ({sum(fuzzer.findings.values())}), by method, endpoint, status:")
    for (method, template, status), count in fuzzer.findings.most_common():
        print(f"  {count:6d}  {status}  {method} {template}")
    print(f"details: {args.out / 'findings.jsonl'}")


if __name__ == "__main__":
    main()
