"""roles/<name> (write, read, delete) and roles/ (LIST): CA roles. Layer: builtin.

Imports framework, logical, errors and the engine's models, signing and store. As in Vault, a write sets
every setting: what the request leaves out takes its default (it is not merged with the stored role).
Vault's "otp" roles (one-time SSH passwords checked by a helper on each host) are refused: strongroom's
SSH engine is the certificate authority only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.builtin.secrets.ssh import store
from strongroom.builtin.secrets.ssh.certs import RSA_SIGNERS
from strongroom.builtin.secrets.ssh.common import role_name, storage_of, user_errors
from strongroom.builtin.secrets.ssh.models import SshRole
from strongroom.builtin.secrets.ssh.signing import SshRuleError, stringify
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

_S, _B, _D, _M = FieldType.STRING, FieldType.BOOL, FieldType.DURATION, FieldType.MAP
ROLE_FIELDS = {
    "role": Field(_S, "Name of the role."),
    "key_type": Field(_S, 'Type of credential this role issues: "ca" (an "otp" role is not supported).'),
    "default_user": Field(_S, "The principal of a user certificate when valid_principals is not given."),
    "default_user_template": Field(_B, "Whether default_user may hold identity templates."),
    "allowed_users": Field(_S, 'Comma-separated principals user certificates may carry ("*": any).'),
    "allowed_users_template": Field(_B, "Whether allowed_users may hold identity templates."),
    "allowed_domains": Field(_S, 'Comma-separated domains host certificates may carry ("*": any).'),
    "allowed_domains_template": Field(_B, "Whether allowed_domains may hold identity templates."),
    "ttl": Field(_D, "The lifetime of certificates when the request gives none."),
    "max_ttl": Field(_D, "The longest lifetime a certificate may have."),
    "allowed_critical_options": Field(_S, "Comma-separated critical options a request may set (empty: any)."),
    "allowed_extensions": Field(_S, 'Comma-separated extensions a request may set ("*": any).'),
    "default_critical_options": Field(_M, "Critical options of certificates whose request sets none."),
    "default_extensions": Field(_M, "Extensions of certificates whose request sets none."),
    "default_extensions_template": Field(
        _B, "Whether default_extensions values may hold identity templates."
    ),
    "allow_user_certificates": Field(_B, "Whether user certificates may be signed."),
    "allow_host_certificates": Field(_B, "Whether host certificates may be signed."),
    "allow_bare_domains": Field(_B, "Whether host certificates may carry an allowed domain itself."),
    "allow_subdomains": Field(_B, "Whether host certificates may carry subdomains of the allowed domains."),
    "allow_user_key_ids": Field(_B, "Whether a request may choose the certificate's key ID."),
    "key_id_format": Field(
        _S, "The key ID template: {{token_display_name}}, {{role_name}}, {{public_key_hash}}."
    ),
    "allowed_user_key_lengths": Field(_M, "Key type -> allowed sizes of the keys signed (empty: any)."),
    "algorithm_signer": Field(
        _S, "The RSA signature algorithm: default, ssh-rsa, rsa-sha2-256, rsa-sha2-512."
    ),
    "not_before_duration": Field(_D, "How far before now a certificate's validity starts.", 30),
    "allow_commas_in_identity_templates": Field(_B, "Whether an identity template's value may hold commas."),
    "allow_wildcards_in_identity_templates": Field(
        _B, "Whether an identity template's value in allowed_users or allowed_domains may hold '*'."
    ),
    "allow_empty_principals": Field(
        _B, "Whether a certificate without principals (valid for all) is allowed."
    ),
    "issuer_ref": Field(_S, 'The issuer that signs: only "default" (the config/ca key).'),
    "cidr_list": Field(_S, "OTP roles only (not supported)."),
    "exclude_cidr_list": Field(_S, "OTP roles only (not supported)."),
    "port": Field(FieldType.INT, "OTP roles only (not supported)."),
}
_PLAIN = ("default_user", "default_user_template", "allowed_users", "allowed_users_template",
          "allowed_domains", "allowed_domains_template", "ttl", "max_ttl", "allowed_critical_options",
          "allowed_extensions", "default_extensions_template", "allow_user_certificates",
          "allow_host_certificates", "allow_bare_domains", "allow_subdomains", "allow_user_key_ids",
          "key_id_format", "not_before_duration", "allow_commas_in_identity_templates",
          "allow_wildcards_in_identity_templates", "allow_empty_principals")  # fmt: skip


def _key_lengths(raw: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """allowed_user_key_lengths as Vault parses it: each value an int, a comma list or a list of them."""
    result: dict[str, tuple[int, ...]] = {}
    for name, value in raw.items():
        items = (
            value if isinstance(value, list) else str(value).split(",") if isinstance(value, str) else [value]
        )
        sizes: list[int] = []
        for item in items:
            try:
                sizes.append(int(str(item).strip()))
            except ValueError:
                raise SshRuleError(
                    f'error processing allowed_user_key_lengths: strconv.ParseInt: parsing "{item!s}": '
                    "invalid syntax"
                ) from None
        result[name] = tuple(sizes)
    return result


def role_from(data: FieldData) -> SshRole:
    """The role a write describes, with Vault's checks in Vault's order."""
    key_type: str = data.get("key_type")
    if not key_type:
        raise SshRuleError("missing key type")
    key_type = key_type.lower()
    if key_type == "otp":
        raise SshRuleError("otp key type roles are not supported by strongroom; use key_type=ca")
    if key_type == "dynamic":
        raise SshRuleError("dynamic key type roles are no longer supported")
    if key_type != "ca":
        raise SshRuleError("invalid key type")
    signer, given = data.get_ok("algorithm_signer")
    signer = signer if given and signer else "default"
    if signer != "default" and signer not in RSA_SIGNERS:
        raise SshRuleError(f'unknown algorithm signer "{signer}"')
    issuer_ref = data.get("issuer_ref") or "default"
    if issuer_ref != "default":
        raise SshRuleError(f"unable to find issuer for reference: {issuer_ref}")
    values: dict[str, Any] = {name: data.get(name) for name in _PLAIN}
    if not values["allow_user_certificates"] and not values["allow_host_certificates"]:
        raise SshRuleError(
            "Either 'allow_user_certificates' or 'allow_host_certificates' must be set to 'true'"
        )
    lengths = _key_lengths(data.get("allowed_user_key_lengths"))
    if values["ttl"] and values["max_ttl"] and values["ttl"] > values["max_ttl"]:
        raise SshRuleError('"ttl" value must be less than "max_ttl" when both are specified')
    return SshRole(
        **values,
        key_type="ca",
        default_critical_options=stringify(data.get("default_critical_options")),
        default_extensions=stringify(data.get("default_extensions")),
        allowed_user_key_lengths=lengths,
        algorithm_signer=signer,
        issuer_ref=issuer_ref,
    )


def paths() -> list[Path]:
    """The role and role list paths."""

    @user_errors
    async def write(request: Request, data: FieldData) -> Response | None:
        name = role_name(data)
        await store.save_role(storage_of(request), name, role_from(data))
        return None

    async def read(request: Request, data: FieldData) -> Response | None:
        found = await store.role(storage_of(request), role_name(data))
        return None if found is None else Response(data=found.to_json())

    async def delete(request: Request, data: FieldData) -> Response | None:
        await store.delete_role(storage_of(request), role_name(data))
        return None

    async def list_roles(request: Request, data: FieldData) -> Response | None:
        storage = storage_of(request)
        names = await store.role_names(storage)
        after: str = data.get("after")
        if after:
            names = [name for name in names if name > after]
        limit: int = data.get("limit")
        if limit > 0:
            names = names[:limit]
        if not names:
            return Response(data={})
        info: dict[str, Any] = {}
        for name in names:
            found = await store.role(storage, name)
            if found is not None:
                info[name] = {"issuer_ref": found.issuer_ref, "key_type": found.key_type}
        return Response(data={"keys": names, "key_info": info})

    return [
        Path(
            "roles/?",
            fields={
                "after": Field(_S, "List the roles after this one (it need not exist)."),
                "limit": Field(FieldType.INT, "The number of roles to return; all when 0 or less."),
            },
            operations={Operation.LIST: list_roles},
            synopsis="Manage the 'roles' that can be created with this backend.",
        ),
        Path(
            "roles/{role}",
            fields=ROLE_FIELDS,
            operations={
                Operation.CREATE: write,
                Operation.UPDATE: write,
                Operation.READ: read,
                Operation.DELETE: delete,
            },
            synopsis="Manage the 'roles' that can be created with this backend.",
            description="A CA role says which certificates sign/<role> and issue/<role> may make.",
        ),
    ]
