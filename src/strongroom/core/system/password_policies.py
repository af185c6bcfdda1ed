"""sys/policies/password: write, read, list and delete password policies, and generate from one.

Layer: core (framework-declared paths over the mount manager's PasswordPolicyStore). Errors read as
Vault's coded errors do (its multierror text, 400 for bad input, 404 for a missing policy).

Invariant: a generated password is in the generate response only; it is never stored or logged here.
"""

from __future__ import annotations

from strongroom.core.services import Services
from strongroom.errors import InvalidRequestError, NotFoundError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.policy.password import PasswordPolicyError, PasswordPolicyStore, multierror_text

_NAME = {"name": Field(FieldType.STRING, "The name of the password policy.")}


def _coded(message: str) -> str:
    return multierror_text([message])


def paths(services: Services) -> list[Path]:
    """The password policy paths."""

    def store() -> PasswordPolicyStore:
        found = services.mounts.password_policies
        if found is None:
            raise InvalidRequestError(_coded("password policies are not available"))
        return found

    def named(data: FieldData) -> str:
        name: str = data.get("name")
        if not name:
            raise InvalidRequestError(_coded("missing policy name"))
        return name

    async def write(_request: Request, data: FieldData) -> Response | None:
        name, raw = named(data), data.get("policy")
        if not raw:
            raise InvalidRequestError(_coded("missing policy"))
        try:
            await store().put(name, raw)
        except PasswordPolicyError as exc:
            raise InvalidRequestError(_coded(str(exc))) from None
        return None

    async def read(_request: Request, data: FieldData) -> Response | None:
        text = await store().get(named(data))
        if text is None:
            raise NotFoundError(_coded("policy does not exist"))
        return Response(data={"policy": text})

    async def delete(_request: Request, data: FieldData) -> Response | None:
        await store().delete(named(data))
        return None

    async def generate(_request: Request, data: FieldData) -> Response | None:
        policies = store()
        name = named(data)
        if await policies.get(name) is None:
            raise NotFoundError(_coded("policy does not exist"))
        try:
            password = await policies.generate(name)
        except PasswordPolicyError as exc:
            raise InvalidRequestError(_coded(f"failed to generate password from policy: {exc}")) from None
        return Response(data={"password": password})

    async def list_policies(_request: Request, _data: FieldData) -> Response | None:
        return Response(data={"keys": await store().list()})

    return [
        Path(
            "policies/password/?",
            operations={Operation.LIST: list_policies},
            synopsis="List the existing password policies.",
        ),
        Path(
            "policies/password/{name*}/generate",
            fields=_NAME,
            operations={Operation.READ: generate},
            synopsis="Generate a password from an existing password policy.",
        ),
        Path(
            "policies/password/{name*}",
            fields={**_NAME, "policy": Field(FieldType.STRING, "The password policy")},
            operations={Operation.UPDATE: write, Operation.READ: read, Operation.DELETE: delete},
            synopsis="Read, Modify, or Delete a password policy.",
            description=(
                "Read the rules of an existing password policy, create or update the rules of a password "
                "policy, or delete a password policy."
            ),
        ),
    ]
