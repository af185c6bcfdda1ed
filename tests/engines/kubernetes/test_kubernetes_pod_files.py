"""The server's own pod files (its service-account token and the cluster CA) stand in for an unset
token_reviewer_jwt and kubernetes_ca_cert, read at each login, unless disable_local_ca_jwt. Through the
in-process harness, with the files in a temp dir and the stand-in API server (tests/kubeapi.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.kubeapi import Account, KubeAPI

from strongroom.builtin.auth.kubernetes.backend import make_kubernetes_factory
from strongroom.builtin.auth.kubernetes.pod import PodFiles
from strongroom.errors import InvalidRequestError, PermissionDeniedError
from strongroom.framework.testing import BackendHarness
from strongroom.util.clock import SystemClock

APP = Account("apps", "billing")
ROLE = {"bound_service_account_names": "billing", "bound_service_account_namespaces": "apps"}


@pytest.fixture
def pod(tmp_path: Path) -> PodFiles:
    return PodFiles(token=str(tmp_path / "token"), ca_cert=str(tmp_path / "ca.crt"))


async def harness(pod: PodFiles) -> BackendHarness:
    h = await BackendHarness.create(
        make_kubernetes_factory(pod), "kubernetes", mount_path="auth/kubernetes/", clock=SystemClock()
    )
    await h.write("role/app", ROLE)
    return h


async def test_a_write_without_a_ca_needs_the_pods_ca(pod: PodFiles, kube: KubeAPI) -> None:
    h = await harness(pod)
    with pytest.raises(InvalidRequestError) as caught:
        await h.write("config", {"kubernetes_host": kube.address})
    assert caught.value.errors == (f"open {pod.ca_cert}: no such file or directory",)
    Path(pod.ca_cert).write_text(kube.ca_pem)
    await h.write("config", {"kubernetes_host": kube.address})
    config = await h.read("config")
    assert config is not None
    assert config.data["kubernetes_ca_cert"] == ""


async def test_the_pods_token_is_the_reviewer_and_is_read_at_each_login(pod: PodFiles, kube: KubeAPI) -> None:
    Path(pod.ca_cert).write_text(kube.ca_pem)
    h = await harness(pod)
    await h.write("config", {"kubernetes_host": kube.address})
    kube.self_review = False
    first, second = (kube.issue(Account("strongroom", "strongroom")) for _ in range(2))
    kube.reviewers |= {first, second}
    Path(pod.token).write_text(first + "\n")
    await h.write("login", {"role": "app", "jwt": kube.issue(APP)})
    assert kube.bearers[-1] == first
    Path(pod.token).write_text(second)
    kube.revoke(first)
    await h.write("login", {"role": "app", "jwt": kube.issue(APP)})
    assert kube.bearers[-1] == second


async def test_disable_local_ca_jwt_ignores_the_pod_files(pod: PodFiles, kube: KubeAPI) -> None:
    h = await harness(pod)
    reviewer = kube.issue(Account("strongroom", "strongroom"))
    kube.reviewers.add(reviewer)
    Path(pod.token).write_text(reviewer)
    Path(pod.ca_cert).write_text("not the CA")
    await h.write(
        "config",
        {"kubernetes_host": kube.address, "kubernetes_ca_cert": kube.ca_pem, "disable_local_ca_jwt": True},
    )
    kube.self_review = True
    jwt = kube.issue(APP)
    await h.write("login", {"role": "app", "jwt": jwt})
    assert kube.bearers[-1] == jwt
    kube.self_review = False
    with pytest.raises(PermissionDeniedError):
        await h.write("login", {"role": "app", "jwt": kube.issue(APP)})
