"""sys/mounts and sys/auth: list, read, enable, disable and tune mounts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom import __version__
from strongroom.core.mounts import SystemTTLs
from strongroom.core.services import Services
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.fields import CoercionError, coerce
from strongroom.logical import Operation, Request, Response
from strongroom.router import MountConfig, MountEntry
from strongroom.tokens.types import MOUNT_TOKEN_TYPES
from strongroom.util.durations import parse_duration

_BUILTIN_VERSION = f"v{__version__}+builtin.strongroom"
_NOT_PLUGINS = {"system", "cubbyhole", "token", "identity"}
# Vault's aliases are not in its plugin catalog, so it shows no deprecation status for them.
_NO_DEPRECATION_STATUS = _NOT_PLUGINS | {"generic"}


def mount_info(entry: MountEntry) -> dict[str, Any]:
    """A mount as sys/mounts shows it."""
    config: dict[str, Any] = {
        "default_lease_ttl": entry.config.default_lease_ttl,
        "force_no_cache": entry.config.force_no_cache,
        "max_lease_ttl": entry.config.max_lease_ttl,
    }
    # Every auth mount shows the token type its logins issue (Vault's default for all of them).
    if entry.table == "auth":
        config["token_type"] = entry.config.token_type or "default-service"
    config.update(_tuned_lists(entry.config))
    if entry.config.listing_visibility:
        config["listing_visibility"] = entry.config.listing_visibility
    if entry.config.user_lockout_tuned:
        config["user_lockout_config"] = _user_lockout_info(entry.config)
    info: dict[str, Any] = {
        "accessor": entry.accessor,
        "config": config,
        "description": entry.description,
        "external_entropy_access": False,
        "local": entry.local,
        "options": None if entry.options is None else dict(entry.options),
        "plugin_version": "",
        "running_plugin_version": _BUILTIN_VERSION,
        "running_sha256": "",
        "seal_wrap": entry.seal_wrap,
        "type": entry.type,
        "uuid": entry.uuid,
    }
    if entry.type not in _NO_DEPRECATION_STATUS:
        info["deprecation_status"] = "supported"
    return info


def _tune_info(entry: MountEntry, ttls: SystemTTLs) -> dict[str, Any]:
    info: dict[str, Any] = {
        "default_lease_ttl": entry.config.default_lease_ttl or ttls.default,
        "description": entry.description,
        "force_no_cache": entry.config.force_no_cache,
        "max_lease_ttl": entry.config.max_lease_ttl or ttls.max,
    }
    info.update(_tuned_lists(entry.config))
    if entry.config.listing_visibility:
        info["listing_visibility"] = entry.config.listing_visibility
    if entry.options:
        info["options"] = dict(entry.options)
    if entry.table == "auth":
        info["token_type"] = entry.config.token_type or "default-service"
    if entry.config.user_lockout_tuned:
        info.update(_user_lockout_info(entry.config))
    return info


def _tuned_lists(config: MountConfig) -> dict[str, list[str]]:
    """The mount's list settings that are set (Vault shows an empty one as absent)."""
    names = ("audit_non_hmac_request_keys", "audit_non_hmac_response_keys",
             "passthrough_request_headers", "allowed_response_headers")  # fmt: skip
    return {name: list(getattr(config, name)) for name in names if getattr(config, name)}


def _user_lockout_info(config: MountConfig) -> dict[str, Any]:
    return {
        "user_lockout_counter_reset_duration": config.user_lockout_counter_reset,
        "user_lockout_disable": config.user_lockout_disable,
        "user_lockout_duration": config.user_lockout_duration,
        "user_lockout_threshold": config.user_lockout_threshold,
    }


# Vault's list of auth methods whose logins count failures (configutil.GetSupportedUserLockoutsAuthMethods).
_LOCKOUT_TYPES = ("ldap", "approle", "userpass")


