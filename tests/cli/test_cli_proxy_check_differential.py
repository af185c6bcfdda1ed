"""`strongroom proxy -check` against OpenBao's proxy: each config of the table is judged by both, and the
verdicts (accepted or refused) must agree.

OpenBao's proxy has no -check; its hidden `-test-verify-only` flag loads and validates the config and
exits, connecting nowhere. The table is about what the proxy's validation does differently from the
agent's (no templates to satisfy `cache` or `auto_auth`, `use_auto_auth_token` only in `api_proxy`);
the grammar both share is the agent differential's business.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.servers import bao_binary

DEAD = 'vault {\n  address = "http://127.0.0.1:1"\n}\n'
APPROLE = 'method "approle" {\n  config = { role_id_file_path = "ROOT/role_id" }\n}\n'
WRAPPED = 'method "approle" {\n  wrap_ttl = "5m"\n  config = { role_id_file_path = "ROOT/role_id" }\n}\n'
SINK = 'sink "file" {\n  config = { path = "ROOT/token" }\n}\n'
AUTO_AUTH = "auto_auth {\n" + APPROLE + "}\n"
LISTENER = 'listener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n}\n'
USE_TOKEN = "api_proxy {\n  use_auto_auth_token = true\n}\n"

# (name, config, accepted by OpenBao's proxy)
CASES: list[tuple[str, str, bool]] = [
    ("auto_auth with a sink", "auto_auth {\n" + APPROLE + SINK + "}\n", True),
    ("auto_auth alone", AUTO_AUTH, False),
    ("auto_auth for the api_proxy", AUTO_AUTH + LISTENER + USE_TOKEN + "cache {\n}\n", True),
    (
        "use_auto_auth_token force",
        AUTO_AUTH + LISTENER + 'api_proxy {\n  use_auto_auth_token = "force"\n}\n',
        True,
    ),
    (
        "use_auto_auth_token bad",
        AUTO_AUTH + LISTENER + 'api_proxy {\n  use_auto_auth_token = "often"\n}\n',
        False,
    ),
    # The proxy's cache block has no use_auto_auth_token: ignored, so auto_auth has nothing to serve.
    (
        "use_auto_auth_token in cache",
        AUTO_AUTH + LISTENER + "cache {\n  use_auto_auth_token = true\n}\n",
        False,
    ),
    ("cache without a listener", "auto_auth {\n" + APPROLE + SINK + "}\ncache {\n}\n", False),
    ("api_proxy without a listener", AUTO_AUTH + USE_TOKEN, False),
    ("use_auto_auth_token with wrapping", "auto_auth {\n" + WRAPPED + "}\n" + LISTENER + USE_TOKEN, False),
    ("listener alone", LISTENER, True),
    (
        "listener proxy_api",
        'listener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n'
        + "  proxy_api {\n    enable_quit = true\n  }\n}\n",
        True,
    ),
    (
        "listener proxy_api bad",
        'listener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n'
        + '  proxy_api {\n    enable_quit = "often"\n  }\n}\n',
        False,
    ),
    ("nothing to do", "", False),
]

# Deliberate differences: OpenBao's proxy skips the agent's template family silently (the config starts
# and never renders); strongroom's refuses it.
DIFFERENCES: list[tuple[str, str]] = [
    (
        "template",
        AUTO_AUTH + LISTENER + USE_TOKEN + 'template {\n  contents = "x"\n  destination = "ROOT/o"\n}\n',
    ),
    (
        "template_config",
        AUTO_AUTH + LISTENER + USE_TOKEN + "template_config {\n  exit_on_retry_failure = true\n}\n",
    ),
    (
        "exec and env_template",
        "auto_auth {\n"
        + APPROLE
        + SINK
        + "}\n"
        + 'exec {\n  command = ["sleep", "30"]\n}\n'
        + 'env_template "A" {\n  contents = "x"\n}\n',
    ),
]


def _config(root: Path, name: str, text: str) -> Path:
    path = root / (name.replace(" ", "_") + ".hcl")
    path.write_text(DEAD + text.replace("ROOT", str(root)))
    return path


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    env["HOME"] = str(root)
    return env


def openbao_accepts(config: Path) -> bool:
    done = subprocess.run(
        [bao_binary(), "proxy", "-test-verify-only", f"-config={config}"],
        capture_output=True, env=_environment(config.parent), timeout=30, check=False,
    )  # fmt: skip
    return done.returncode == 0


def strongroom_check(config: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", "proxy", "-check", f"-config={config}"],
        capture_output=True, text=True, env=_environment(config.parent), timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return done


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bool, bool]]:
    """Each case's (OpenBao, strongroom) verdict, probed a few at a time."""
    root = tmp_path_factory.mktemp("proxy-differential")

    def judge(case: tuple[str, str, bool]) -> tuple[str, tuple[bool, bool]]:
        name, text, _ = case
        config = _config(root, name, text)
        return name, (openbao_accepts(config), strongroom_check(config).returncode == 0)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(judge, CASES))


