"""config/acme, config/cluster, and the external account binding paths (<directory>/new-eab, eab/ LIST,
eab/<id> DELETE): the token-guarded side of ACME. Layer: builtin.

Imports framework, logical, errors, util and the ACME and pki modules.

Invariant: an EAB's key is returned once, by new-eab; LIST and every other read leave it out.
"""

from __future__ import annotations

import ipaddress
import os
import uuid
from urllib.parse import urlsplit

from strongroom.builtin.secrets.pki.acme import jose
from strongroom.builtin.secrets.pki.acme.directory import NO_CLUSTER_PATH, acme_role, policy_kind, prefix_of
from strongroom.builtin.secrets.pki.acme.models import POLICIES, AcmeConfig, ClusterConfig, Eab
from strongroom.builtin.secrets.pki.acme.problems import AcmeProblem
from strongroom.builtin.secrets.pki.acme.store import AcmeStore
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError, NotFoundError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.backend import UNSUPPORTED_PATH
from strongroom.logical import Operation, Request, Response
from strongroom.util import ids
from strongroom.util.clock import Clock, rfc3339

# OpenBao prefixes each EAB key with these bytes so that its base64url text never starts with "-".
EAB_KEY_PREFIX = jose.b64decode("vault-eab-0-", "prefix")
PREFIXES = (
    "acme/",
    "roles/{role}/acme/",
    "issuer/{issuer_ref}/acme/",
    "issuer/{issuer_ref}/roles/{role}/acme/",
)

_CONFIG_FIELDS = {
    "enabled": Field(FieldType.BOOL, "whether ACME is enabled, defaults to false", False),
    "allowed_issuers": Field(
        FieldType.COMMA_STRING_LIST, "which issuers are allowed for use with ACME", ["*"]
    ),
    "allowed_roles": Field(FieldType.COMMA_STRING_LIST, "which roles are allowed for use with ACME", ["*"]),
    "allow_role_ext_key_usage": Field(
        FieldType.BOOL, "whether the ExtKeyUsage field from a role is used (else ServerAuth only)", False
    ),
    "default_directory_policy": Field(
        FieldType.STRING,
        'the policy of non-role-qualified ACME directories: "forbid", "sign-verbatim" or "role:<name>"',
        "sign-verbatim",
    ),
    "dns_resolver": Field(FieldType.STRING, "DNS resolver (<host>:<port>) for ACME's DNS lookups", ""),
    "eab_policy": Field(
        FieldType.STRING,
        "external account binding policy: 'not-required', 'new-account-required' or 'always-required'",
        "always-required",
    ),
}


async def _cluster_warning(store: AcmeStore, config: AcmeConfig) -> tuple[str, ...]:
    if config.enabled and not (await store.cluster()).path:
        return (NO_CLUSTER_PATH,)
    return ()