def _user_lockout_changes(entry: MountEntry, raw: Any) -> dict[str, Any]:
    """The MountConfig changes a tune's `user_lockout_config` map asks for (Vault's rules: each key given
    replaces one setting; "system" or "" on a duration means the default)."""
    if not raw:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidRequestError("unable to convert given user lockout config information")
    if entry.type.lower() not in _LOCKOUT_TYPES:
        raise InvalidRequestError(
            f'tuning of user lockout configuration for auth type "{entry.type}" not allowed'
        )
    changes: dict[str, Any] = {"user_lockout_tuned": True}
    threshold = raw.get("lockout_threshold")
    if threshold not in (None, ""):
        text = str(threshold)
        if not text.isdigit():
            raise InvalidRequestError(
                f'unable to parse user lockout threshold: strconv.ParseUint: parsing "{text}": invalid syntax'
            )
        changes["user_lockout_threshold"] = int(text)
    for key, name in (("lockout_duration", "user_lockout_duration"),
                      ("lockout_counter_reset_duration", "user_lockout_counter_reset")):  # fmt: skip
        value = raw.get(key)
        if value not in (None, ""):
            changes[name] = _ttl(value, "", tuning=True)
    if "lockout_disable" in raw:
        changes["user_lockout_disable"] = bool(raw["lockout_disable"])
    return changes


_TTL_LABELS = {"default_lease_ttl": "default TTL", "max_lease_ttl": "max TTL"}


def _ttl(value: Any, name: str, *, tuning: bool) -> int:
    if isinstance(value, list | dict):
        # Vault's mapstructure decoding of the whole map fails; it names the map, not the field.
        kind = "mount" if name else "user lockout"
        raise InvalidRequestError(f"unable to convert given {kind} config information")
    if value in ("", None, "system"):
        return 0
    try:
        return parse_duration(value)
    except (ValueError, TypeError):
        # Vault's wording: Go's duration error, prefixed with the field on enable but bare on tune.
        detail = f'time: invalid duration "{value}"'
        message = detail if tuning else f"unable to parse {_TTL_LABELS[name]} of {value}: {detail}"
        raise InvalidRequestError(message) from None


def _mount_config(raw: Mapping[str, Any], *, tuning: bool) -> dict[str, Any]:
    """The MountConfig fields given in a request's `config` map (or a tune body)."""
    changes: dict[str, Any] = {}
    for name in ("default_lease_ttl", "max_lease_ttl"):
        if name in raw:
            changes[name] = _ttl(raw[name], name, tuning=tuning)
    if "force_no_cache" in raw:
        changes["force_no_cache"] = bool(raw["force_no_cache"])
    if "listing_visibility" in raw:
        visibility = str(raw["listing_visibility"])
        if visibility not in ("", "hidden", "unauth"):
            raise InvalidRequestError("listing_visibility can only be an empty string, 'hidden' or 'unauth'")
        changes["listing_visibility"] = visibility
    if "token_type" in raw:
        if raw["token_type"] not in MOUNT_TOKEN_TYPES:
            raise InvalidRequestError("invalid value for 'token_type'")
        changes["token_type"] = raw["token_type"]
    for name in ("audit_non_hmac_request_keys", "audit_non_hmac_response_keys",
                 "passthrough_request_headers", "allowed_response_headers"):  # fmt: skip
        if name in raw:
            # A lone value is a one-item list, as Vault's weak decoding reads it (5 -> ["5"]).
            try:
                changes[name] = tuple(coerce(FieldType.COMMA_STRING_LIST, raw[name]))
            except CoercionError as exc:
                raise InvalidRequestError(
                    f'error converting input for field "{name}": {exc.detail}'
                ) from None
    return changes


def _check_enable_ttls(config: MountConfig) -> None:
    if config.max_lease_ttl and config.default_lease_ttl > config.max_lease_ttl:
        raise InvalidRequestError("given default lease TTL greater than given max lease TTL")


def _check_tune_ttls(config: MountConfig, ttls: SystemTTLs) -> None:
    default, maximum = config.default_lease_ttl, config.max_lease_ttl
    if maximum and default > maximum:
        raise InvalidRequestError(
            f"backend max lease TTL of {maximum} would be less than backend default lease TTL of {default}"
        )
    if not maximum and default > ttls.max:
        raise InvalidRequestError(f"given default lease TTL greater than system max lease TTL of {ttls.max}")


