"""`strongroom injector` over HTTPS: real AdmissionReview v1 requests, the returned JSONPatch applied to the
pod (tests/jsonpatch.py) and the result checked; what is not injected, and refusals of bad annotations."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.injector.conftest import AGENT_IMAGE, VAULT_ADDRESS, Injector
from tests.jsonpatch import apply

from strongroom.config.agent import KubernetesLogin, load_agent_config

A = "vault.hashicorp.com/"
SA_MOUNT = {
    "name": "kube-api-access-7xk2p",
    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
    "readOnly": True,
}


def pod(annotations: dict[str, str] | None, **spec: Any) -> dict[str, Any]:
    """A pod as the API server hands it to webhooks (the service-account admission already ran)."""
    metadata: dict[str, Any] = {"name": "billing-5d8f9", "namespace": "apps"}
    if annotations is not None:
        metadata["annotations"] = annotations
    containers = [
        {"name": "app", "image": "billing:1", "volumeMounts": [SA_MOUNT]},
        {"name": "metrics", "image": "metrics:1"},
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "serviceAccountName": "billing",
            "containers": containers,
            "volumes": [{"name": "kube-api-access-7xk2p", "projected": {"sources": []}}],
            **spec,
        },
    }


DB_TEMPLATE = '{{ with secret "secret/data/db" }}{{ .Data.data.password }}{{ end }}'
ANNOTATED = {
    A + "agent-inject": "true",
    A + "role": "billing",
    A + "agent-inject-secret-db-password": "secret/data/db",
    A + "agent-inject-template-db-password": DB_TEMPLATE,
    A + "agent-inject-file-db-password": "db_password",
    A + "agent-inject-perms-db-password": "0400",
    A + "agent-inject-secret-config": "secret/data/config",
}


def mutated(injector: Injector, original: dict[str, Any], **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pod after the webhook's patch, and the AdmissionReview response."""
    answer = injector.review(original, **kw)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["apiVersion"], body["kind"]) == ("admission.k8s.io/v1", "AdmissionReview")
    response = body["response"]
    if "patch" not in response:
        return original, response
    assert response["patchType"] == "JSONPatch"
    return apply(original, json.loads(base64.b64decode(response["patch"]))), response


def container(spec: dict[str, Any], name: str, kind: str = "containers") -> dict[str, Any]:
    (found,) = [c for c in spec.get(kind, []) if c["name"] == name]
    return found


def agent_config(agent: dict[str, Any]) -> dict[str, Any]:
    (env,) = agent["env"]
    assert env["name"] == "VAULT_CONFIG"
    config: dict[str, Any] = json.loads(base64.b64decode(env["value"]))
    return config


