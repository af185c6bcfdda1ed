"""sys/policy (legacy) and sys/policies/acl: read, write, list and delete ACL policies."""

from __future__ import annotations

from typing import Any

from strongroom.core.services import Services
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.policy import Policy
from strongroom.util.clock import rfc3339

# Policy names are keyed trimmed and lower-cased: a folding type, so the ACL is checked on the folded path
# ("sys/policies/acl/ Admin" is "sys/policies/acl/admin").
_NAME = {"name": Field(FieldType.TRIMMED_LOWERCASE_STRING, "The name of the policy.")}


def _describe(policy: Policy, text_key: str) -> dict[str, Any]:
    described: dict[str, Any] = {
        "allow_slashes_in_identity_templates": False,
        "allow_wildcards_in_identity_templates": False,
        "cas_required": False,
        "name": policy.name,
        text_key: policy.raw,
        "version": policy.version,
    }
    # The built-in root policy was never written, so Vault shows no modification time for it.
    if policy.modified:
        described["modified"] = rfc3339(policy.modified)
    return described


def paths(services: Services) -> list[Path]:
    """The policy paths: the legacy sys/policy family and sys/policies/acl."""
    store = services.policies

    async def list_legacy(_request: Request, _data: FieldData) -> Response:
        names = await store.list()
        return Response(data={"keys": names, "policies": names}, legacy_top_level=True)

    async def list_acl(_request: Request, _data: FieldData) -> Response:
        return Response(data={"keys": await store.list()})

    def reader(text_key: str, legacy: bool) -> Any:
        async def read(_request: Request, data: FieldData) -> Response | None:
            policy = await store.get(data.get("name"))
            if policy is None:
                return None
            return Response(data=_describe(policy, text_key), legacy_top_level=legacy)

        return read

    async def write_legacy(request: Request, data: FieldData) -> Response | None:
        text, given = data.get_ok("policy")
        warnings: tuple[str, ...] = ()
        if not given:
            text, given = data.get_ok("rules")
            if given:
                warnings = ("'rules' is deprecated, please use 'policy' instead",)
        return await _write(data.get("name"), text, warnings)

    async def write_acl(_request: Request, data: FieldData) -> Response | None:
        return await _write(data.get("name"), data.get("policy"), ())

    async def _write(name: str, text: str, warnings: tuple[str, ...]) -> Response | None:
        if not text:
            raise InvalidRequestError("'policy' parameter not supplied or empty")
        await store.put(name, text)
        return Response(warnings=warnings) if warnings else None

    async def delete(_request: Request, data: FieldData) -> Response | None:
        await store.delete(data.get("name"))
        return None

    legacy_fields = {
        **_NAME,
        "policy": Field(FieldType.STRING, "The rules of the policy."),
        "rules": Field(FieldType.STRING, "The rules of the policy (deprecated: use policy)."),
    }
    return [
        Path(
            "policy/?",
            operations={Operation.READ: list_legacy, Operation.LIST: list_legacy},
            synopsis="List the configured policies.",
        ),
        Path(
            "policy/{name*}",
            fields=legacy_fields,
            operations={
                Operation.READ: reader("rules", True),
                Operation.UPDATE: write_legacy,
                Operation.DELETE: delete,
            },
            synopsis="Read, Modify, or Delete an access control policy.",
        ),
        Path(
            "policies/acl/?",
            operations={Operation.LIST: list_acl},
            synopsis="List the configured access control policies.",
        ),
        Path(
            "policies/acl/{name*}",
            fields={**_NAME, "policy": Field(FieldType.STRING, "The rules of the policy.")},
            operations={
                Operation.READ: reader("policy", False),
                Operation.UPDATE: write_acl,
                Operation.DELETE: delete,
            },
            synopsis="Read, Modify, or Delete an access control policy.",
        ),
    ]