_MOUNT_FIELDS = {
    "path": Field(FieldType.STRING, "The path to mount to."),
    "type": Field(FieldType.STRING, "The type of the backend, such as 'kv'."),
    "description": Field(FieldType.STRING, "User-friendly description for this mount."),
    "config": Field(FieldType.MAP, "Configuration for this mount, such as default_lease_ttl."),
    "options": Field(FieldType.KV_PAIRS, "The options to pass into the backend, such as version=2."),
    "local": Field(FieldType.BOOL, "Mark the mount as a local mount."),
    "seal_wrap": Field(FieldType.BOOL, "Whether to turn on seal wrapping for the mount."),
    "external_entropy_access": Field(FieldType.BOOL, "Whether to give the mount access to external entropy."),
    "plugin_version": Field(FieldType.STRING, "The semantic version of the plugin to use."),
}
_TUNE_FIELDS = {
    "path": Field(FieldType.STRING, "The path of the mount to tune."),
    "token_type": Field(FieldType.STRING, "The type of token logins on this auth mount get."),
    "default_lease_ttl": Field(FieldType.STRING, "The default lease TTL for this mount."),
    "max_lease_ttl": Field(FieldType.STRING, "The max lease TTL for this mount."),
    "description": Field(FieldType.STRING, "User-friendly description for this mount."),
    "options": Field(FieldType.KV_PAIRS, "The options to pass into the backend."),
    "force_no_cache": Field(FieldType.BOOL, "Whether to disable caching."),
    "listing_visibility": Field(FieldType.STRING, "Whether to show this mount in the UI listing."),
    "audit_non_hmac_request_keys": Field(FieldType.COMMA_STRING_LIST, "Request keys not HMAC'd in audit."),
    "audit_non_hmac_response_keys": Field(FieldType.COMMA_STRING_LIST, "Response keys not HMAC'd in audit."),
    "passthrough_request_headers": Field(FieldType.COMMA_STRING_LIST, "Headers passed to the backend."),
    "allowed_response_headers": Field(FieldType.COMMA_STRING_LIST, "Headers the backend may set."),
    "plugin_version": Field(FieldType.STRING, "The semantic version of the plugin to use."),
    "user_lockout_config": Field(FieldType.MAP, "The user lockout configuration of an auth method."),
}


def paths(services: Services) -> list[Path]:
    """The mount-management paths for both tables."""
    return [*_table_paths(services, "mounts", "mounts"), *_table_paths(services, "auth", "auth")]


