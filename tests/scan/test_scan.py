"""`strongroom scan PATH|IMAGE`: every planted secret found at its file:line with its rule and masked;
nothing found in a clean repository; the exit codes CI relies on."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.scan.image import image_findings
from strongroom.scan.rules import mask, shannon_entropy
from tests.scan.conftest import PLANTED, Run, plant


def _no_values(*outputs: str) -> None:
    for _, _, _, value in PLANTED:
        for output in outputs:
            assert value not in output
            assert value[4:12] not in output


def test_every_planted_secret_is_found_masked(planted: Path, scan: Run) -> None:
    result = scan(str(planted))
    assert result.returncode == 1, result.stderr
    expected = sorted(f"{file}:{line}: {rule}: {mask(value)}" for file, line, rule, value in PLANTED)
    assert sorted(result.stdout.splitlines()) == expected
    _no_values(result.stdout, result.stderr)


def test_json_lists_file_line_rule_and_masked(planted: Path, scan: Run) -> None:
    result = scan("-format=json", str(planted))
    assert result.returncode == 1, result.stderr
    records = json.loads(result.stdout)
    assert sorted((r["file"], r["line"], r["rule"], r["masked"]) for r in records) == sorted(
        (file, line, rule, mask(value)) for file, line, rule, value in PLANTED
    )
    _no_values(result.stdout)


def test_a_single_file_is_scanned_under_its_own_name(planted: Path, scan: Run) -> None:
    target = planted / "config" / "app.ini"
    result = scan("--format", "json", str(target))
    assert result.returncode == 1
    assert {r["file"] for r in json.loads(result.stdout)} == {str(target)}


CLEAN = {
    "Dockerfile": "FROM busybox\nARG NPM_TOKEN\nENV DB_PASSWORD_FILE=/run/secrets/db_password\n"
    "ENV API_TOKEN=${API_TOKEN} PORT=8080\nRUN echo build\n",
    "compose.yaml": """services:
  app:
    image: demo
    environment:
      DB_PASSWORD: ${DB_PASSWORD}
      API_KEY: $API_KEY
      SECRET_KEY: "${SECRET_KEY:-}"
      DB_PASSWORD_FILE: /run/secrets/db_password
      DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app
      HOMEPAGE: https://user@example.com/
      VERSION: "2"
      TOKEN_TYPE: bearer
      JWT_SECRET_ALGORITHM: HS256
      SESSION_TOKEN_TTL: 1h
  worker:
    environment:
      - TOKEN=${TOKEN}
      - EMPTY_SECRET=
    secrets: [db_password]
secrets:
  db_password:
    file: ./secrets/db_password
