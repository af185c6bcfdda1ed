"""The admission webhook: AdmissionReview v1 (admission.k8s.io/v1) in, AdmissionReview with a base64
JSONPatch out, served over HTTPS at /mutate (and /health/ready for probes).

Layer: injector. Imports stdlib and the package's modules. Served by the standard library's threading HTTP
server: the API server calls a webhook once per pod creation, so a small synchronous server is enough.
What is not to be injected (not annotated, already injected, not a CREATE, a skipped namespace) is allowed
unchanged; an annotation that cannot be used refuses the pod with a 400 naming it, so a pod never starts
without the secrets it asked for.

Invariant: the webhook never reads or logs a secret: it sees only pod specs and writes only agent configs.
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from strongroom.injector.annotations import (
    SKIPPED_NAMESPACES,
    AnnotationError,
    Defaults,
    read_injection,
    wants_injection,
)
from strongroom.injector.mutate import patch

log = logging.getLogger("strongroom.injector")

MAX_BODY = 4 << 20
API_VERSION = "admission.k8s.io/v1"


class ReviewError(ValueError):
    """The request is not an AdmissionReview v1 of a pod."""


def _answer(uid: str, response: Mapping[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": {"uid": uid, **response}}


def review(document: Any, defaults: Defaults) -> dict[str, Any]:
    """The AdmissionReview answering `document`."""
    if not isinstance(document, dict) or document.get("kind") != "AdmissionReview":
        raise ReviewError("the body is not an AdmissionReview")
    if document.get("apiVersion") != API_VERSION:
        raise ReviewError(f"only {API_VERSION} AdmissionReviews are served")
    request = document.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("uid"), str):
        raise ReviewError("the AdmissionReview has no request uid")
    uid = request["uid"]
    pod = request.get("object")
    if not isinstance(pod, dict) or pod.get("kind", "Pod") != "Pod":
        raise ReviewError("the AdmissionReview's object is not a pod")
    metadata = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    annotations = annotations or {}
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        raise ReviewError("the pod's annotations are not a map of strings")
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not isinstance(containers, list) or not all(isinstance(c, dict) for c in containers):
        raise ReviewError("the pod has no list of containers")
    namespace = request.get("namespace") or metadata.get("namespace", "")
    try:
        wanted = wants_injection(annotations)
        if request.get("operation", "CREATE") != "CREATE" or namespace in SKIPPED_NAMESPACES or not wanted:
            return _answer(uid, {"allowed": True})
        operations = patch(pod, read_injection(annotations, defaults))
    except AnnotationError as exc:
        log.info("refused pod %s/%s: %s", namespace, metadata.get("name", ""), exc)
        return _answer(uid, {"allowed": False, "status": {"code": 400, "message": f"error injecting: {exc}"}})
    encoded = base64.b64encode(json.dumps(operations).encode()).decode()
    return _answer(uid, {"allowed": True, "patchType": "JSONPatch", "patch": encoded})


def make_server(
    address: tuple[str, int], cert_file: str, key_file: str, defaults: Defaults
) -> ThreadingHTTPServer:
    """The HTTPS webhook server on `address` (not yet serving)."""

    class Handler(BaseHTTPRequestHandler):
        timeout = 30  # a client that stalls (before or after the TLS handshake) frees its thread

        def do_GET(self) -> None:
            if self.path == "/health/ready":
                self._send(200, {"ready": True})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != "/mutate":
                self._send(404, {"error": "not found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                self._send(400, {"error": "an AdmissionReview body is required"})
                return
            try:
                self._send(200, review(json.loads(self.rfile.read(length)), defaults))
            except (ValueError, ReviewError) as exc:
                self._send(400, {"error": str(exc)})

        def _send(self, code: int, document: Mapping[str, Any]) -> None:
            body = json.dumps(document).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    server = ThreadingHTTPServer(address, Handler)
    server.daemon_threads = True
    # The handshake happens in each connection's own thread, so one slow client cannot stall accept().
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server
