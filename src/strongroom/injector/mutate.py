"""The pod mutation: the agent containers, volumes and mounts an Injection calls for, as a JSONPatch
(RFC 6902) against the pod the API server sent.

Layer: injector, pure: stdlib and the package's modules. Like Vault's injector: an in-memory volume for the
secrets mounted into the app containers (all, or those agent-inject-containers names), an init container
that renders once before the app starts (unless agent-pre-populate is false), a sidecar that keeps
rendering (unless agent-pre-populate-only), each with an in-memory home and the pod's service-account token
mount, the agent config passed base64 in VAULT_CONFIG (or read from agent-configmap), and the
agent-inject-status annotation set to "injected" so the pod is not mutated twice. agent-json-patch and
agent-init-json-patch then patch the sidecar and init container as their authors wish.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from strongroom.injector.agentconfig import HOME, TOKEN_PATH, agent_config
from strongroom.injector.annotations import STATUS, AnnotationError, Injection
from strongroom.injector.jsonpatch import PatchError, apply_patch

SECRETS_VOLUME = "vault-secrets"
CONFIG_VOLUME = "vault-config"
CONFIG_DIR = "/vault/configs"
EXTRA_VOLUME = "extra-secrets"
EXTRA_DIR = "/vault/custom"
INIT_NAME = "vault-agent-init"
SIDECAR_NAME = "vault-agent"
SA_DIR = TOKEN_PATH.rsplit("/", 1)[0]


def _escape(segment: str) -> str:
    """A JSON Pointer reference token (RFC 6901)."""
    return segment.replace("~", "~0").replace("/", "~1")


def _append(
    ops: list[dict[str, Any]], path: str, current: Any, items: Sequence[Any], *, first: bool = False
) -> None:
    """Ops adding `items` to the array at `path` (whose value is `current`), creating it when absent."""
    if not items:
        return
    if not current:
        ops.append({"op": "add", "path": path, "value": list(items)})
        return
    for offset, item in enumerate(items):
        ops.append({"op": "add", "path": f"{path}/{offset}" if first else f"{path}/-", "value": item})


def _token_mount(pod: Mapping[str, Any], injection: Injection) -> dict[str, Any]:
    """The service-account token mount the agent containers get: the named volume, or the app's own."""
    if injection.service_account_token_volume:
        return {"name": injection.service_account_token_volume, "mountPath": SA_DIR, "readOnly": True}
    for container in pod.get("spec", {}).get("containers", []):
        for mount in container.get("volumeMounts") or []:
            if mount.get("mountPath") == SA_DIR:
                return {"name": mount["name"], "mountPath": SA_DIR, "readOnly": True}
    raise AnnotationError(
        "the pod has no service-account token mount (automountServiceAccountToken false?); name a volume "
        "with vault.hashicorp.com/agent-service-account-token-volume-name"
    )


def _same_user(pod: Mapping[str, Any]) -> int:
    """The uid of the first app container (agent-run-as-same-user): it must be set, and not root."""
    containers = pod.get("spec", {}).get("containers", [])
    user = ((containers[0].get("securityContext") or {}) if containers else {}).get("runAsUser")
    if not isinstance(user, int):
        raise AnnotationError(
            "vault.hashicorp.com/agent-run-as-same-user: the first container has no securityContext.runAsUser"
        )
    if user == 0:
        raise AnnotationError("vault.hashicorp.com/agent-run-as-same-user: the first container runs as root")
    return user


def _copied_mounts(pod: Mapping[str, Any], injection: Injection, taken: set[str]) -> list[dict[str, Any]]:
    """The volume mounts of the container agent-copy-volume-mounts names, except paths already mounted."""
    if not injection.copy_volume_mounts:
        return []
    for container in pod.get("spec", {}).get("containers", []):
        if container.get("name") == injection.copy_volume_mounts:
            return [dict(m) for m in container.get("volumeMounts") or [] if m.get("mountPath") not in taken]
    raise AnnotationError(
        f'vault.hashicorp.com/agent-copy-volume-mounts: no container "{injection.copy_volume_mounts}"'
    )


def _command(injection: Injection, *, init: bool) -> tuple[list[str], list[dict[str, str]]]:
    """The agent container's argv and environment."""
    if injection.configmap:
        config = f"{CONFIG_DIR}/{'config-init.hcl' if init else 'config.hcl'}"
        return ["strongroom", "agent", f"-config={config}"], []
    encoded = base64.b64encode(json.dumps(agent_config(injection, init=init)).encode()).decode()
    script = (
        f'echo "${{VAULT_CONFIG?}}" | base64 -d > {HOME}/config.json && '
        f"exec strongroom agent -config={HOME}/config.json"
    )
    return ["/bin/sh", "-ec", script], [{"name": "VAULT_CONFIG", "value": encoded}]


