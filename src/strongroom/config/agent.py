"""The agent configuration: Vault Agent's agent.hcl (or JSON, or a directory of both, or several -config
flags) -> one validated AgentConfig; and Vault Proxy's proxy.hcl, read by the same grammar.

Layer: config. Imports hcl, util and errors only (through the sibling agent_* modules).

Reading goes file by file; each stanza is read on its own, so one run reports every broken stanza, each
as `file:line: message`. Files merge as Vault Agent merges them: a later `vault`, `auto_auth`, `api_proxy`,
`cache`, `template_config` or `exec` replaces an earlier one, templates, env_templates and listeners add
up, and `exit_after_auth` is true when any file sets it. The rules that span stanzas run on the merged
result. A proxy config (`load_proxy_config`) is the agent's without the template family: `template`,
`template_config`, `env_template` and `exec` are refused (Vault Proxy skips them silently, so a proxy.hcl
with a template would otherwise start and never render it), `cache { use_auto_auth_token }` is ignored
as Vault Proxy ignores it, and the cross-stanza rules are Vault Proxy's. Keys Vault Agent has that mean
nothing to strongroom are accepted with a one-line notice, and so are unknown keys (Vault Agent's
decoding skips them; the notice catches a misspelling).

Invariant: only the config files themselves are read. No file a config names (role ID, sink, template,
certificate) is opened, created or stat'ed, and nothing connects anywhere, so `-check` is safe in CI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strongroom import hcl
from strongroom.config.agent_blocks import (
    read_api_proxy,
    read_auto_auth,
    read_cache,
    read_env_templates,
    read_exec,
    read_listeners,
    read_template,
    read_template_config,
    read_vault,
)
from strongroom.config.agent_fields import Place, blocks, boolean, choice, key_line, string, string_list
from strongroom.config.agent_model import (
    AgentAPI,
    AgentConfig,
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
    PersistSettings,
    Template,
    TemplateExec,
    TemplateSettings,
    TokenFileLogin,
    VaultConnection,
    Wait,
)
from strongroom.errors import ConfigError, HCLError

__all__ = [
    "AgentAPI",
    "AgentConfig",
    "AgentConfigError",
    "ApiProxy",
    "AppRoleLogin",
    "AutoAuth",
    "AutoAuthMethod",
    "CacheSettings",
    "CertLogin",
    "EnvTemplate",
    "ExecSupervisor",
    "FileSink",
    "JWTLogin",
    "KubernetesLogin",
    "Listener",
    "PersistSettings",
    "Template",
    "TemplateExec",
    "TemplateSettings",
    "TokenFileLogin",
    "VaultConnection",
    "Wait",
    "config_files",
    "load_agent_config",
    "load_proxy_config",
]

LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "err", "error")

_IGNORED_TOP = {
    "disable_mlock": "strongroom's agent does not lock memory",
    "telemetry": "/agent/v1/metrics serves the agent's counters in Prometheus text as they are",
    "log_rotate_duration": "log files are not rotated by the agent",
    "log_rotate_bytes": "log files are not rotated by the agent",
    "log_rotate_max_files": "log files are not rotated by the agent",
}


class AgentConfigError(ConfigError):
    """The agent configuration is invalid: `reasons` holds one `file:line: message` per problem found."""

    def __init__(self, reasons: Sequence[str], notices: Sequence[str] = ()) -> None:
        self.reasons = tuple(reasons)
        self.notices = tuple(notices)
        super().__init__("\n".join(self.reasons))


def config_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files `-config` names: files as given, directories as their *.hcl and *.json in name order
    (editor backups such as `x.hcl~` and `.#x.hcl` skipped, as Vault Agent does)."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files += sorted(
                p for p in path.iterdir()
                if p.suffix in (".hcl", ".json") and p.is_file() and not p.name.startswith((".#", "#"))
            )  # fmt: skip
        elif path.is_file():
            files.append(path)
        else:
            raise AgentConfigError([f"{path}: no such file or directory"])
    if not files:
        raise AgentConfigError(["no configuration files found"])
    return files


def load_agent_config(paths: Sequence[str | Path]) -> AgentConfig:
    """Read, merge and validate the agent config; raise AgentConfigError listing every problem found."""
    return _load(paths, proxy=False)


def load_proxy_config(paths: Sequence[str | Path]) -> AgentConfig:
    """Read, merge and validate a Vault Proxy config (no templates); raise AgentConfigError as the agent's."""
    return _load(paths, proxy=True)