""",
    ".env.example": "DB_PASSWORD=\nAPI_TOKEN=<your token here>\nSECRET_KEY=changeme\n"
    "PASSWORD_MIN_LENGTH=12\n",
    "README.md": "# Demo\n\nSet the password with `strongroom kv put secret/db password=...`.\n"
    "The token is read from VAULT_TOKEN. password: changeme is only an example.\n",
    "uv.lock": "sdist = { hash = "
    '"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }\n'
    'api_key = "Zx9qL2mW8vR4tY7uQ8Zr3LmX0vB7nK2p"\n',
    "package-lock.json": '{"integrity": '
    '"sha512-Zx9qL2mW8vR4tY7uQ8Zr3LmX0vB7nK2pW9sT4yF6aB1cD2eF3gH4iJ5kL6mN7oP8"}\n',
    "src/app.py": "import hashlib\n"
    'DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"\n'
    'password = os.environ["DB_PASSWORD"]\ntoken_url = "https://example.com/oauth/token"\n'
    "s.ProcessingInstructions = 1\n"
    "token = self.read_token_file(path)\n"
    "client_secret = settings.oauth_client_secret_value2\n"
    'assert key.startswith("-----BEGIN RSA PRIVATE KEY-----")\n'
    'EXAMPLE_TOKEN = "hvs.CAESIJz8yN0dXkQmZk1lYm9zaGlkZW5vdGFyZWFs"  # strongroom:allow\n',
    "deploy/app.yaml": "annotations:\n  vault.hashicorp.com/agent-inject-secret-db-password: "
    '"secret/data/billing/db"\n  secretName: app-tls-2024\n',
    ".git/config": "token = hvs.CAESIJz8yN0dXkQmZk1lYm9zaGlkZW5vdGFyZWFs\n",
}


def test_a_clean_repository_exits_0_with_no_output(tmp_path: Path, scan: Run) -> None:
    root = plant(tmp_path / "clean", CLEAN)
    (root / "logo.bin").write_bytes(b"\0\x01AKIAIOSFODNN7EXAMPLE\0")
    (root / "big.txt").write_text("AKIAIOSFODNN7EXAMPLE\n" + "x" * (1024 * 1024))
    result = scan(str(root))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert json.loads(scan("-format=json", str(root)).stdout) == []


def test_usage_errors_exit_2(scan: Run, tmp_path: Path) -> None:
    unknown = scan("-bogus", str(tmp_path))
    assert unknown.returncode == 2
    assert "flag provided but not defined: -bogus" in unknown.stderr
    assert scan("-apply", str(tmp_path)).returncode == 2
    assert scan("-format=xml", str(tmp_path)).returncode == 2


def test_an_image_without_any_engine_is_a_clear_error(scan: Run, tmp_path: Path) -> None:
    result = scan("example.com/app:1", env={"PATH": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr == "Error: scanning an image needs podman or docker, and neither is installed\n"


def test_entropy_separates_random_from_words() -> None:
    assert shannon_entropy("aaaaaaaa") == 0
    assert shannon_entropy("q8Zr3LmX0vB7nK2pW9sT4yF6") > 4.5
    assert shannon_entropy("correcthorse") < 3.5


# What `podman history --no-trunc --format json` and `docker history --no-trunc --format json` print
# (newest layer first); docker's RUN lines carry the build arguments they used as `|N NAME=value`.
HISTORY = [
    {"CreatedBy": "RUN |2 NPM_TOKEN=npm_Zx9qL2mW8vR4tY7uQ8Zr3LmX0vB7 MODE=ci /bin/sh -c npm ci"},
    {"created_by": "/bin/sh -c #(nop)  ENV DB_PASSWORD=hunter2-correct-horse APP=demo"},
    {"CreatedBy": "/bin/sh -c #(nop) LABEL maintainer=ops"},
    {"CreatedBy": "/bin/sh -c #(nop) ARG GITHUB_TOKEN"},
    {"CreatedBy": "/bin/sh -c #(nop) ADD file:2e549373d8e6c9374cd707d5acc8bba3b35abca4dbb6b in /"},
]
INSPECT = [
    {
        "Config": {
            "Env": ["PATH=/usr/bin:/bin", "VAULT_TOKEN=hvs.CAESIJz8yN0dXkQmZk1lYm9zaGlkZW5vdGFyZWFs"],
            "Labels": {"ci.api_key": "Zx9qL2mW8vR4tY7u", "maintainer": "ops"},
        }
    }
]


def test_image_config_and_history_are_read() -> None:
    found = [(f.file, f.line, f.rule, f.value) for f in image_findings("app:1", INSPECT, HISTORY)]
    assert found == [
        ("app:1#env", 2, "vault-token", "hvs.CAESIJz8yN0dXkQmZk1lYm9zaGlkZW5vdGFyZWFs"),
        ("app:1#labels", 1, "image-label", "Zx9qL2mW8vR4tY7u"),
        ("app:1#history", 4, "image-env", "hunter2-correct-horse"),
        ("app:1#history", 5, "image-run-arg", "npm_Zx9qL2mW8vR4tY7uQ8Zr3LmX0vB7"),
    ]


@pytest.fixture
def podman() -> str:
    """The podman binary, which scripts/test-tools installs: without it these tests fail, never skip."""
    found = shutil.which("podman")
    if found is None:
        pytest.fail("podman is not installed: run scripts/test-tools")
    return found


@pytest.fixture
def images(podman: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A planted and a clean image, built from a one-file base image made with `podman import`."""
    tag = uuid.uuid4().hex[:10]
    base, planted, clean = (
        f"localhost/strongroom-scan-{kind}:{tag}" for kind in ("base", "planted", "clean")
    )
    root = tmp_path / "rootfs"
    root.mkdir()
    (root / "hello.txt").write_text("hello\n")
    subprocess.run(["tar", "-C", str(root), "-cf", str(tmp_path / "base.tar"), "."], check=True)

    def podman_run(*args: str) -> None:
        subprocess.run([podman, *args], check=True, capture_output=True, timeout=300)

    try:
        podman_run("import", str(tmp_path / "base.tar"), base)
        for image, body in (
            (
                planted,
                "ENV VAULT_TOKEN=hvs.CAESIJz8yN0dXkQmZk1lYm9zaGlkZW5vdGFyZWFs APP_MODE=prod\n"
                "ENV DB_PASSWORD=hunter2-correct-horse\nLABEL aws.key=AKIAIOSFODNN7EXAMPLE\n",
            ),
            (
                clean,
                "ARG NPM_TOKEN\nENV DB_PASSWORD_FILE=/run/secrets/db APP_MODE=prod\nLABEL maintainer=ops\n",
            ),
        ):
            context = tmp_path / image.rsplit("-", 1)[-1].split(":")[0]
            context.mkdir()
            (context / "Containerfile").write_text(f"FROM {base}\n{body}")
            podman_run("build", "-q", "-t", image, str(context))
        yield planted, clean
    finally:
        subprocess.run([podman, "rmi", "-f", planted, clean, base], capture_output=True, check=False)


def test_a_built_image_is_scanned_through_podman(images: tuple[str, str], scan: Run) -> None:
    planted, clean = images
    result = scan(planted)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"{planted}#env:2: vault-token: hvs.****",
        f"{planted}#env:4: image-env: hunt****",
        f"{planted}#labels:1: aws-access-key: AKIA****",
        f"{planted}#history:2: vault-token: hvs.****",
        f"{planted}#history:3: image-env: hunt****",
        f"{planted}#history:4: aws-access-key: AKIA****",
    ]
    assert "CAESIJz8" not in result.stdout
    assert (scan(clean).returncode, scan(clean).stdout) == (0, "")
    missing = scan(f"{planted}-missing")
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"Error: cannot read image {planted}-missing")


def test_a_missing_path_is_not_taken_for_an_image(scan: Run, tmp_path: Path) -> None:
    result = scan(str(tmp_path / "missing"))
    assert (result.returncode, result.stderr) == (
        2,
        f"Error: no such file or directory: {tmp_path}/missing\n",
    )
    assert scan("./missing-here").stderr == "Error: no such file or directory: missing-here\n"


def test_several_files_as_pre_commit_passes_them(planted: Path, scan: Run) -> None:
    result = scan(str(planted / "Dockerfile"), str(planted / "settings.py"), str(planted / "README.none"))
    assert (result.returncode, result.stdout) == (2, "")
    result = scan(str(planted / "Dockerfile"), str(planted / "settings.py"))
    assert result.returncode == 1
    assert [line.split(": ")[0] for line in result.stdout.splitlines()] == [
        f"{planted}/Dockerfile:2",
        f"{planted}/Dockerfile:4",
        f"{planted}/Dockerfile:6",
        f"{planted}/settings.py:2",
    ]