@pytest.mark.parametrize(("name", "expected"), [(name, accepted) for name, _, accepted in CASES])
def test_strongroom_judges_each_proxy_config_as_openbao_does(
    verdicts: dict[str, tuple[bool, bool]], name: str, expected: bool
) -> None:
    openbao, strongroom = verdicts[name]
    assert openbao == expected, f"OpenBao {'accepts' if openbao else 'refuses'} {name!r}"
    assert strongroom == openbao, f"strongroom {'accepts' if strongroom else 'refuses'} {name!r}"


@pytest.mark.parametrize(("name", "text"), DIFFERENCES)
def test_the_template_family_is_refused_where_openbao_skips_it(tmp_path: Path, name: str, text: str) -> None:
    config = _config(tmp_path, name, text)
    assert openbao_accepts(config)
    done = strongroom_check(config)
    assert done.returncode == 1
    block = name.split(maxsplit=1)[0]
    assert f"{config}:" in done.stderr
    assert f"{block!r} is not supported by the proxy; run `strongroom agent` for it" in done.stderr
    # The agent takes the same file: the refusal is the proxy's alone.
    agent = subprocess.run(
        [sys.executable, "-m", "strongroom", "agent", "-check", f"-config={config}"],
        capture_output=True, text=True, env=_environment(tmp_path), timeout=30, check=False,
    )  # fmt: skip
    assert agent.returncode == 0, agent.stderr


def test_the_cache_use_auto_auth_token_is_ignored_with_a_notice(tmp_path: Path) -> None:
    text = "auto_auth {\n" + APPROLE + SINK + "}\n" + LISTENER + "cache {\n  use_auto_auth_token = true\n}\n"
    done = strongroom_check(_config(tmp_path, "cache token", text))
    assert done.returncode == 0, done.stderr
    assert "use_auto_auth_token is ignored by the proxy" in done.stderr


def test_a_config_directory_and_repeated_flags_merge_as_the_agents_do(tmp_path: Path) -> None:
    directory = tmp_path / "proxy.d"
    directory.mkdir()
    (directory / "a-vault.hcl").write_text(DEAD)
    (directory / "b-auth.hcl").write_text(AUTO_AUTH.replace("ROOT", str(tmp_path)) + USE_TOKEN)
    listener = tmp_path / "listener.hcl"
    listener.write_text(LISTENER)
    env = _environment(tmp_path)

    def check(*configs: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "strongroom", "proxy", "-check", *(f"-config={c}" for c in configs)],
            capture_output=True, text=True, env=env, timeout=30, check=False,
        )  # fmt: skip

    # The api_proxy needs the listener the second flag brings.
    alone = check(directory)
    assert alone.returncode == 1
    assert "configuring the api_proxy requires at least 1 listener to be defined" in alone.stderr
    merged = check(directory, listener)
    assert (merged.returncode, merged.stdout, merged.stderr) == (0, "", "")
    template = directory / "c-template.hcl"
    template.write_text('template {\n  contents = "x"\n  destination = "out"\n}\n')
    refused = check(directory, listener)
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"{template}:1: 'template' is not supported by the proxy")
