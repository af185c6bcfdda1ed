"""ACME problem documents (RFC 8555 section 6.7): the errors an ACME endpoint answers with.
Layer: builtin (pure; imports stdlib, orjson and logical).

Invariant: a problem's detail never carries a key, a nonce or a CSR, only what the client sent in the clear
or what the server decided.
"""

from __future__ import annotations

import orjson

from strongroom.logical import Response

PREFIX = "urn:ietf:params:acme:error:"
CONTENT_TYPE = "application/problem+json"

# OpenBao's table: each problem type with its HTTP status and the sentence its detail ends with.
KINDS: dict[str, tuple[int, str]] = {
    "accountDoesNotExist": (400, "the request specified an account that does not exist"),
    "alreadyRevoked": (
        400,
        "the request specified a certificate to be revoked that has already been revoked",
    ),
    "badCSR": (400, "the CSR is unacceptable"),
    "badNonce": (400, "the client sent an unacceptable anti-replay nonce"),
    "badPublicKey": (400, "the JWS was signed by a public key the server does not support"),
    "badRevocationReason": (400, "the revocation reason provided is not allowed by the server"),
    "badSignatureAlgorithm": (400, "the JWS was signed with an algorithm the server does not support"),
    "connection": (500, "the server could not connect to validation target"),
    "dns": (500, "there was a problem with a DNS query during identifier validation"),
    "externalAccountRequired": (
        401,
        "the request must include a value for the 'externalAccountBinding' field",
    ),
    "incorrectResponse": (400, "response received didn't match the challenge's requirements"),
    "malformed": (400, "the request message was malformed"),
    "orderNotReady": (403, "the request attempted to finalize an order that is not ready to be finalized"),
    "rejectedIdentifier": (400, "the server will not issue certificates for the identifier"),
    "serverInternal": (500, "the server experienced an internal error"),
    "tls": (500, "the server received a TLS error during validation"),
    "unauthorized": (401, "the client lacks sufficient authorization"),
    "unsupportedIdentifier": (400, "an identifier is of an unsupported type"),
}


class AcmeProblem(Exception):
    """An ACME endpoint's refusal. `detail` reads as OpenBao's: the context, then the type's sentence
    (`lead=True`: the sentence first, as Go's "%w: context")."""

    def __init__(self, kind: str, context: str = "", *, lead: bool = False) -> None:
        status, sentence = KINDS[kind]
        detail = sentence
        if context:
            detail = f"{sentence}: {context}" if lead else f"{context}: {sentence}"
        super().__init__(detail)
        self.kind = kind
        self.status = status
        self.detail = detail

    def document(self) -> dict[str, object]:
        """The problem as stored in a challenge's `error` and sent in a response body."""
        return {"type": PREFIX + self.kind, "detail": self.detail}

    def response(self, headers: dict[str, str]) -> Response:
        return Response(
            status=self.status,
            raw_body=orjson.dumps(self.document()),
            content_type=CONTENT_TYPE,
            headers=headers,
        )


class AcmeDisabled(Exception):
    """ACME is off on this mount: every ACME endpoint answers a bare 404, as OpenBao's do."""
