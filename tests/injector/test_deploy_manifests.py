"""deploy/kubernetes/: the manifests parse, fit together (names, namespaces, service accounts, the webhook's
service and path) and hold configs our own loaders accept. No cluster here: shape only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from strongroom.config.server import load_server_config
from strongroom.injector.annotations import Defaults, read_injection

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"


def objects() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for file in sorted(DEPLOY.glob("*.yaml")):
        for document in yaml.safe_load_all(file.read_text()):
            found[(document["kind"], document["metadata"]["name"])] = document
    return found


def test_the_server_can_call_the_token_review_api() -> None:
    found = objects()
    binding = found[("ClusterRoleBinding", "strongroom-auth-delegator")]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator",
    }  # fmt: skip
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "strongroom", "namespace": "strongroom"}
    ]
    server = found[("StatefulSet", "strongroom")]
    assert server["spec"]["template"]["spec"]["serviceAccountName"] == "strongroom"
    assert ("ServiceAccount", "strongroom") in found


def test_the_server_config_loads(tmp_path: Path) -> None:
    config_map = objects()[("ConfigMap", "strongroom-config")]
    file = tmp_path / "server.hcl"
    file.write_text(config_map["data"]["server.hcl"])
    config = load_server_config([file])
    assert config.storage.type == "sqlite"
    assert config.listeners[0].address == "0.0.0.0:8200"
    args = objects()[("StatefulSet", "strongroom")]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == ["server", "-config=/strongroom/config/server.hcl"]


def test_the_webhook_reaches_the_injector_service() -> None:
    found = objects()
    (webhook,) = found[("MutatingWebhookConfiguration", "strongroom-agent-injector")]["webhooks"]
    assert webhook["admissionReviewVersions"] == ["v1"]
    assert webhook["rules"][0]["operations"] == ["CREATE"]
    assert webhook["rules"][0]["resources"] == ["pods"]
    service_ref = webhook["clientConfig"]["service"]
    assert service_ref["path"] == "/mutate"
    service = found[("Service", service_ref["name"])]
    assert service["metadata"]["namespace"] == service_ref["namespace"]
    (port,) = service["spec"]["ports"]
    assert port["port"] == service_ref["port"]
    deployment = found[("Deployment", "strongroom-injector")]
    pod_spec = deployment["spec"]["template"]["spec"]
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    (container,) = pod_spec["containers"]
    assert container["args"][0] == "injector"
    assert port["targetPort"] == container["ports"][0]["containerPort"]
    assert "-vault-address=http://strongroom.strongroom.svc:8200" in container["args"]


def test_the_example_app_annotations_are_usable() -> None:
    app = objects()[("Deployment", "billing")]["spec"]["template"]
    injection = read_injection(app["metadata"]["annotations"], Defaults("http://s:8200", "strongroom:latest"))
    (secret,) = injection.secrets
    assert (secret.destination, secret.perms) == ("/vault/secrets/db_password", "0400")
