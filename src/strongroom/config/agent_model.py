"""The values of an agent configuration: what `strongroom agent -config=...` reads from Vault Agent's
agent.hcl, as frozen dataclasses with Vault Agent's defaults (durations in whole seconds, modes as ints).

Layer: config. Imports nothing from strongroom; `config.agent_blocks` builds these, `config.agent` merges
and validates them.

`origin` fields ("file:line") are kept only so that rules checked after several files are merged can
still point at the block they refuse; they take no part in equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# consul-template's defaults, which Vault Agent's templates inherit.
DEFAULT_COMMAND_TIMEOUT = 30
DEFAULT_RETRIES = 12
DEFAULT_STATIC_SECRET_RENDER_INTERVAL = 300
DEFAULT_SINK_MODE = 0o640


@dataclass(frozen=True, slots=True)
class VaultConnection:
    """The `vault { ... }` stanza: where the server is and how to trust it."""

    address: str = ""
    ca_cert: str = ""
    ca_path: str = ""
    client_cert: str = ""
    client_key: str = ""
    tls_server_name: str = ""
    tls_skip_verify: bool = False
    # Vault Agent: 0 means the default of 12, -1 means no retries at all.
    num_retries: int = DEFAULT_RETRIES


@dataclass(frozen=True, slots=True)
class AppRoleLogin:
    """`method "approle"`'s config: the files holding the role and secret IDs."""

    role_id_file_path: str
    secret_id_file_path: str = ""
    remove_secret_id_file_after_reading: bool = True
    secret_id_response_wrapping_path: str = ""


@dataclass(frozen=True, slots=True)
class TokenFileLogin:
    """`method "token_file"`'s config: a file holding a token to use as it is."""

    token_file_path: str


@dataclass(frozen=True, slots=True)
class JWTLogin:
    """`method "jwt"`'s config: the role to log in as and the file the JWT is read from."""

    role: str
    path: str
    remove_jwt_after_reading: bool = True
    remove_jwt_follows_symlinks: bool = False


@dataclass(frozen=True, slots=True)
class KubernetesLogin:
    """`method "kubernetes"`'s config: the role, and the service-account token file, read anew at every
    login because kubelet rotates it."""

    role: str
    token_path: str = "/var/run/secrets/kubernetes.io/serviceaccount/token"


@dataclass(frozen=True, slots=True)
class CertLogin:
    """`method "cert"`'s config: the role to log in as, and the client certificate presented over TLS
    (the `vault` stanza's when these are empty)."""

    name: str = ""
    ca_cert: str = ""
    client_cert: str = ""
    client_key: str = ""
    reload: bool = False


LoginConfig = AppRoleLogin | TokenFileLogin | JWTLogin | KubernetesLogin | CertLogin


@dataclass(frozen=True, slots=True)
class AutoAuthMethod:
    """`auto_auth { method "TYPE" { ... } }`."""

    type: str
    login: LoginConfig
    mount_path: str
    namespace: str = ""
    wrap_ttl: int = 0
    min_backoff: int = 0
    max_backoff: int = 0
    exit_on_err: bool = False


@dataclass(frozen=True, slots=True)
class FileSink:
    """`sink "file" { config = { path, mode } }`: where the agent writes its token."""

    path: str
    mode: int = DEFAULT_SINK_MODE
    wrap_ttl: int = 0


@dataclass(frozen=True, slots=True)
class AutoAuth:
    """The `auto_auth { ... }` stanza."""

    method: AutoAuthMethod
    sinks: tuple[FileSink, ...] = ()
    origin: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Wait:
    """A template's `wait { min max }`: quiescence timers before rendering, in seconds."""

    min: int = 0
    max: int = 0


@dataclass(frozen=True, slots=True)
class TemplateExec:
    """A template's `exec { command timeout }`: run after each render that changed the file.

    A command given as one string is `shell` (run by `sh -c`, as consul-template does).
    """

    command: tuple[str, ...]
    timeout: int = DEFAULT_COMMAND_TIMEOUT
    shell: bool = False