def test_an_annotated_pod_gets_init_sidecar_volumes_and_status(injector: Injector) -> None:
    original = pod(ANNOTATED, initContainers=[{"name": "migrate", "image": "migrate:1"}])
    result, response = mutated(injector, original)
    assert response["allowed"] is True
    spec = result["spec"]
    assert [c["name"] for c in spec["initContainers"]] == ["migrate", "vault-agent-init"]
    assert [c["name"] for c in spec["containers"]] == ["app", "metrics", "vault-agent"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["vault-secrets"] == {"name": "vault-secrets", "emptyDir": {"medium": "Memory"}}
    assert {"home-init", "home-sidecar", "kube-api-access-7xk2p"} <= volumes.keys()
    secrets_mount = {"name": "vault-secrets", "mountPath": "/vault/secrets"}
    assert container(spec, "app")["volumeMounts"] == [SA_MOUNT, secrets_mount]
    assert container(spec, "metrics")["volumeMounts"] == [secrets_mount]
    for agent in (container(spec, "vault-agent-init", "initContainers"), container(spec, "vault-agent")):
        assert agent["image"] == AGENT_IMAGE
        assert agent["command"] == ["/bin/sh"]
        assert "strongroom agent -config=/home/vault/config.json" in agent["args"][1]
        assert secrets_mount in agent["volumeMounts"]
        assert SA_MOUNT in agent["volumeMounts"]
        assert agent["securityContext"]["runAsNonRoot"] is True
        assert agent["securityContext"]["readOnlyRootFilesystem"] is True
    assert result["metadata"]["annotations"][A + "agent-inject-status"] == "injected"
    init = agent_config(container(spec, "vault-agent-init", "initContainers"))
    sidecar = agent_config(container(spec, "vault-agent"))
    assert (init["exit_after_auth"], sidecar["exit_after_auth"]) == (True, False)
    assert init["vault"] == {"address": VAULT_ADDRESS}
    assert init["auto_auth"]["method"] == {
        "type": "kubernetes",
        "mount_path": "auth/kubernetes",
        "config": {"role": "billing", "token_path": "/var/run/secrets/kubernetes.io/serviceaccount/token"},
    }
    templates = {t["destination"]: t for t in init["template"]}
    assert templates.keys() == {"/vault/secrets/config", "/vault/secrets/db_password"}
    assert templates["/vault/secrets/db_password"]["perms"] == "0400"
    assert templates["/vault/secrets/config"]["contents"] == (
        '{{ with secret "secret/data/config" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n'
        "{{ end }}{{ end }}"
    )


def test_the_generated_configs_pass_agent_check(injector: Injector, tmp_path: Path) -> None:
    every_option = {
        A + "agent-inject-token": "true",
        A + "agent-inject-command-db-password": "kill -HUP 1",
        A + "ca-cert": "/vault/tls/ca.crt",
        A + "tls-skip-verify": "true",
        A + "tls-server-name": "strongroom.strongroom.svc",
        A + "namespace": "team-a",
        A + "log-level": "debug",
        A + "log-format": "json",
        A + "agent-auto-auth-exit-on-err": "true",
        A + "error-on-missing-key-db-password": "true",
        A + "agent-cache-enable": "true",
        A + "agent-cache-listener-port": "8300",
        A + "template-static-secret-render-interval": "2m",
        A + "template-config-exit-on-retry-failure": "false",
    }
    result, _ = mutated(injector, pod(ANNOTATED | every_option))
    spec = result["spec"]
    for agent in (container(spec, "vault-agent-init", "initContainers"), container(spec, "vault-agent")):
        config = tmp_path / f"{agent['name']}.json"
        config.write_text(json.dumps(agent_config(agent)))
        checked = subprocess.run(
            [sys.executable, "-m", "strongroom", "agent", "-check", f"-config={config}"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout == ""
    init = load_agent_config([tmp_path / "vault-agent-init.json"])
    assert (init.listeners, init.api_proxy, init.exit_after_auth) == ((), None, True)
    loaded = load_agent_config([tmp_path / "vault-agent.json"])
    (listener,) = loaded.listeners
    assert listener.address == "127.0.0.1:8300"
    assert loaded.api_proxy is not None
    assert (loaded.vault.ca_cert, loaded.vault.tls_skip_verify) == ("/vault/tls/ca.crt", True)
    assert loaded.vault.tls_server_name == "strongroom.strongroom.svc"
    assert loaded.auto_auth is not None
    assert loaded.auto_auth.method.namespace == "team-a"
    assert loaded.auto_auth.method.login == KubernetesLogin(role="billing")
    assert [sink.path for sink in loaded.auto_auth.sinks] == [
        "/home/vault/.vault-token",
        "/vault/secrets/token",
    ]
    assert (loaded.log_level, loaded.log_format) == ("debug", "json")
    assert loaded.auto_auth.method.exit_on_err is True
    assert loaded.template_config.static_secret_render_interval == 120
    assert loaded.template_config.exit_on_retry_failure is False
    by_destination = {t.destination: t for t in loaded.templates}
    assert by_destination["/vault/secrets/db_password"].perms == 0o400
    assert by_destination["/vault/secrets/db_password"].exec is not None
    assert by_destination["/vault/secrets/db_password"].error_on_missing_key is True
    assert by_destination["/vault/secrets/config"].error_on_missing_key is False


def test_pre_populate_only_and_no_pre_populate(injector: Injector) -> None:
    only, _ = mutated(injector, pod(ANNOTATED | {A + "agent-pre-populate-only": "true"}))
    assert [c["name"] for c in only["spec"]["initContainers"]] == ["vault-agent-init"]
    assert [c["name"] for c in only["spec"]["containers"]] == ["app", "metrics"]
    assert "home-sidecar" not in {v["name"] for v in only["spec"]["volumes"]}
    sidecar_only, _ = mutated(injector, pod(ANNOTATED | {A + "agent-pre-populate": "false"}))
    assert "initContainers" not in sidecar_only["spec"]
    assert [c["name"] for c in sidecar_only["spec"]["containers"]] == ["app", "metrics", "vault-agent"]


def test_annotations_choose_containers_order_service_and_paths(injector: Injector) -> None:
    annotations = ANNOTATED | {
        A + "agent-inject-containers": "app",
        A + "agent-init-first": "true",
        A + "service": "https://sr.example:8200",
        A + "auth-path": "auth/k8s-prod",
        A + "namespace": "team-a",
        A + "secret-volume-path": "/etc/secrets",
        A + "agent-inject-default-template": "json",
        A + "agent-image": "registry.local/strongroom:2",
        A + "agent-limits-mem": "256Mi",
    }
    result, _ = mutated(injector, pod(annotations, initContainers=[{"name": "migrate", "image": "m:1"}]))
    spec = result["spec"]
    assert [c["name"] for c in spec["initContainers"]] == ["vault-agent-init", "migrate"]
    assert container(spec, "app")["volumeMounts"][-1] == {
        "name": "vault-secrets",
        "mountPath": "/etc/secrets",
    }
    assert "volumeMounts" not in container(spec, "metrics")
    sidecar = container(spec, "vault-agent")
    assert sidecar["image"] == "registry.local/strongroom:2"
    assert sidecar["resources"]["limits"]["memory"] == "256Mi"
    config = agent_config(sidecar)
    assert config["vault"]["address"] == "https://sr.example:8200"
    assert config["auto_auth"]["method"]["mount_path"] == "auth/k8s-prod"
    assert config["auto_auth"]["method"]["namespace"] == "team-a"
    templates = {t["destination"]: t["contents"] for t in config["template"]}
    assert (
        templates["/etc/secrets/config"]
        == '{{ with secret "secret/data/config" }}{{ .Data | toJSON }}\n{{ end }}'
    )


def test_a_configmap_replaces_the_generated_config(injector: Injector) -> None:
    annotations = {A + "agent-inject": "true", A + "agent-configmap": "billing-agent"}
    result, _ = mutated(injector, pod(annotations))
    spec = result["spec"]
    assert {"name": "vault-config", "configMap": {"name": "billing-agent"}} in spec["volumes"]
    init = container(spec, "vault-agent-init", "initContainers")
    assert init["command"] + init["args"] == ["strongroom", "agent", "-config=/vault/configs/config-init.hcl"]
    assert init["env"] == []
    sidecar = container(spec, "vault-agent")
    assert sidecar["args"] == ["agent", "-config=/vault/configs/config.hcl"]


@pytest.mark.parametrize(
    ("annotations", "kw"),
    [
        (None, {}),
        ({A + "agent-inject": "false", A + "role": "r"}, {}),
        (ANNOTATED | {A + "agent-inject-status": "injected"}, {}),
        (ANNOTATED, {"namespace": "kube-system"}),
        (ANNOTATED, {"operation": "UPDATE"}),
    ],
    ids=["not annotated", "inject false", "already injected", "kube-system", "update"],
)
def test_pods_not_to_inject_are_allowed_unchanged(
    injector: Injector, annotations: dict[str, str] | None, kw: dict[str, Any]
) -> None:
    original = pod(annotations)
    result, response = mutated(injector, original, **kw)
    assert response["allowed"] is True
    assert "patch" not in response
    assert result == original


def test_status_update_injects_again(injector: Injector) -> None:
    result, _ = mutated(injector, pod(ANNOTATED | {A + "agent-inject-status": "update"}))
    assert result["metadata"]["annotations"][A + "agent-inject-status"] == "injected"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({A + "role": ""}, "vault.hashicorp.com/role: no Vault role given"),
        (
            {A + "agent-inject-perms-db-password": "rw"},
            'agent-inject-perms-db-password: "rw" is not an octal',
        ),
        ({A + "agent-inject-file-db-password": "../../etc/passwd"}, "must be a relative path inside"),
        ({A + "agent-inject-file-db-password": "/etc/passwd"}, "must be a relative path inside"),
        ({A + "agent-pre-populate": "maybe"}, 'agent-pre-populate: "maybe" is not a boolean'),
        ({A + "auth-type": "aws"}, 'auth-type: "aws" is not supported'),
        ({A + "agent-run-as-user": "root"}, 'agent-run-as-user: "root" is not an integer'),
    ],
)
def test_unusable_annotations_refuse_the_pod(
    injector: Injector, change: dict[str, str], message: str
) -> None:
    _, response = mutated(injector, pod(ANNOTATED | change))
    assert response["allowed"] is False
    assert response["status"]["code"] == 400
    assert message in response["status"]["message"]


def test_a_pod_without_a_token_mount_is_refused_unless_a_volume_is_named(injector: Injector) -> None:
    bare = pod(ANNOTATED)
    bare["spec"]["containers"][0]["volumeMounts"] = []
    _, response = mutated(injector, bare)
    assert response["allowed"] is False
    assert "no service-account token mount" in response["status"]["message"]
    named = pod(ANNOTATED | {A + "agent-service-account-token-volume-name": "sa-token"})
    named["spec"]["containers"][0]["volumeMounts"] = []
    result, _ = mutated(injector, named)
    assert {"name": "sa-token", "mountPath": SA_MOUNT["mountPath"], "readOnly": True} in container(
        result["spec"], "vault-agent"
    )["volumeMounts"]


def test_what_is_not_an_admission_review_is_a_400(injector: Injector) -> None:
    for body in ({"kind": "Pod"}, {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview"}, []):
        answer = httpx.post(f"{injector.address}/mutate", json=body, verify=injector.verify, timeout=10)
        assert answer.status_code == 400
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}
    for bad_pod in ({"metadata": {"annotations": ["x"]}, "spec": {"containers": []}}, {"metadata": {}}):
        body = review | {"request": {"uid": "u", "operation": "CREATE", "object": bad_pod}}
        answer = httpx.post(f"{injector.address}/mutate", json=body, verify=injector.verify, timeout=10)
        assert answer.status_code == 400, answer.text
    answer = httpx.post(f"{injector.address}/mutate", content=b"{", verify=injector.verify, timeout=10)
    assert answer.status_code == 400
    assert httpx.get(f"{injector.address}/nope", verify=injector.verify, timeout=10).status_code == 404


def test_security_context_process_namespace_and_extra_mounts(injector: Injector) -> None:
    original = pod(
        ANNOTATED | {
            A + "agent-run-as-same-user": "true",
            A + "agent-share-process-namespace": "true",
            A + "agent-extra-secret": "billing-extra",
            A + "agent-copy-volume-mounts": "app",
        }
    )  # fmt: skip
    original["spec"]["containers"][0]["securityContext"] = {"runAsUser": 4242}
    original["spec"]["containers"][0]["volumeMounts"].append({"name": "certs", "mountPath": "/etc/certs"})
    result, _ = mutated(injector, original)
    spec = result["spec"]
    assert spec["shareProcessNamespace"] is True
    assert {"name": "extra-secrets", "secret": {"secretName": "billing-extra"}} in spec["volumes"]
    for agent in (container(spec, "vault-agent-init", "initContainers"), container(spec, "vault-agent")):
        assert agent["securityContext"]["runAsUser"] == 4242
        mounts = agent["volumeMounts"]
        assert {"name": "extra-secrets", "mountPath": "/vault/custom", "readOnly": True} in mounts
        assert {"name": "certs", "mountPath": "/etc/certs"} in mounts
        assert [m["mountPath"] for m in mounts].count(SA_MOUNT["mountPath"]) == 1


@pytest.mark.parametrize(("context", "message"), [({}, "has no securityContext.runAsUser"),
                                                   ({"runAsUser": 0}, "runs as root")])  # fmt: skip
def test_run_as_same_user_needs_a_non_root_uid(
    injector: Injector, context: dict[str, int], message: str
) -> None:
    original = pod(ANNOTATED | {A + "agent-run-as-same-user": "true"})
    original["spec"]["containers"][0]["securityContext"] = context
    _, response = mutated(injector, original)
    assert response["allowed"] is False
    assert message in response["status"]["message"]


def test_json_patches_change_the_agent_containers(injector: Injector) -> None:
    annotations = ANNOTATED | {
        A + "agent-json-patch": json.dumps([
            {"op": "replace", "path": "/name", "value": "strongroom-agent"},
            {"op": "add", "path": "/env/-", "value": {"name": "TZ", "value": "UTC"}},
            {"op": "remove", "path": "/resources/limits"},
        ]),
        A + "agent-init-json-patch": json.dumps([
            {"op": "test", "path": "/name", "value": "vault-agent-init"},
            {"op": "copy", "from": "/resources/requests", "path": "/resources/limits"},
        ]),
        A + "agent-inject-template-file-config": "/vault/custom/config.ctmpl",
    }  # fmt: skip
    result, _ = mutated(injector, pod(annotations))
    spec = result["spec"]
    sidecar = container(spec, "strongroom-agent")
    assert sidecar["env"][-1] == {"name": "TZ", "value": "UTC"}
    assert "limits" not in sidecar["resources"]
    init = container(spec, "vault-agent-init", "initContainers")
    assert init["resources"]["limits"] == init["resources"]["requests"]
    templates = {t["destination"]: t for t in agent_config(init)["template"]}
    assert templates["/vault/secrets/config"]["source"] == "/vault/custom/config.ctmpl"
    assert "contents" not in templates["/vault/secrets/config"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{", "agent-json-patch: not JSON"),
        ('{"op": "add"}', "a JSON patch is a list of operations"),
        ('[{"op": "remove", "path": "/nope"}]', "operation 0 (remove /nope): no member 'nope'"),
        ('[{"op": "test", "path": "/name", "value": "x"}]', "operation 0 (test /name): the test failed"),
        ('[{"op": "jump", "path": "/name"}]', "unknown op 'jump'"),
        ('[{"op": "add", "path": "", "value": 1}]', "the patched container is not an object"),
    ],
)
def test_a_json_patch_that_does_not_apply_refuses_the_pod(
    injector: Injector, value: str, message: str
) -> None:
    _, response = mutated(injector, pod(ANNOTATED | {A + "agent-json-patch": value}))
    assert response["allowed"] is False
    assert message in response["status"]["message"]