def _table_paths(services: Services, table: str, prefix: str) -> list[Path]:
    manager = services.mounts

    async def list_mounts(_request: Request, _data: FieldData) -> Response:
        listing = {e.path: mount_info(e) for e in manager.entries(table)}
        return Response(data=listing, legacy_top_level=True)

    async def read_mount(_request: Request, data: FieldData) -> Response:
        entry = manager.get(table, data.get("path"))
        if entry is None:
            kind = "auth engine" if table == "auth" else "secret engine mount"
            raise InvalidRequestError(f"No {kind} at {data.get('path').strip('/')}/")
        return Response(data=mount_info(entry), legacy_top_level=True)

    async def enable(request: Request, data: FieldData) -> Response | None:
        kind = data.get("type")
        if not kind:
            raise InvalidRequestError("backend type must be specified as a string")
        config = MountConfig(**_mount_config(data.get("config"), tuning=False))
        _check_enable_ttls(config)
        options, given = data.get_ok("options")
        # As Vault: options absent are an empty map, an explicit JSON null stays null (the CLI sends one).
        if request.data.get("options", {}) is None:
            options = None
        elif not given:
            options = {}
        await manager.enable(
            table,
            data.get("path"),
            kind,
            description=data.get("description"),
            config=config,
            options=None if options is None else dict(options),
            local=data.get("local"),
            seal_wrap=data.get("seal_wrap"),
        )
        return None

    async def disable(_request: Request, data: FieldData) -> Response | None:
        entry = manager.get(table, data.get("path"))
        if entry is not None and entry.type not in _NOT_PLUGINS:
            # As Vault: what the mount issued (secrets, login tokens) is revoked while its backend can still
            # do it; a backend that cannot revoke makes the unmount fail until revoke-force is used.
            await services.leases.revoke_prefix(entry.api_path)
        await manager.disable(table, data.get("path"))
        if entry is not None:
            await services.quotas.mount_disabled(entry.api_path)
        return None

    def tuned_table(path: str) -> tuple[str, str]:
        # Vault's CLI tunes auth methods through sys/mounts/auth/<path>/tune.
        if table == "mounts" and path.startswith("auth/"):
            return "auth", path.removeprefix("auth/")
        return table, path

    async def read_tune(_request: Request, data: FieldData) -> Response:
        entry = manager.get(*tuned_table(data.get("path")))
        if entry is None:
            raise InvalidRequestError(f'cannot fetch sysview for path "{data.get("path").strip("/")}/"')
        return Response(data=_tune_info(entry, manager.ttls), legacy_top_level=True)

    async def tune(request: Request, data: FieldData) -> Response | None:
        _refuse_untunable(request, data.get("path"))
        target, path = tuned_table(data.get("path"))
        entry = manager.get(target, path)
        if entry is None:
            raise InvalidRequestError(f'tune of path "{path.strip("/")}/" failed: no mount entry found')
        changes = _mount_config(request.data, tuning=True)
        changes.update(_user_lockout_changes(entry, request.data.get("user_lockout_config")))
        _check_tune_ttls(MountConfig(**{**_config_dict(entry.config), **changes}), manager.ttls)
        description, has_description = data.get_ok("description")
        if has_description:
            changes["description"] = description
        options, has_options = data.get_ok("options")
        warning = ""
        if has_options:
            changes["options"] = {**(entry.options or {}), **options}
            if entry.type == "kv" and "version" in options:
                warning = _kv_version_change(entry.options or {}, options["version"])
        await manager.tune(target, path, **changes)
        return Response(warnings=(warning,)) if warning else None

    return [
        Path(
            f"{prefix}/{{path*}}/tune",
            fields=_TUNE_FIELDS,
            operations={Operation.READ: read_tune, Operation.UPDATE: tune},
            synopsis="Tune backend configuration parameters for this mount.",
        ),
        Path(
            f"{prefix}/?",
            operations={Operation.READ: list_mounts},
            synopsis=f"List the currently mounted {'auth methods' if table == 'auth' else 'backends'}.",
        ),
        Path(
            f"{prefix}/{{path*}}",
            fields=_MOUNT_FIELDS,
            operations={
                Operation.READ: read_mount,
                Operation.UPDATE: enable,
                Operation.DELETE: disable,
            },
            synopsis="Mount a new backend at a new path, read or remove it.",
        ),
    ]


# Vault's untunableMounts: system paths whose settings only a few audit fields may change.
_UNTUNABLE = ("cubbyhole/", "sys/", "audit/", "identity/")
_TUNABLE_ON_UNTUNABLE = {"path", "audit_non_hmac_request_keys", "audit_non_hmac_response_keys"}


def _refuse_untunable(request: Request, path: str) -> None:
    path = path.strip("/") + "/"
    if not path.startswith(_UNTUNABLE):
        return
    for name in request.data:
        if name in _TUNE_FIELDS and name not in _TUNABLE_ON_UNTUNABLE:
            raise InvalidRequestError(f"cannot tune parameter {name} of {path}")


def _kv_version_change(current: Mapping[str, str], wanted: str) -> str:
    """Vault's rules for tuning a KV mount's version: only 1 or 2, never down. The warning of an upgrade."""
    try:
        version = int(wanted or "0")
    except ValueError:
        raise InvalidRequestError(
            f'unable to parse options: strconv.ParseInt: parsing "{wanted}": invalid syntax'
        ) from None
    if version not in (1, 2):
        raise InvalidRequestError(f"invalid version provided: {version}")
    old = int(current.get("version") or "1")
    if version < old:
        raise InvalidRequestError(f"cannot downgrade mount from version {old}")
    if version == old:
        return ""
    return (
        f"Upgrading mount from version {old} to version {version}. This mount will be unavailable for a "
        "brief period and will resume service shortly."
    )


def _config_dict(config: MountConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in MountConfig.__dataclass_fields__}