def _check_resolver(value: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep or not port:
        raise InvalidRequestError(
            f"failed to parse DNS resolver address: address {value}: missing port in address"
        )
    host = host.removeprefix("[").removesuffix("]")
    if not host:
        raise InvalidRequestError("failed to parse DNS resolver address: got empty address")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise InvalidRequestError(
            "failed to parse DNS resolver address: expected IPv4/IPv6 address, likely got hostname"
        ) from None


async def _validated(pki: PkiStore, store: AcmeStore, data: FieldData) -> AcmeConfig:
    """The config a write asks for (unsupplied settings kept), checked as OpenBao checks it."""
    current = await store.config()
    values = current.read_data()
    for name in _CONFIG_FIELDS:
        given, supplied = data.get_ok(name)
        if supplied:
            values[name] = given
    for name in ("allowed_roles", "allowed_issuers"):
        if not values[name]:
            raise InvalidRequestError(
                f"{name} must take a non-zero length value; specify '*' as the value to allow anything or "
                "specify enabled=false to disable ACME entirely"
            )
    if values["dns_resolver"]:
        _check_resolver(values["dns_resolver"])
    if values["eab_policy"] not in POLICIES:
        raise InvalidRequestError(
            "invalid eab policy name provided, valid values are 'not-required', 'new-account-required', "
            "'always-required'"
        )
    policy = values["default_directory_policy"]
    try:
        kind = policy_kind(policy)
    except ValueError as exc:
        raise InvalidRequestError(f"invalid default_directory_policy: {exc}") from None
    default_role = policy[len("role:") :] if kind == "role" else ""
    if default_role:
        await _acme_role_or_400(pki, default_role, f"default directory policy role {default_role}")
    roles = values["allowed_roles"]
    if roles != ["*"]:
        for index, name in enumerate(roles):
            if name == "*":
                raise InvalidRequestError(f"cannot use '*' as role name at index {index}")
            await _acme_role_or_400(pki, name, f"allowed_role {name}")
        if default_role and default_role not in roles:
            raise InvalidRequestError(
                f"default directory policy {policy} was not specified in allowed_roles: [{' '.join(roles)}]"
            )
    issuers = values["allowed_issuers"]
    if issuers != ["*"]:
        for index, name in enumerate(issuers):
            if name == "*":
                raise InvalidRequestError(f"cannot use '*' as issuer name at index {index}")
            if await pki.resolve_issuer(name) is None:
                raise InvalidRequestError(
                    f"failed validating allowed_issuers: unable to fetch issuer: {name}: "
                    f"unable to find PKI issuer for reference: {name}"
                )
    config = AcmeConfig.from_json(values)
    if config.enabled and not (await store.cluster()).path:
        raise InvalidRequestError(NO_CLUSTER_PATH)
    return config


async def _acme_role_or_400(pki: PkiStore, name: str, what: str) -> None:
    try:
        await acme_role(pki, name)
    except AcmeProblem as problem:
        raise InvalidRequestError(f"{what} is not a valid ACME role: {problem.detail}") from None


def paths(pki: PkiStore, store: AcmeStore, clock: Clock) -> list[Path]:
    async def read_config(request: Request, data: FieldData) -> Response | None:
        config = await store.config()
        return Response(data=config.read_data(), warnings=await _cluster_warning(store, config))

    async def write_config(request: Request, data: FieldData) -> Response | None:
        config = await _validated(pki, store, data)
        await store.save_config(config)
        return Response(data=config.read_data())

    async def read_cluster(request: Request, data: FieldData) -> Response | None:
        cluster = await store.cluster()
        return Response(data={"aia_path": cluster.aia_path, "path": cluster.path})

    async def write_cluster(request: Request, data: FieldData) -> Response | None:
        cluster = await store.cluster()
        values = {"path": cluster.path, "aia_path": cluster.aia_path}
        for name in values:
            given, supplied = data.get_ok(name)
            if supplied:
                parts = urlsplit(given)
                if not parts.scheme or not parts.netloc:
                    raise InvalidRequestError(f"invalid, non-URL {name} given to cluster: {given}")
                values[name] = given
        await store.save_cluster(ClusterConfig(**values))
        return Response(data={"aia_path": values["aia_path"], "path": values["path"]})

    async def new_eab(request: Request, data: FieldData) -> Response | None:
        eab = Eab(
            id=ids.new_uuid(),
            key=EAB_KEY_PREFIX + os.urandom(32),
            directory=prefix_of(request.path),
            created=clock.now(),
        )
        await store.save_eab(eab)
        return Response(
            data={
                "acme_directory": eab.directory + "directory",
                "created_on": rfc3339(eab.created),
                "id": eab.id,
                "key": jose.b64encode(eab.key),
                "key_type": eab.key_type,
            }
        )

    async def list_eabs(request: Request, data: FieldData) -> Response | None:
        keys: list[str] = []
        info: dict[str, object] = {}
        for eab_id in await store.eab_ids():
            eab = await store.eab(eab_id)
            if eab is None:
                continue
            keys.append(eab.id)
            info[eab.id] = {
                "acme_directory": eab.directory + "directory",
                "created_on": rfc3339(eab.created),
                "key_type": eab.key_type,
            }
        return Response(data={"keys": keys, "key_info": info})

    async def delete_eab(request: Request, data: FieldData) -> Response | None:
        key_id = data.get("key_id")
        try:
            uuid.UUID(key_id)
        except ValueError:  # OpenBao's path pattern takes only a UUID: anything else is no path at all
            raise NotFoundError(UNSUPPORTED_PATH) from None
        if not await store.delete_eab(key_id):
            return Response(warnings=(f"No key id found with id: {key_id}",))
        return None

    return [
        Path(
            "config/acme",
            fields=_CONFIG_FIELDS,
            operations={Operation.READ: read_config, Operation.UPDATE: write_config},
            synopsis="Configuration of ACME Endpoints",
            description="Whether ACME is enabled, which issuers and roles it may use, and its EAB policy.",
        ),
        Path(
            "config/cluster",
            fields={
                "path": Field(
                    FieldType.STRING, "Canonical URI to this mount on this cluster's external address."
                ),
                "aia_path": Field(FieldType.STRING, "Optional URI to this mount's AIA distribution point."),
            },
            operations={Operation.READ: read_cluster, Operation.UPDATE: write_cluster},
            synopsis="Set cluster-local configuration, including address to this PR cluster.",
            description="ACME builds its directory URLs from `path`.",
        ),
        *(
            Path(
                prefix + "new-eab",
                operations={Operation.UPDATE: new_eab},
                synopsis="Generate external account bindings to be used for ACME",
                description="A new EAB id and HMAC key, valid for this ACME directory and one account.",
            )
            for prefix in PREFIXES
        ),
        Path(
            "eab/?",
            operations={Operation.LIST: list_eabs},
            synopsis="list external account bindings to be used for ACME",
            description="The EAB ids not yet bound to an account, without their keys.",
        ),
        Path(
            "eab/{key_id}",
            fields={"key_id": Field(FieldType.STRING, "EAB key identifier")},
            operations={Operation.DELETE: delete_eab},
            synopsis="Delete an external account binding id prior to its use within an ACME account",
            description="An id that does not exist answers with a warning.",
        ),
    ]
