"""The stanzas of Vault Agent's agent.hcl, each read from one file into its frozen value, with the rules
Vault Agent checks inside a single stanza (those spanning stanzas live in `config.agent`).

Layer: config. Imports hcl, errors and the sibling agent_fields / agent_model modules.

Only file names are read from the config here: no file the config names is opened, created or stat'ed.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from typing import Any

from strongroom import hcl
from strongroom.config.agent_fields import (
    Converter,
    Nested,
    Place,
    boolean,
    choice,
    command,
    duration,
    file_mode,
    integer,
    labelled,
    read_fields,
    single,
    string,
    string_list,
    text_or_number,
)
from strongroom.config.agent_fields import blocks as _blocks
from strongroom.config.agent_model import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_RETRIES,
    DEFAULT_SINK_MODE,
    AgentAPI,
    ApiProxy,
    AppRoleLogin,
    AutoAuth,
    AutoAuthMethod,
    CacheSettings,
    CertLogin,
    EnvTemplate,
    ExecSupervisor,
    FileSink,
    JWTLogin,
    KubernetesLogin,
    Listener,
    LoginConfig,
    PersistSettings,
    Template,
    TemplateExec,
    TemplateSettings,
    TokenFileLogin,
    VaultConnection,
    Wait,
)

LOGIN_METHODS = ("approle", "cert", "jwt", "kubernetes", "token_file")
TLS_VERSIONS = ("tls10", "tls11", "tls12", "tls13")


# --- vault ---------------------------------------------------------------------------------------------


def _retry(place: Place, line: int, value: Any) -> int:
    found = read_fields(place, single(place, line, value, "retry"), "retry", {"num_retries": integer})
    retries: int = found.get("num_retries", 0)
    if retries < -1:
        raise place.error(line, "retry 'num_retries' must be -1 (no retries), 0 (the default) or more")
    # Vault Agent: 0 means the default, -1 means none.
    return {0: DEFAULT_RETRIES, -1: 0}.get(retries, retries)


_VAULT: dict[str, Converter] = {
    **dict.fromkeys(
        ("address", "ca_cert", "ca_path", "client_cert", "client_key", "tls_server_name"), string
    ),
    "tls_skip_verify": boolean,
    "retry": Nested(_retry),
}


def read_vault(place: Place, line: int, value: Any) -> VaultConnection:
    body = single(place, line, value, "vault")
    found = read_fields(place, body, "vault", _VAULT)
    address = found.get("address", "")
    if address and not address.startswith(("http://", "https://", "unix://")):
        raise place.error(
            hcl.assignment_line(body, "address") or line,
            f"vault 'address' {address!r} must start with http://, https:// or unix://",
        )
    if bool(found.get("client_cert")) != bool(found.get("client_key")):
        raise place.error(line, "vault 'client_cert' and 'client_key' must be given together")
    if found.get("tls_skip_verify"):
        place.notice(line, "vault 'tls_skip_verify' is true: the server's certificate is not checked")
    if "retry" in found:
        found["num_retries"] = found.pop("retry")
    return VaultConnection(**found)


# --- auto_auth -----------------------------------------------------------------------------------------

_LOGIN_TABLES: dict[str, dict[str, Converter]] = {
    "approle": {
        "role_id_file_path": string,
        "secret_id_file_path": string,
        "remove_secret_id_file_after_reading": boolean,
        "secret_id_response_wrapping_path": string,
    },
    "token_file": {"token_file_path": string},
    "jwt": {
        "role": string,
        "path": string,
        "remove_jwt_after_reading": boolean,
        "remove_jwt_follows_symlinks": boolean,
    },
    "kubernetes": {"role": string, "token_path": string},
    "cert": {
        "name": string,
        "ca_cert": string,
        "client_cert": string,
        "client_key": string,
        "reload": boolean,
    },
}
_LOGIN_REQUIRED = {
    "approle": ("role_id_file_path",),
    "token_file": ("token_file_path",),
    "jwt": ("role", "path"),
    "kubernetes": ("role",),
    "cert": (),
}
_LOGIN_VALUES = {
    "approle": AppRoleLogin,
    "token_file": TokenFileLogin,
    "jwt": JWTLogin,
    "kubernetes": KubernetesLogin,
    "cert": CertLogin,
}


def _login(place: Place, line: int, kind: str, value: Any) -> LoginConfig:
    body = single(place, line, value, "config") if value is not None else {}
    found = read_fields(place, body, f'method "{kind}" config', _LOGIN_TABLES[kind])
    missing = [key for key in _LOGIN_REQUIRED[kind] if not found.get(key)]
    if missing:
        raise place.error(line, f'method "{kind}" config needs {", ".join(repr(k) for k in missing)}')
    login: LoginConfig = _LOGIN_VALUES[kind](**found)
    return login


_METHOD: dict[str, Converter] = {
    "type": string,
    "mount_path": string,
    "namespace": string,
    "wrap_ttl": duration,
    "min_backoff": duration,
    "max_backoff": duration,
    "exit_on_err": boolean,
    "config": Nested(lambda _place, _line, value: value),
}


def _method(place: Place, line: int, value: Any) -> AutoAuthMethod:
    found = labelled(place, line, value, "method")
    if len(found) != 1:
        raise place.error(line, "one and only one 'method' block is required")
    kind, body = found[0]
    line = hcl.block_line(body) or line
    if kind not in LOGIN_METHODS:
        raise place.error(
            line, f"auth method {kind!r} is not supported by strongroom's agent "
            f"(supported: {', '.join(LOGIN_METHODS)})",
        )  # fmt: skip
    values = read_fields(place, body, f'method "{kind}"', _METHOD)
    values.pop("type", None)
    login = _login(place, hcl.assignment_line(body, "config") or line, kind, values.pop("config", None))
    mount_path = (values.pop("mount_path", "") or f"auth/{kind}").strip("/")
    if (
        values.get("min_backoff")
        and values.get("max_backoff")
        and values["min_backoff"] > values["max_backoff"]
    ):
        raise place.error(line, "method 'min_backoff' cannot be longer than 'max_backoff'")
    values["namespace"] = values.get("namespace", "").strip("/")
    return AutoAuthMethod(type=kind, login=login, mount_path=mount_path, **values)


_SINK: dict[str, Converter] = {
    "type": string,
    "wrap_ttl": duration,
    "dh_type": string,
    "dh_path": string,
    "derive_key": boolean,
    "aad": string,
    "aad_env_var": string,
    "config": Nested(lambda _place, _line, value: value),
}


def _sink_file(place: Place, line: int, value: Any) -> tuple[str, int]:
    body = single(place, line, value, "config") if value is not None else {}
    found = read_fields(place, body, 'sink "file" config', {"path": string, "mode": file_mode})
    if not found.get("path"):
        raise place.error(line, "sink \"file\" config needs a 'path'")
    mode: int = found.get("mode", DEFAULT_SINK_MODE)
    if mode & 0o007:
        place.notice(
            hcl.assignment_line(body, "mode") or line,
            f"sink mode {mode:04o} lets every user on the host read the token",
        )
    return found["path"], mode


def _sinks(place: Place, line: int, value: Any) -> list[FileSink]:
    sinks = []
    for kind, body in labelled(place, line, value, "sink"):
        where = hcl.block_line(body) or line
        if kind != "file":
            raise place.error(where, f'sink type {kind!r} is not supported (only "file")')
        found = read_fields(place, body, 'sink "file"', _SINK)
        if found.get("dh_type"):
            raise place.error(
                hcl.assignment_line(body, "dh_type") or where,
                "sink 'dh_type' (Diffie-Hellman encryption of the token) is not supported by strongroom's "
                "agent; use response wrapping (wrap_ttl) instead",
            )
        if found.get("dh_path"):
            raise place.error(where, "sink.file: 'dh_type' and 'dh_path' must be specified together")
        if found.get("aad") or found.get("aad_env_var"):
            raise place.error(where, "sink.file: specifying AAD data without 'dh_type' does not make sense")
        if found.get("derive_key"):
            raise place.error(
                where, "sink.file: specifying 'derive_key' data without 'dh_type' does not make sense"
            )
        path, mode = _sink_file(place, hcl.assignment_line(body, "config") or where, found.get("config"))
        sinks.append(FileSink(path=path, mode=mode, wrap_ttl=found.get("wrap_ttl", 0)))
    return sinks


_AUTO_AUTH: dict[str, Converter] = {"method": Nested(_method), "sink": Nested(_sinks)}
_AUTO_AUTH_IGNORED = {"enable_reauth_on_new_credentials": "it is a testing option of Vault Agent"}


def read_auto_auth(place: Place, line: int, value: Any) -> AutoAuth:
    body = single(place, line, value, "auto_auth")
    line = hcl.block_line(body) or line
    found = read_fields(place, body, "auto_auth", _AUTO_AUTH, _AUTO_AUTH_IGNORED)
    if "method" not in found:
        raise place.error(line, "auto_auth: no 'method' block found")
    method: AutoAuthMethod = found["method"]
    sinks: list[FileSink] = found.get("sink", [])
    if method.wrap_ttl > 0:
        if len(sinks) != 1:
            raise place.error(line, "auto_auth: wrapping enabled on auth method and 0 or many sinks defined")
        if sinks[0].wrap_ttl > 0:
            raise place.error(line, "auto_auth: wrapping enabled both on auth method and sink")
    return AutoAuth(method=method, sinks=tuple(sinks), origin=place.at(line))


# --- template / env_template ---------------------------------------------------------------------------


def _wait(place: Place, line: int, value: Any) -> Wait:
    if isinstance(value, str):
        # consul-template's short form: "5s" or "5s:30s".
        low, _, high = value.partition(":")
        try:
            wait_min = duration(low)
            wait = Wait(min=wait_min, max=duration(high) if high else wait_min * 4)
        except ValueError as exc:
            raise place.error(line, f"template 'wait': {exc}") from None
    else:
        # Repeated, the last block counts, as in Vault Agent's decoding of the template stanza.
        body = _blocks(place, line, value, 0)[-1][1]
        found = read_fields(place, body, "template wait", {"min": duration, "max": duration}, strict=True)
        wait_min = found.get("min", 0)
        wait = Wait(min=wait_min, max=found.get("max", wait_min * 4))
    if wait.max < wait.min:
        raise place.error(line, "template wait 'max' cannot be shorter than 'min'")
    return wait


def _exec(place: Place, line: int, value: Any) -> TemplateExec:
    # Repeated, the last block counts, as with `wait`.
    body = _blocks(place, line, value, 0)[-1][1]
    found = read_fields(place, body, "template exec", {"command": command, "timeout": duration}, strict=True)
    if "command" not in found:
        raise place.error(line, "template exec needs a 'command'")
    args, shell = found["command"]
    return TemplateExec(command=args, shell=shell, timeout=found.get("timeout", DEFAULT_COMMAND_TIMEOUT))


_TEMPLATE_COMMON: dict[str, Converter] = {
    "source": string,
    "contents": string,
    "error_on_missing_key": boolean,
    "error_fatal": boolean,
    "left_delimiter": string,
    "right_delimiter": string,
    "function_denylist": string_list,
    "function_blacklist": string_list,
}
_TEMPLATE: dict[str, Converter] = {
    **_TEMPLATE_COMMON,
    "destination": string,
    "perms": file_mode,
    "user": text_or_number,
    "group": text_or_number,
    "uid": integer,
    "gid": integer,
    "create_dest_dirs": boolean,
    "wait": Nested(_wait),
    "exec": Nested(_exec),
    "command": command,
    "command_timeout": duration,
    "backup": boolean,
    "sandbox_path": string,
}


def _source_or_contents(place: Place, line: int, what: str, found: dict[str, Any]) -> None:
    if ("source" in found) == ("contents" in found):
        raise place.error(line, f"{what}: exactly one of 'source' or 'contents' must be specified")
    denied = found.pop("function_blacklist", ())
    if denied:
        found["function_denylist"] = (*found.get("function_denylist", ()), *denied)


def read_template(place: Place, body: Mapping[str, Any]) -> Template:
    line = hcl.block_line(body)
    found = read_fields(place, body, "template", _TEMPLATE, strict=True)
    _source_or_contents(place, line, "template", found)
    if not found.get("destination"):
        raise place.error(line, "template: 'destination' must be specified")
    # consul-template's older spellings, mapped onto the current ones.
    for old, new in (("uid", "user"), ("gid", "group")):
        if old in found:
            if new in found:
                raise place.error(line, f"template: '{old}' and '{new}' cannot be specified together")
            found[new] = str(found.pop(old))
    timeout = found.pop("command_timeout", None)
    if "command" in found:
        args, shell = found.pop("command")
        if "exec" in found:
            raise place.error(line, "template: 'command' and 'exec' cannot be specified together")
        place.notice(
            hcl.assignment_line(body, "command") or line,
            "template 'command' is deprecated; use exec { command = [...] }",
        )
        found["exec"] = TemplateExec(
            command=args, shell=shell, timeout=timeout if timeout is not None else 30
        )
    elif timeout is not None:
        raise place.error(line, "template: 'command_timeout' needs 'command'")
    return Template(**found, origin=place.at(line))


_ENV_NOT_ALLOWED = (
    "backup", "command", "command_timeout", "create_dest_dirs", "destination", "exec", "perms", "user", "uid",
    "group", "gid", "wait", "sandbox_path",
)  # fmt: skip


def read_env_templates(place: Place, line: int, value: Any) -> list[EnvTemplate]:
    found_all = []
    for labels, body in _blocks(place, line, value, 1):
        name = labels[0]
        where = hcl.block_line(body) or line
        what = f"env_template[{name}]"
        for key in body:
            if key in _ENV_NOT_ALLOWED:
                raise place.error(hcl.assignment_line(body, key) or where, f"{what}: {key!r} is not allowed")
        found = read_fields(place, body, what, _TEMPLATE_COMMON, strict=True)
        _source_or_contents(place, where, what, found)
        found_all.append(EnvTemplate(name=name, **found, origin=place.at(where)))
    return found_all


def read_template_config(place: Place, line: int, value: Any) -> TemplateSettings:
    table: dict[str, Converter] = {
        "static_secret_render_interval": duration,
        "exit_on_retry_failure": boolean,
        "max_connections_per_host": integer,
    }
    body = single(place, line, value, "template_config")
    ignored = {"lease_renewal_threshold": "leases are renewed at two thirds of their TTL"}
    found = read_fields(place, body, "template_config", table, ignored)
    if found.get("max_connections_per_host", 1) < 1:
        raise place.error(line, "template_config 'max_connections_per_host' must be at least 1")
    return TemplateSettings(**found)


# --- exec ----------------------------------------------------------------------------------------------


def _signal(value: Any) -> str:
    name = string(value).upper()
    if name not in signal.Signals.__members__:
        raise ValueError(f"{value!r} is not a signal name such as SIGTERM")
    return name


def read_exec(place: Place, line: int, value: Any) -> ExecSupervisor:
    body = single(place, line, value, "exec")
    line = hcl.block_line(body) or line
    table: dict[str, Converter] = {
        "command": command,
        "restart_on_secret_changes": choice("always", "never"),
        "restart_stop_signal": _signal,
    }
    found = read_fields(place, body, "exec", table, strict=True)
    if "command" not in found:
        raise place.error(line, "'exec' requires a non-empty 'command' field")
    args, shell = found.pop("command")
    if shell:
        raise place.error(line, 'exec \'command\' must be a list of strings, such as ["./app", "-v"]')
    return ExecSupervisor(command=args, **found, origin=place.at(line))


# --- api_proxy / cache / listener ----------------------------------------------------------------------


def _use_token(value: Any) -> tuple[bool, bool]:
    if isinstance(value, str) and value.lower() == "force":
        return True, True
    try:
        return boolean(value), False
    except ValueError:
        raise ValueError(f"can be either true/false/force, {value!r} is an invalid option") from None


_API_PROXY: dict[str, Converter] = {
    "use_auto_auth_token": _use_token,
    "enforce_consistency": choice("always", "never"),
    "when_inconsistent": choice("fail", "retry", "forward"),
}


def read_api_proxy(place: Place, line: int, value: Any) -> ApiProxy:
    body = single(place, line, value, "api_proxy")
    line = hcl.block_line(body) or line
    found = read_fields(place, body, "api_proxy", _API_PROXY)
    use, force = found.pop("use_auto_auth_token", (False, False))
    return ApiProxy(use_auto_auth_token=use, force=force, **found, origin=place.at(line))


def _persist(place: Place, line: int, value: Any) -> PersistSettings:
    if len(_blocks(place, line, value, 0)) > 1:
        raise place.error(line, 'error parsing persist: only one "persist" block is required')
    kinds = labelled(place, line, value, "persist")
    if not kinds or not kinds[0][0]:
        raise place.error(line, "error parsing persist: persist type must be specified")
    kind, body = kinds[0]
    fields = read_fields(place, body, f'persist "{kind}"', _PERSIST)
    fields.pop("type", None)
    return PersistSettings(type=kind.lower(), **fields)


_PERSIST: dict[str, Converter] = {
    "type": string,
    "path": string,
    "keep_after_import": boolean,
    "exit_on_err": boolean,
    "service_account_token_file": string,
    # strongroom's own, for type "file": the file the cache's key is derived from.
    "key_file": string,
}
_CACHE: dict[str, Converter] = {
    **_API_PROXY,
    "persist": Nested(_persist),
    "cache_static_secrets": boolean,
    "static_secret_token_capability_refresh_interval": duration,
    "disable_caching_dynamic_secrets": boolean,
    # strongroom's own: cached answers are served while the server is unreachable.
    "serve_during_outage": boolean,
}
_CACHE_IGNORED = {
    "static_secret_token_capability_refresh_behavior": "a failed capability check drops the cached entry",
    "force_auto_auth_token": 'not a key of Vault Agent\'s cache: use_auto_auth_token = "force" is',
}


def read_cache(place: Place, line: int, value: Any) -> tuple[CacheSettings, ApiProxy | None]:
    """The `cache` stanza, and the API proxy settings its `use_auto_auth_token` (and Vault's older
    consistency keys) give, as in Vault Agent before `api_proxy` existed."""
    body = single(place, line, value, "cache")
    line = hcl.block_line(body) or line
    found = read_fields(place, body, "cache", _CACHE, _CACHE_IGNORED)
    settings = CacheSettings(
        static_secrets=found.pop("cache_static_secrets", True),
        capability_refresh=found.pop("static_secret_token_capability_refresh_interval", 1) or 1,
        persist=found.pop("persist", None),
        dynamic_secrets=not found.pop("disable_caching_dynamic_secrets", False),
        serve_during_outage=found.pop("serve_during_outage", False),
        origin=place.at(line),
    )
    if not found:
        return settings, None
    use, force = found.pop("use_auto_auth_token", (False, False))
    return settings, ApiProxy(use_auto_auth_token=use, force=force, **found, origin=place.at(line))


def _own_api(key: str) -> Nested:
    """`agent_api` / `proxy_api` in a listener: both are read (Vault's listener has both); the program the
    config is for uses its own."""

    def read(place: Place, line: int, value: Any) -> AgentAPI:
        return AgentAPI(**read_fields(place, single(place, line, value, key), key, {"enable_quit": boolean}))

    return Nested(read)


_LISTENER: dict[str, Converter] = {
    "address": string,
    "tls_disable": boolean,
    "tls_cert_file": string,
    "tls_key_file": string,
    "tls_min_version": choice(*TLS_VERSIONS),
    "tls_client_ca_file": string,
    "tls_require_and_verify_client_cert": boolean,
    "role": choice("default", "metrics_only"),
    "socket_mode": file_mode,
    "type": string,
    "require_request_header": boolean,
    "agent_api": _own_api("agent_api"),
    "proxy_api": _own_api("proxy_api"),
}
_LISTENER_IGNORED = {
    "tls_cipher_suites": "Python's TLS stack chooses the cipher suites",
    "tls_prefer_server_cipher_suites": "Python's TLS stack chooses the cipher order",
    "tls_max_version": "the highest TLS version Python supports is offered",
    "proxy_protocol_behavior": "the PROXY protocol is not supported",
    "x_forwarded_for_authorized_addrs": "X-Forwarded-For is not trusted",
    "x_forwarded_for_reject_not_authorized": "X-Forwarded-For is not trusted",
    "x_forwarded_for_reject_not_present": "X-Forwarded-For is not trusted",
    "socket_user": "the socket belongs to the user running the agent",
    "socket_group": "the socket belongs to the user running the agent",
    "max_request_size": "the agent applies no request size limit of its own",
    "max_request_duration": "the agent applies no request time limit of its own",
    "telemetry": "/agent/v1/metrics serves the agent's counters as they are",
    "profiling": "the agent serves no profiling endpoints",
    "custom_response_headers": "Vault Agent also drops custom response headers",
}


def read_listeners(place: Place, line: int, value: Any) -> list[Listener]:
    listeners = []
    for kind, body in labelled(place, line, value, "listener"):
        where = hcl.block_line(body) or line
        if kind not in ("tcp", "unix"):
            raise place.error(where, f"unsupported listener type {kind!r}")
        found = read_fields(place, body, f'listener "{kind}"', _LISTENER, _LISTENER_IGNORED)
        found.pop("type", None)
        if kind == "tcp":
            found.setdefault("address", "127.0.0.1:8200")
            if "socket_mode" in found:
                raise place.error(where, "listener 'socket_mode' applies only to \"unix\" listeners")
        elif not found.get("address"):
            raise place.error(where, "a \"unix\" listener needs an 'address' (the socket path)")
        listener = Listener(type=kind, **found)
        if not listener.tls_disable and not (listener.tls_cert_file and listener.tls_key_file):
            raise place.error(
                where, "a TLS listener needs tls_cert_file and tls_key_file (or tls_disable = true)"
            )
        listeners.append(listener)
    return listeners
