"""sys/wrapping/wrap, lookup, unwrap and rewrap: Vault's response-wrapping endpoints over core.wrapping.

Layer: core (framework-declared paths). The pipeline has already checked, as Vault does before routing, that
lookup, unwrap and rewrap name a live wrapping token; the handlers check it again where they use it.
"""

from __future__ import annotations

from strongroom.core.services import Services
from strongroom.core.wrapping import wrapping_token_in
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

_TOKEN = {"token": Field(FieldType.STRING, "The wrapping token; the request's own token when not given.")}


def paths(services: Services) -> list[Path]:
    """The four wrapping endpoints."""
    wrapping = services.wrapping

    async def wrap(request: Request, _data: FieldData) -> Response:
        if not request.wrap_ttl:
            raise InvalidRequestError("endpoint requires response wrapping to be used")
        # The pipeline's wrap stage wraps this answer: the request's data as the response's.
        return Response(data=dict(request.data))

    async def lookup(request: Request, _data: FieldData) -> Response:
        token, _ = wrapping_token_in(request)
        return Response(data=await wrapping.lookup(token))

    async def unwrap(request: Request, _data: FieldData) -> Response:
        token, third_party = wrapping_token_in(request)
        body = await wrapping.unwrap(token, third_party=third_party)
        return Response(raw_body=body.encode(), status=200)

    async def rewrap(request: Request, _data: FieldData) -> Response:
        token, third_party = wrapping_token_in(request)
        info = await wrapping.rewrap(token, third_party=third_party)
        return Response(wrap_info=info.to_json())

    return [
        Path(
            "wrapping/wrap",
            operations={Operation.UPDATE: wrap},
            any_data=True,
            synopsis="Response-wraps an arbitrary JSON object.",
            description="Round trips the given input data into a response-wrapped token.",
        ),
        Path(
            "wrapping/lookup",
            fields=_TOKEN,
            operations={Operation.READ: lookup, Operation.UPDATE: lookup},
            synopsis="Looks up the properties of a response-wrapped token.",
            description="Returns the creation TTL, creation time and creation path of a wrapping token.",
        ),
        Path(
            "wrapping/unwrap",
            fields=_TOKEN,
            operations={Operation.UPDATE: unwrap},
            synopsis="Unwraps a response-wrapped token.",
            description="Unwraps a response-wrapped token; the token is revoked and cannot be used again.",
        ),
        Path(
            "wrapping/rewrap",
            fields=_TOKEN,
            operations={Operation.UPDATE: rewrap},
            synopsis="Rotates a response-wrapped token.",
            description="Moves a wrapped response to a new wrapping token with the same TTL; the old one is "
            "revoked.",
        ),
    ]