def _load(paths: Sequence[str | Path], *, proxy: bool) -> AgentConfig:
    merged = _Merged(proxy=proxy)
    for file in config_files(paths):
        try:
            doc = hcl.load(file)
        except HCLError as exc:
            merged.reasons.append(f"{exc.filename}:{exc.line}: {exc.message}")
            continue
        merged.add(_read_file(str(file), doc, proxy=proxy))
    if not merged.reasons:
        merged.validate()
    if merged.reasons:
        raise AgentConfigError(merged.reasons, merged.notices)
    return merged.result()


@dataclass(slots=True)
class _File:
    """What one file says, before merging."""

    place: Place
    reasons: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    templates: list[Template] = field(default_factory=list)
    env_templates: list[EnvTemplate] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)
    cache: CacheSettings | None = None
    cache_proxy: ApiProxy | None = None


def _read_templates(place: Place, line: int, value: Any, into: _File) -> None:
    for _, body in blocks(place, line, value, 0):
        try:
            into.templates.append(read_template(place, body))
        except ConfigError as exc:
            into.reasons.append(str(exc))


def _read_env_templates(place: Place, line: int, value: Any, into: _File) -> None:
    into.env_templates += read_env_templates(place, line, value)


def _read_listeners(place: Place, line: int, value: Any, into: _File) -> None:
    into.listeners += read_listeners(place, line, value)


def _read_cache(place: Place, line: int, value: Any, into: _File) -> None:
    into.cache, into.cache_proxy = read_cache(place, line, value)


_SUBSYSTEMS = ("auto-auth", "caching", "proxying", "templating", "")


def _subsystems(key: str) -> Callable[[Place, int, Any, _File], None]:
    """`disable_idle_connections` / `disable_keep_alives`: checked as Vault Agent checks them, then ignored
    (connections to the server are the HTTP client's)."""

    def handle(place: Place, line: int, value: Any, into: _File) -> None:
        try:
            names = string_list(value)
        except ValueError as exc:
            raise place.error(line, f"{key!r}: {exc}") from None
        for name in names:
            if name.lower() not in _SUBSYSTEMS:
                raise place.error(line, f"unknown {key} value: {name}")
        place.notice(line, f"{key!r} is accepted and ignored: connections are managed by the HTTP client")

    return handle


def _value(key: str, read: Callable[[Place, int, Any], Any]) -> Callable[[Place, int, Any, _File], None]:
    def handle(place: Place, line: int, value: Any, into: _File) -> None:
        into.values[key] = read(place, line, value)

    return handle


def _scalar(key: str, convert: Callable[[Any], Any]) -> Callable[[Place, int, Any, _File], None]:
    def handle(place: Place, line: int, value: Any, into: _File) -> None:
        try:
            into.values[key] = convert(value)
        except ValueError as exc:
            raise place.error(line, f"{key!r}: {exc}") from None

    return handle


_TOP: dict[str, Callable[[Place, int, Any, _File], None]] = {
    "vault": _value("vault", read_vault),
    "auto_auth": _value("auto_auth", read_auto_auth),
    "template": _read_templates,
    "template_config": _value("template_config", read_template_config),
    "env_template": _read_env_templates,
    "exec": _value("exec", read_exec),
    "api_proxy": _value("api_proxy", read_api_proxy),
    "cache": _read_cache,
    "listener": _read_listeners,
    "exit_after_auth": _scalar("exit_after_auth", boolean),
    "pid_file": _scalar("pid_file", string),
    "log_level": _scalar("log_level", choice(*LOG_LEVELS)),
    "log_file": _scalar("log_file", string),
    "log_format": _scalar("log_format", choice("standard", "json")),
    "disable_idle_connections": _subsystems("disable_idle_connections"),
    "disable_keep_alives": _subsystems("disable_keep_alives"),
}


# The agent's blocks a proxy refuses: Vault Proxy has no templates and no process supervisor.
_AGENT_ONLY = ("template", "template_config", "env_template", "exec")


def _read_file(filename: str, doc: Mapping[str, Any], *, proxy: bool) -> _File:
    place = Place(filename)
    into = _File(place)
    for key, value in doc.items():
        line = key_line(doc, key)
        if proxy and key in _AGENT_ONLY:
            message = f"{key!r} is not supported by the proxy; run `strongroom agent` for it"
            into.reasons.append(str(place.error(line, message)))
            continue
        if key in _IGNORED_TOP:
            place.notice(line, f"{key!r} is accepted and ignored: {_IGNORED_TOP[key]}")
            continue
        handler = _TOP.get(key)
        if handler is None:
            place.notice(line, f"unknown key {key!r} is ignored, as Vault Agent ignores it")
            continue
        try:
            handler(place, line, value, into)
        except ConfigError as exc:
            into.reasons.append(str(exc))
    if into.cache_proxy is not None and proxy:
        place.notices.append(
            f"{into.cache_proxy.origin}: the cache block's use_auto_auth_token is ignored by the proxy, "
            "as Vault Proxy ignores it; set it in api_proxy"
        )
    elif into.cache_proxy is not None:
        if "api_proxy" in into.values:
            into.reasons.append(
                f"{into.cache_proxy.origin}: use_auto_auth_token defined in both api_proxy and cache config. "
                "Please remove this configuration from the cache block"
            )
        else:
            into.values["api_proxy"] = into.cache_proxy
    return into


