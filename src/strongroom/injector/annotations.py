"""Reading a pod's `vault.hashicorp.com/*` annotations into what to inject (Vault's agent injector names).

Layer: injector, pure: stdlib only. A pod is injected when `agent-inject` is true and `agent-inject-status`
is not "injected" (it may say "update"); bad values are refused with the annotation's name, as vault-k8s
refuses them, so the pod is not created half-configured.

Invariant: a secret's destination stays inside the secrets volume (no absolute path, no "..").
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PREFIX = "vault.hashicorp.com/"
INJECT = PREFIX + "agent-inject"
STATUS = PREFIX + "agent-inject-status"
SECRET = PREFIX + "agent-inject-secret-"
TEMPLATE = PREFIX + "agent-inject-template-"
TEMPLATE_FILE = PREFIX + "agent-inject-template-file-"
FILE = PREFIX + "agent-inject-file-"
PERMS = PREFIX + "agent-inject-perms-"
COMMAND = PREFIX + "agent-inject-command-"
MISSING_KEY = PREFIX + "error-on-missing-key-"

SKIPPED_NAMESPACES = ("kube-system", "kube-public")
"""Namespaces never injected, as vault-k8s does."""

DEFAULT_TEMPLATES = {
    "map": '{{{{ with secret "{path}" }}}}{{{{ range $k, $v := .Data }}}}{{{{ $k }}}}: {{{{ $v }}}}\n'
    "{{{{ end }}}}{{{{ end }}}}",
    "json": '{{{{ with secret "{path}" }}}}{{{{ .Data | toJSON }}}}\n{{{{ end }}}}',
}


class AnnotationError(ValueError):
    """An annotation whose value cannot be used; the message names the annotation."""


@dataclass(frozen=True, slots=True)
class Defaults:
    """What the injector was started with (its flags), used where a pod does not say otherwise."""

    vault_address: str
    agent_image: str
    auth_path: str = "auth/kubernetes"
    run_as_user: int = 100
    run_as_group: int = 1000
    limits_cpu: str = "500m"
    limits_mem: str = "128Mi"
    requests_cpu: str = "250m"
    requests_mem: str = "64Mi"


@dataclass(frozen=True, slots=True)
class Secret:
    """One `agent-inject-secret-<name>`: where it comes from and the file it becomes."""

    name: str
    path: str
    template: str
    destination: str
    perms: str = ""
    command: str = ""
    error_on_missing_key: bool = False
    template_file: str = ""


@dataclass(frozen=True, slots=True)
class Injection:
    """Everything the annotations ask for, defaults applied."""

    role: str
    secrets: tuple[Secret, ...]
    vault_address: str
    agent_image: str
    auth_path: str
    namespace: str = ""
    secret_volume_path: str = "/vault/secrets"
    containers: tuple[str, ...] = ()
    pre_populate: bool = True
    pre_populate_only: bool = False
    init_first: bool = False
    inject_token: bool = False
    configmap: str = ""
    ca_cert: str = ""
    tls_skip_verify: bool = False
    tls_server_name: str = ""
    log_level: str = "info"
    log_format: str = "standard"
    exit_on_auth_error: bool = False
    exit_on_retry_failure: bool = True
    static_secret_render_interval: str = ""
    run_as_user: int = 100
    run_as_group: int = 1000
    set_security_context: bool = True
    limits_cpu: str = "500m"
    limits_mem: str = "128Mi"
    requests_cpu: str = "250m"
    requests_mem: str = "64Mi"
    service_account_token_volume: str = ""
    run_as_same_user: bool = False
    share_process_namespace: bool | None = None
    cache_enable: bool = False
    cache_listener_port: int = 8200
    cache_use_auto_auth_token: str = "true"
    extra_secret: str = ""
    copy_volume_mounts: str = ""
    sidecar_patch: tuple[Any, ...] = ()
    init_patch: tuple[Any, ...] = ()


def _bool(annotations: Mapping[str, str], name: str, default: bool) -> bool:
    raw = annotations.get(PREFIX + name)
    if raw is None:
        return default
    # Go's strconv.ParseBool, which vault-k8s uses.
    if raw in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if raw in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise AnnotationError(f'{PREFIX}{name}: "{raw}" is not a boolean')


def _int(annotations: Mapping[str, str], name: str, default: int) -> int:
    raw = annotations.get(PREFIX + name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise AnnotationError(f'{PREFIX}{name}: "{raw}" is not an integer') from None


def _patch(annotations: Mapping[str, str], name: str) -> tuple[Any, ...]:
    raw = annotations.get(PREFIX + name)
    if raw is None:
        return ()
    try:
        operations = json.loads(raw)
    except ValueError:
        raise AnnotationError(f"{PREFIX}{name}: not JSON") from None
    if not isinstance(operations, list):
        raise AnnotationError(f"{PREFIX}{name}: a JSON patch is a list of operations")
    return tuple(operations)


def _auto_auth_token(value: str) -> str:
    if value not in ("true", "false", "force"):
        raise AnnotationError(
            f'{PREFIX}agent-cache-use-auto-auth-token: "{value}" is not "true", "false" or "force"'
        )
    return value


def wants_injection(annotations: Mapping[str, str]) -> bool:
    """Whether the pod asks for injection and has not been injected already."""
    return _bool(annotations, "agent-inject", False) and annotations.get(STATUS, "") != "injected"


def _destination(volume: str, file: str) -> str:
    joined = posixpath.normpath(posixpath.join(volume, file))
    if posixpath.isabs(file) or not joined.startswith(volume.rstrip("/") + "/"):
        raise AnnotationError(f'{FILE}: "{file}" must be a relative path inside the secrets volume')
    return joined


def _secrets(annotations: Mapping[str, str], volume: str, preserve_case: bool) -> tuple[Secret, ...]:
    style = annotations.get(PREFIX + "agent-inject-default-template", "map")
    if style not in DEFAULT_TEMPLATES:
        raise AnnotationError(f'{PREFIX}agent-inject-default-template: "{style}" is not "map" or "json"')
    found: list[Secret] = []
    for key, path in annotations.items():
        if not key.startswith(SECRET):
            continue
        raw_name = key.removeprefix(SECRET)
        name = raw_name if preserve_case else raw_name.lower()
        if not name:
            raise AnnotationError(f"{SECRET}<name>: the secret has no name")
        template = annotations.get(TEMPLATE + raw_name) or DEFAULT_TEMPLATES[style].format(path=path)
        perms = annotations.get(PERMS + raw_name, "")
        if perms and not (perms.isdigit() and set(perms) <= set("01234567")):
            raise AnnotationError(f'{PERMS}{raw_name}: "{perms}" is not an octal file mode')
        found.append(
            Secret(
                name=name,
                path=path,
                template=template,
                destination=_destination(volume, annotations.get(FILE + raw_name) or name),
                perms=perms,
                command=annotations.get(COMMAND + raw_name, ""),
                error_on_missing_key=_bool(annotations, MISSING_KEY.removeprefix(PREFIX) + raw_name, False),
                template_file=annotations.get(TEMPLATE_FILE + raw_name, ""),
            )
        )
    return tuple(sorted(found, key=lambda s: s.name))


def read_injection(annotations: Mapping[str, str], defaults: Defaults) -> Injection:
    """What to inject into a pod with `annotations` (which wants injection); AnnotationError if unusable."""

    def text(name: str, default: str = "") -> str:
        return annotations.get(PREFIX + name, default)

    pre_populate_only = _bool(annotations, "agent-pre-populate-only", False)
    configmap = text("agent-configmap")
    role = text("role")
    if not role and not configmap:
        raise AnnotationError(f"{PREFIX}role: no Vault role given for the kubernetes auth method")
    auth_type = text("auth-type", "kubernetes")
    if auth_type != "kubernetes":
        raise AnnotationError(f'{PREFIX}auth-type: "{auth_type}" is not supported (only "kubernetes")')
    volume = text("secret-volume-path", "/vault/secrets").rstrip("/") or "/"
    if not posixpath.isabs(volume):
        raise AnnotationError(f'{PREFIX}secret-volume-path: "{volume}" is not an absolute path')
    containers = tuple(c.strip() for c in text("agent-inject-containers").split(",") if c.strip())
    return Injection(
        role=role,
        secrets=_secrets(annotations, volume, _bool(annotations, "preserve-secret-case", False)),
        vault_address=text("service", defaults.vault_address),
        agent_image=text("agent-image", defaults.agent_image),
        auth_path=text("auth-path", defaults.auth_path).strip("/"),
        namespace=text("namespace"),
        secret_volume_path=volume,
        containers=containers,
        pre_populate=_bool(annotations, "agent-pre-populate", True) or pre_populate_only,
        pre_populate_only=pre_populate_only,
        init_first=_bool(annotations, "agent-init-first", False),
        inject_token=_bool(annotations, "agent-inject-token", False),
        configmap=configmap,
        ca_cert=text("ca-cert"),
        tls_skip_verify=_bool(annotations, "tls-skip-verify", False),
        tls_server_name=text("tls-server-name"),
        log_level=text("log-level", "info"),
        log_format=text("log-format", "standard"),
        exit_on_auth_error=_bool(annotations, "agent-auto-auth-exit-on-err", False),
        exit_on_retry_failure=_bool(annotations, "template-config-exit-on-retry-failure", True),
        static_secret_render_interval=text("template-static-secret-render-interval"),
        run_as_user=_int(annotations, "agent-run-as-user", defaults.run_as_user),
        run_as_group=_int(annotations, "agent-run-as-group", defaults.run_as_group),
        set_security_context=_bool(annotations, "agent-set-security-context", True),
        limits_cpu=text("agent-limits-cpu", defaults.limits_cpu),
        limits_mem=text("agent-limits-mem", defaults.limits_mem),
        requests_cpu=text("agent-requests-cpu", defaults.requests_cpu),
        requests_mem=text("agent-requests-mem", defaults.requests_mem),
        service_account_token_volume=text("agent-service-account-token-volume-name"),
        run_as_same_user=_bool(annotations, "agent-run-as-same-user", False),
        share_process_namespace=(
            _bool(annotations, "agent-share-process-namespace", False)
            if PREFIX + "agent-share-process-namespace" in annotations
            else None
        ),
        cache_enable=_bool(annotations, "agent-cache-enable", False),
        cache_listener_port=_int(annotations, "agent-cache-listener-port", 8200),
        cache_use_auto_auth_token=_auto_auth_token(text("agent-cache-use-auto-auth-token", "true")),
        extra_secret=text("agent-extra-secret"),
        copy_volume_mounts=text("agent-copy-volume-mounts"),
        sidecar_patch=_patch(annotations, "agent-json-patch"),
        init_patch=_patch(annotations, "agent-init-json-patch"),
    )
