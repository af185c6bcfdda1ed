"""The agent config an injected container runs with (Vault's injector's JSON form of an agent config): the
kubernetes auto-auth method on the pod's service-account token, a token sink in the container's home, and
one template per requested secret in the shared secrets volume.

Layer: injector, pure: stdlib and the package's annotations. The init container's config exits after the
first render (exit_after_auth), the sidecar's keeps rendering (and, with agent-cache-enable, serves the API
proxy on 127.0.0.1, authenticating requests with its own token).
"""

from __future__ import annotations

from typing import Any

from strongroom.injector.annotations import Injection

HOME = "/home/vault"
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def agent_config(injection: Injection, *, init: bool) -> dict[str, Any]:
    """The agent config for the init container (`init`) or the sidecar."""
    method_config: dict[str, Any] = {"role": injection.role, "token_path": TOKEN_PATH}
    method: dict[str, Any] = {
        "type": "kubernetes",
        "mount_path": injection.auth_path,
        "config": method_config,
    }
    if injection.namespace:
        method["namespace"] = injection.namespace
    if injection.exit_on_auth_error:
        method["exit_on_err"] = True
    sinks: list[dict[str, Any]] = [{"type": "file", "config": {"path": f"{HOME}/.vault-token"}}]
    if injection.inject_token:
        sinks.append({"type": "file", "config": {"path": f"{injection.secret_volume_path}/token"}})
    vault: dict[str, Any] = {"address": injection.vault_address}
    if injection.ca_cert:
        vault["ca_cert"] = injection.ca_cert
    if injection.tls_skip_verify:
        vault["tls_skip_verify"] = True
    if injection.tls_server_name:
        vault["tls_server_name"] = injection.tls_server_name
    templates: list[dict[str, Any]] = []
    for secret in injection.secrets:
        template: dict[str, Any] = {
            "destination": secret.destination,
            "left_delimiter": "{{",
            "right_delimiter": "}}",
        }
        # A template file (typically from agent-extra-secret's /vault/custom) wins over inline contents.
        if secret.template_file:
            template["source"] = secret.template_file
        else:
            template["contents"] = secret.template
        if secret.perms:
            template["perms"] = secret.perms
        if secret.command:
            template["command"] = secret.command
        if secret.error_on_missing_key:
            template["error_on_missing_key"] = True
        templates.append(template)
    template_config: dict[str, Any] = {"exit_on_retry_failure": injection.exit_on_retry_failure}
    if injection.static_secret_render_interval:
        template_config["static_secret_render_interval"] = injection.static_secret_render_interval
    config: dict[str, Any] = {
        "auto_auth": {"method": method, "sink": sinks},
        "exit_after_auth": init,
        "pid_file": f"{HOME}/.pid",
        "vault": vault,
        "template_config": template_config,
        "log_level": injection.log_level,
        "log_format": injection.log_format,
    }
    if templates:
        config["template"] = templates
    if injection.cache_enable and not init:
        # The init container exits after its first render; only the sidecar serves the API proxy.
        use_token: bool | str = {"true": True, "false": False}.get(
            injection.cache_use_auto_auth_token, injection.cache_use_auto_auth_token
        )
        config["api_proxy"] = {"use_auto_auth_token": use_token}
        address = f"127.0.0.1:{injection.cache_listener_port}"
        config["listener"] = [{"tcp": {"address": address, "tls_disable": True}}]
    return config
