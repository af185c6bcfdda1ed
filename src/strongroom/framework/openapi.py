"""OpenAPI 3 documents and help text generated from Path declarations. Layer: framework.

Imports logical and the framework's own modules. Pure: a declaration in, plain dicts and strings out.
"""

from __future__ import annotations

import re
from typing import Any

from strongroom.framework.fields import HELP_NAMES, Field, FieldType
from strongroom.framework.path import Path
from strongroom.logical.operation import Operation

OPENAPI_VERSION = "3.0.2"

_SCHEMAS: dict[FieldType, dict[str, Any]] = {
    FieldType.STRING: {"type": "string"},
    FieldType.LOWERCASE_STRING: {"type": "string"},
    FieldType.TRIMMED_LOWERCASE_STRING: {"type": "string"},
    FieldType.INT: {"type": "integer"},
    FieldType.BOOL: {"type": "boolean"},
    FieldType.DURATION: {"type": "integer", "format": "seconds"},
    FieldType.SIGNED_DURATION: {"type": "integer", "format": "seconds"},
    FieldType.COMMA_STRING_LIST: {"type": "array", "items": {"type": "string"}},
    FieldType.COMMA_INT_LIST: {"type": "array", "items": {"type": "integer"}},
    FieldType.STRING_LIST: {"type": "array", "items": {"type": "string"}},
    FieldType.MAP: {"type": "object"},
    FieldType.KV_PAIRS: {"type": "object", "format": "kvpairs"},
    FieldType.SLICE: {"type": "array"},
}

# Operation -> (HTTP method, operationId verb); CREATE shares UPDATE's POST.
_METHODS: dict[Operation, tuple[str, str]] = {
    Operation.READ: ("get", "read"),
    Operation.LIST: ("get", "list"),
    Operation.UPDATE: ("post", "write"),
    Operation.CREATE: ("post", "write"),
    Operation.PATCH: ("patch", "patch"),
    Operation.DELETE: ("delete", "delete"),
}


def openapi_key(pattern: str) -> str:
    """The OpenAPI path key of a pattern: "/data/{path}" for "data/{path*}", "/roles/" for "roles/?"."""
    key = pattern[:-2] + "/" if pattern.endswith("/?") else pattern
    return "/" + re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\*\}", r"{\1}", key)


def _schema(declared: Field) -> dict[str, Any]:
    schema = dict(_SCHEMAS[declared.type])
    if declared.description:
        schema["description"] = declared.description.strip()
    if declared.default is not None:
        schema["default"] = declared.default
    return schema


def _operation_id(verb: str, pattern: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", pattern)
    return "-".join([verb, *words])


def path_item(path: Path) -> dict[str, Any]:
    """The OpenAPI path item for one declaration."""
    item: dict[str, Any] = {"description": path.synopsis}
    if path.captures:
        item["parameters"] = [
            {
                "name": name,
                "description": path.schema[name].description.strip(),
                "in": "path",
                "schema": {"type": "string"},
                "required": True,
            }
            for name in path.captures
        ]
    if path.existence_check is not None:
        item["x-vault-createSupported"] = True
    body_fields = {n: f for n, f in sorted(path.fields.items()) if n not in path.captures}
    for operation in path.operations:
        if operation not in _METHODS:
            continue
        method, verb = _METHODS[operation]
        if method in item:
            if operation is Operation.LIST:
                item[method]["parameters"] = [_list_parameter(required=False)]
            continue
        entry: dict[str, Any] = {
            "summary": path.synopsis,
            "operationId": _operation_id(verb, path.pattern),
            "responses": {"204": {"description": "empty body"}}
            if method == "delete"
            else {"200": {"description": "OK"}},
        }
        if operation is Operation.LIST:
            entry["parameters"] = [_list_parameter(required=True)]
        elif operation is Operation.READ and Operation.LIST in path.operations:
            entry["parameters"] = [_list_parameter(required=False)]
        if method in ("post", "patch") and body_fields:
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "application/merge-patch+json" if method == "patch" else "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {n: _schema(f) for n, f in body_fields.items()},
                        }
                    }
                },
            }
        item[method] = entry
    return item


def _list_parameter(*, required: bool) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": "list",
        "description": "Must be set to `true`" if required else "Return a list if `true`",
        "in": "query",
        "schema": {"type": "string"},
    }
    if required:
        parameter["required"] = True
    return parameter


def document(paths: dict[str, Any]) -> dict[str, Any]:
    """A complete OpenAPI document around a `paths` object."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Strongroom API",
            "description": "HTTP API that gives you full access to strongroom. "
            "All API routes are prefixed with `/v1/`.",
            "version": "0.1.0",
        },
        "paths": paths,
        "components": {"schemas": {}},
    }


_ROOT_HELP_PATHS = """## PATHS

The following paths are supported by this backend. To view help for
any of the paths below, use the help command with any route matching
the path pattern. Note that depending on the policy of your auth token,
you may or may not be able to access certain paths.
"""


def root_help_text(backend_help: str, paths: list[Path]) -> str:
    """Vault's help for a mount's root: the backend's description, then every route and its synopsis."""
    lines = ["## DESCRIPTION", "", backend_help.strip(), "", _ROOT_HELP_PATHS]
    for declared in sorted(paths, key=lambda p: p.regex.pattern):
        lines.append(f"    {declared.regex.pattern}")
        lines += [f"        {line}" if line else "" for line in declared.synopsis.strip().splitlines()]
        lines.append("")
    return "\n".join(lines)


def help_text(path: Path, request_path: str) -> str:
    """Vault's help text: request, matching route, synopsis, parameters, description."""
    lines = [
        f"Request:        {request_path}",
        f"Matching Route: {path.regex.pattern}",
        "",
        path.synopsis.strip(),
    ]
    if path.schema:
        lines += ["", "## PARAMETERS"]
        for name, declared in sorted(path.schema.items()):
            lines += ["", f"    {name} ({HELP_NAMES[declared.type]})"]
            if declared.description:
                lines.append("")
                lines += [
                    f"        {line}" if line else "" for line in declared.description.strip().splitlines()
                ]
    if path.description:
        lines += ["", "## DESCRIPTION", "", path.description.strip()]
    return "\n".join(lines)
