"""The ACME endpoints of a pki mount, under each of its four directories ("acme/", "roles/<role>/acme/",
"issuer/<ref>/acme/", "issuer/<ref>/roles/<role>/acme/"), and the special paths that let them answer
without a token. Layer: builtin (framework, logical and the ACME modules).

These endpoints authenticate with JWS signatures, not Vault tokens: OpenBao lists them as unauthenticated
paths, and so do we (new-eab, which hands out binding keys, is not among them).
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from strongroom.builtin.secrets.pki.acme.accounts import Accounts
from strongroom.builtin.secrets.pki.acme.directory import Directory
from strongroom.builtin.secrets.pki.acme.orders import Orders
from strongroom.builtin.secrets.pki.acme.paths_config import PREFIXES
from strongroom.builtin.secrets.pki.acme.protocol import DIRECTORY_FIELDS, JWS_FIELDS, Protocol
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.path import Handler
from strongroom.logical import Operation, Request, Response

SYNOPSIS = "An endpoint implementing the standard ACME protocol"
DESCRIPTION = (
    "This API endpoint implements a subset of the ACME protocol defined in RFC 8555, with its own "
    "authentication and argument syntax that does not follow conventional OpenBao operations. An ACME "
    "client tool or library should be used to interact with these endpoints."
)
# The endpoints OpenBao serves without a token, relative to a directory ("+" is one path segment).
_OPEN = (
    "directory",
    "new-nonce",
    "new-account",
    "new-order",
    "revoke-cert",
    "key-change",
    "account/+",
    "account/+/orders",
    "authorization/+",
    "challenge/+/+",
    "orders",
    "order/+",
    "order/+/finalize",
    "order/+/cert",
)
UNAUTHENTICATED: tuple[str, ...] = tuple(
    prefix.replace("{role}", "+").replace("{issuer_ref}", "+") + path for prefix in PREFIXES for path in _OPEN
)
_CAPTURES = {
    "kid": Field(FieldType.STRING, "The ACME account id"),
    "order_id": Field(FieldType.STRING, "The ACME order identifier to fetch"),
    "auth_id": Field(FieldType.STRING, "ACME authorization identifier value"),
    "challenge_type": Field(FieldType.STRING, "ACME challenge type"),
}


def paths(protocol: Protocol, accounts: Accounts, orders: Orders) -> list[Path]:
    async def directory(directory: Directory, request: Request, data: FieldData) -> Response:
        body = {
            "newNonce": directory.url("new-nonce"),
            "newAccount": directory.url("new-account"),
            "newOrder": directory.url("new-order"),
            "revokeCert": directory.url("revoke-cert"),
            "keyChange": directory.url("key-change"),
            "meta": {"externalAccountRequired": directory.config.eab_required_for_new},
        }
        return Response(raw_body=orjson.dumps(body, option=orjson.OPT_SORT_KEYS))

    async def new_nonce(directory: Directory, request: Request, data: FieldData) -> Response:
        # RFC 8555 7.2: HEAD answers 200, GET 204; both carry the nonce.
        status = 204 if request.operation is Operation.READ else 200
        headers = {"Replay-Nonce": protocol.nonces.issue(), "Link": directory.index_link}
        return Response(status=status, raw_body=b"", headers=headers, content_type="")

    signed = protocol.signed
    table: tuple[tuple[str, Mapping[Operation, Handler]], ...] = (
        ("directory", {Operation.READ: protocol.plain(directory)}),
        ("new-nonce", {Operation.READ: protocol.plain(new_nonce), Operation.HEAD: protocol.plain(new_nonce)}),
        ("new-account", {Operation.UPDATE: signed(accounts.handle, account_required=False)}),
        ("account/{kid}", {Operation.UPDATE: signed(accounts.handle, account_required=False)}),
        ("account/{kid}/orders", {Operation.UPDATE: signed(orders.list_orders)}),
        ("orders", {Operation.UPDATE: signed(orders.list_orders)}),
        ("new-order", {Operation.UPDATE: signed(orders.new_order)}),
        ("order/{order_id}", {Operation.UPDATE: signed(orders.get_order)}),
        ("order/{order_id}/finalize", {Operation.UPDATE: signed(orders.finalize)}),
        ("order/{order_id}/cert", {Operation.UPDATE: signed(orders.certificate)}),
        ("authorization/{auth_id}", {Operation.UPDATE: signed(orders.authorization)}),
        ("challenge/{auth_id}/{challenge_type}", {Operation.UPDATE: signed(orders.challenge)}),
        ("revoke-cert", {Operation.UPDATE: signed(orders.revoke, account_required=False)}),
        ("key-change", {Operation.UPDATE: signed(accounts.key_change)}),
    )
    declared: list[Path] = []
    for prefix in PREFIXES:
        for suffix, operations in table:
            pattern = prefix + suffix
            fields = {name: field for name, field in DIRECTORY_FIELDS.items() if "{" + name + "}" in pattern}
            fields.update({name: field for name, field in _CAPTURES.items() if "{" + name + "}" in pattern})
            if Operation.UPDATE in operations:
                fields.update(JWS_FIELDS)
            declared.append(
                Path(
                    pattern, fields=fields, operations=operations, synopsis=SYNOPSIS, description=DESCRIPTION
                )
            )
    return declared