def agent_container(pod: Mapping[str, Any], injection: Injection, *, init: bool) -> dict[str, Any]:
    """The init container (`init`) or the sidecar."""
    argv, env = _command(injection, init=init)
    home = "home-init" if init else "home-sidecar"
    mounts = [
        {"name": SECRETS_VOLUME, "mountPath": injection.secret_volume_path},
        {"name": home, "mountPath": HOME},
        _token_mount(pod, injection),
    ]
    if injection.configmap:
        mounts.append({"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": True})
    if injection.extra_secret:
        mounts.append({"name": EXTRA_VOLUME, "mountPath": EXTRA_DIR, "readOnly": True})
    mounts += _copied_mounts(pod, injection, {m["mountPath"] for m in mounts})
    container: dict[str, Any] = {
        "name": INIT_NAME if init else SIDECAR_NAME,
        "image": injection.agent_image,
        "command": argv[:1],
        "args": argv[1:],
        "env": env,
        "volumeMounts": mounts,
        "resources": {
            "limits": {"cpu": injection.limits_cpu, "memory": injection.limits_mem},
            "requests": {"cpu": injection.requests_cpu, "memory": injection.requests_mem},
        },
    }
    if injection.set_security_context:
        user = _same_user(pod) if injection.run_as_same_user else injection.run_as_user
        container["securityContext"] = {
            "runAsUser": user,
            "runAsGroup": injection.run_as_group,
            "runAsNonRoot": user != 0,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        }
    operations = injection.init_patch if init else injection.sidecar_patch
    if not operations:
        return container
    name = "agent-init-json-patch" if init else "agent-json-patch"
    try:
        patched = apply_patch(container, list(operations))
    except PatchError as exc:
        raise AnnotationError(f"vault.hashicorp.com/{name}: {exc}") from None
    if not isinstance(patched, dict):
        raise AnnotationError(f"vault.hashicorp.com/{name}: the patched container is not an object")
    return patched


def patch(pod: Mapping[str, Any], injection: Injection) -> list[dict[str, Any]]:
    """The JSONPatch that injects `injection` into `pod`."""
    spec = pod.get("spec", {})
    ops: list[dict[str, Any]] = []
    volumes = [{"name": SECRETS_VOLUME, "emptyDir": {"medium": "Memory"}}]
    if injection.pre_populate:
        volumes.append({"name": "home-init", "emptyDir": {"medium": "Memory"}})
    if not injection.pre_populate_only:
        volumes.append({"name": "home-sidecar", "emptyDir": {"medium": "Memory"}})
    if injection.configmap:
        volumes.append({"name": CONFIG_VOLUME, "configMap": {"name": injection.configmap}})
    if injection.extra_secret:
        volumes.append({"name": EXTRA_VOLUME, "secret": {"secretName": injection.extra_secret}})
    _append(ops, "/spec/volumes", spec.get("volumes"), volumes)
    secrets_mount = {"name": SECRETS_VOLUME, "mountPath": injection.secret_volume_path}
    for index, container in enumerate(spec.get("containers", [])):
        if injection.containers and container.get("name") not in injection.containers:
            continue
        _append(ops, f"/spec/containers/{index}/volumeMounts", container.get("volumeMounts"), [secrets_mount])
    if injection.pre_populate:
        init = agent_container(pod, injection, init=True)
        _append(ops, "/spec/initContainers", spec.get("initContainers"), [init], first=injection.init_first)
    if not injection.pre_populate_only:
        _append(
            ops, "/spec/containers", spec.get("containers"), [agent_container(pod, injection, init=False)]
        )
    if injection.share_process_namespace is not None:
        ops.append(
            {"op": "add", "path": "/spec/shareProcessNamespace", "value": injection.share_process_namespace}
        )
    annotations_path = "/metadata/annotations"
    if pod.get("metadata", {}).get("annotations") is None:
        ops.append({"op": "add", "path": annotations_path, "value": {STATUS: "injected"}})
    else:
        ops.append({"op": "add", "path": f"{annotations_path}/{_escape(STATUS)}", "value": "injected"})
    return ops