@dataclass(slots=True)
class _Merged:
    """The files read so far, merged the way Vault Agent merges them."""

    reasons: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    templates: list[Template] = field(default_factory=list)
    env_templates: list[EnvTemplate] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)
    cache: CacheSettings | None = None
    first: str = ""
    proxy: bool = False

    def add(self, file: _File) -> None:
        self.first = self.first or file.place.filename
        self.reasons += file.reasons
        self.notices += file.place.notices
        for key, value in file.values.items():
            if key == "exit_after_auth":
                self.values[key] = self.values.get(key, False) or value
            elif key != "pid_file" or value:
                self.values[key] = value
        self.templates += file.templates
        self.env_templates += file.env_templates
        self.listeners += file.listeners
        self.cache = file.cache or self.cache

    def fail(self, where: str, message: str) -> None:
        self.reasons.append(f"{where or self.first}: {message}")

    def validate(self) -> None:
        """Vault Agent's ValidateConfig: the rules that span stanzas, on the merged config."""
        auto_auth: AutoAuth | None = self.values.get("auto_auth")
        proxy: ApiProxy | None = self.values.get("api_proxy")
        wraps = auto_auth is not None and auto_auth.method.wrap_ttl > 0
        if self.cache is not None and not (self.listeners or self.templates or self.env_templates):
            needs = "1 listener" if self.proxy else "1 template or 1 listener"
            self.fail("", f"enabling the cache requires at least {needs} to be defined")
        if proxy is not None:
            if not self.listeners:
                self.fail(
                    proxy.origin, "configuring the api_proxy requires at least 1 listener to be defined"
                )
            if proxy.use_auto_auth_token and auto_auth is None:
                self.fail(proxy.origin, "api_proxy.use_auto_auth_token is true but auto_auth not configured")
            if proxy.use_auto_auth_token and wraps:
                self.fail(proxy.origin, "api_proxy.use_auto_auth_token is true and auto_auth uses wrapping")
        if auto_auth is not None and not (
            auto_auth.sinks
            or (proxy is not None and proxy.use_auto_auth_token)
            or self.templates
            or self.env_templates
        ):
            templates = "" if self.proxy else " or at least one template"
            self.fail(
                auto_auth.origin,
                f"auto_auth requires at least one sink{templates} or api_proxy.use_auto_auth_token=true",
            )
        if auto_auth is None and self.cache is None and not self.listeners:
            self.fail("", "no auto_auth, cache, or listener block found in config")
        self._validate_exec(proxy)

    def _validate_exec(self, proxy: ApiProxy | None) -> None:
        supervisor: ExecSupervisor | None = self.values.get("exec")
        if supervisor is None and not self.env_templates:
            return
        if supervisor is None:
            self.fail(
                self.env_templates[0].origin,
                "a top-level 'exec' element must be specified with 'env_template' entries",
            )
            return
        if not self.env_templates:
            self.fail(
                supervisor.origin,
                "must specify at least one 'env_template' element with a top-level 'exec' element",
            )
        if proxy is not None:
            self.fail(proxy.origin, "'api_proxy' cannot be specified with 'env_template' entries")
        if self.templates:
            self.fail(self.templates[0].origin, "'template' cannot be specified with 'env_template' entries")
        if self.values.get("exit_after_auth"):
            # The child would be killed as soon as it started: Vault Agent runs it, then exits at once.
            self.fail(supervisor.origin, "'exit_after_auth' cannot be specified with 'exec'")
        seen: dict[str, str] = {}
        for env in self.env_templates:
            if env.name in seen:
                self.fail(env.origin, f"env_template: duplicate environment variable name: {env.name!r}")
            seen[env.name] = env.origin

    def result(self) -> AgentConfig:
        return AgentConfig(
            templates=tuple(self.templates),
            env_templates=tuple(self.env_templates),
            listeners=tuple(self.listeners),
            cache=self.cache,
            kind="proxy" if self.proxy else "agent",
            notices=tuple(self.notices),
            **self.values,
        )