@dataclass(frozen=True, slots=True)
class Template:
    """One `template { ... }` stanza (consul-template's syntax)."""

    destination: str
    source: str = ""
    contents: str | None = None
    perms: int | None = None
    user: str = ""
    group: str = ""
    create_dest_dirs: bool = True
    error_on_missing_key: bool = False
    error_fatal: bool = True
    left_delimiter: str = "{{"
    right_delimiter: str = "}}"
    wait: Wait | None = None
    exec: TemplateExec | None = None
    backup: bool = False
    function_denylist: tuple[str, ...] = ()
    sandbox_path: str = ""
    origin: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class EnvTemplate:
    """One `env_template "NAME" { ... }`: an environment variable of the `exec` child process."""

    name: str
    source: str = ""
    contents: str | None = None
    error_on_missing_key: bool = False
    error_fatal: bool = True
    left_delimiter: str = "{{"
    right_delimiter: str = "}}"
    origin: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class TemplateSettings:
    """The `template_config { ... }` stanza: behaviour shared by every template."""

    static_secret_render_interval: int = DEFAULT_STATIC_SECRET_RENDER_INTERVAL
    exit_on_retry_failure: bool = False
    max_connections_per_host: int = 10


@dataclass(frozen=True, slots=True)
class ApiProxy:
    """The `api_proxy { ... }` stanza (or the older `cache { use_auto_auth_token }`).

    `force` is `use_auto_auth_token = "force"`: the agent's token replaces one the client sent.
    """

    use_auto_auth_token: bool = False
    force: bool = False
    enforce_consistency: str = "never"
    when_inconsistent: str = "fail"
    origin: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class PersistSettings:
    """The cache's `persist "TYPE" { ... }` block: where the lease cache and the auto-auth token are kept
    across restarts, and what protects them. `type` is Vault's "kubernetes" (the service-account token is
    the associated data) or strongroom's "file" (the key comes from `key_file`)."""

    type: str
    path: str = ""
    keep_after_import: bool = False
    exit_on_err: bool = False
    service_account_token_file: str = ""
    key_file: str = ""


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """The `cache { ... }` stanza: KV reads through the API proxy are cached per token and path, and
    answers carrying a lease or a token per request and token.

    `static_secrets` is Vault's `cache_static_secrets` (on here unless set false: the cache is invalidated
    by the server's events, so it is safe by default); `capability_refresh` is Vault's
    `static_secret_token_capability_refresh_interval`, the longest a token's access to a cached path goes
    unchecked (1 s here, not Vault's 5 minutes: KV events say nothing of policy changes); `persist` is
    the `persist "TYPE"` block, or None. `dynamic_secrets` is the lease cache (Vault's
    `disable_caching_dynamic_secrets` turns it off); `serve_during_outage` (strongroom's own, off by
    default) keeps cached static secrets and live leases served while the server is unreachable.
    """

    static_secrets: bool = True
    capability_refresh: int = 1
    persist: PersistSettings | None = None
    dynamic_secrets: bool = True
    serve_during_outage: bool = False
    origin: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class AgentAPI:
    """A listener's `agent_api { enable_quit }` (a proxy's `proxy_api`): whether /agent/v1/quit (a proxy's
    /proxy/v1/quit) stops it."""

    enable_quit: bool = False


@dataclass(frozen=True, slots=True)
class Listener:
    """One `listener "tcp" | "unix" { ... }` stanza of the agent's API proxy."""

    type: str
    address: str
    tls_disable: bool = False
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_min_version: str = "tls12"
    tls_client_ca_file: str = ""
    tls_require_and_verify_client_cert: bool = False
    role: str = "default"
    socket_mode: int | None = None
    require_request_header: bool = False
    agent_api: AgentAPI = field(default_factory=AgentAPI)
    proxy_api: AgentAPI = field(default_factory=AgentAPI)


@dataclass(frozen=True, slots=True)
class ExecSupervisor:
    """The top-level `exec { ... }` stanza: run a child process with `env_template` variables."""

    command: tuple[str, ...]
    restart_on_secret_changes: str = "always"
    restart_stop_signal: str = "SIGTERM"
    origin: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """Everything `strongroom agent -config=...` reads, merged across files and validated."""

    vault: VaultConnection = field(default_factory=VaultConnection)
    auto_auth: AutoAuth | None = None
    templates: tuple[Template, ...] = ()
    template_config: TemplateSettings = field(default_factory=TemplateSettings)
    api_proxy: ApiProxy | None = None
    listeners: tuple[Listener, ...] = ()
    cache: CacheSettings | None = None
    exec: ExecSupervisor | None = None
    env_templates: tuple[EnvTemplate, ...] = ()
    exit_after_auth: bool = False
    pid_file: str = ""
    log_level: str = "info"
    log_file: str = ""
    log_format: str = "standard"
    # Which program the config is for, "agent" or "proxy": the listeners serve their own endpoints under
    # /agent/v1 or /proxy/v1, with the `agent_api` or the `proxy_api` settings.
    kind: str = "agent"
    notices: tuple[str, ...] = ()
