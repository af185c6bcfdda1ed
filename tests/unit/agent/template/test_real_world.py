"""Real-world Vault Agent templates, each rendered to exact bytes."""

from __future__ import annotations

import pytest

from strongroom.agent.template import Dependency, Template, TemplateError

from .support import FIXED_NOW, MemorySource, render

CASES = [
    pytest.param(
        '{{ with secret "secret/data/db" }}{{ .Data.data.password }}{{ end }}',
        "s3cr3t",
        id="issue-kv2-password",
    ),
    pytest.param(
        '{{- with secret "secret/data/db" -}}\n'
        "{{- range $k, $v := .Data.data }}\n"
        "export {{ $k | toUpper }}={{ $v }}\n"
        "{{- end }}\n"
        "{{ end -}}\n",
        "\nexport PASSWORD=s3cr3t\nexport PORT=5432\nexport USERNAME=app\n",
        id="env-file-range-sorted",
    ),
    pytest.param(
        '{{ with secret "secret/data/db" }}{{ .Data.data | toJSONPretty }}{{ end }}\n',
        '{\n  "password": "s3cr3t",\n  "port": 5432,\n  "username": "app"\n}\n',
        id="toJSONPretty",
    ),
    pytest.param(
        '{{ with secret "secret/data/flags" }}{{ if .Data.data.enabled }}on{{ else }}off{{ end }}'
        "{{ if .Data.data.empty }}!{{ else }}-{{ end }}{{ end }}",
        "on-",
        id="if-else-on-field",
    ),
    pytest.param(
        '{{ with secret "secret/data/db" }}'
        '{{ printf "postgres://%s:%s@db:%d/app" .Data.data.username .Data.data.password .Data.data.port }}'
        "{{ end }}",
        "postgres://app:s3cr3t@db:5432/app",
        id="printf-dsn",
    ),
    pytest.param(
        '{{ with secret "secret/data/db" }}{{ with .Data.data }}'
        "{{ .username }}/{{ .password }}{{ end }}{{ end }}",
        "app/s3cr3t",
        id="nested-with",
    ),
    pytest.param(
        '{{ with secret "kv/app" }}API_KEY={{ .Data.api_key }} ttl={{ .LeaseDuration }}{{ end }}',
        "API_KEY=k-123 ttl=2764800",
        id="kv1-data-and-lease",
    ),
    pytest.param(
        '{{ with secret "database/creds/ro" }}{{ .LeaseID }} {{ .LeaseDuration }} {{ .Renewable }}'
        " {{ .Data.username }}{{ end }}",
        "database/creds/ro/abc 3600 true v-ro-1",
        id="dynamic-creds-lease-fields",
    ),
    pytest.param(
        'line1\n    {{- /* a comment */ -}}\n    line2\n{{ `raw` }}  {{- "x" }}',
        "line1line2\nrawx",
        id="trim-and-comment-exact-bytes",
    ),
    pytest.param(
        '{{ range secrets "secret/metadata/" }}{{ . }};{{ end }}',
        "alpha/;mid;zeta;",
        id="secrets-list-sorted",
    ),
    pytest.param(
        '{{ with secret "secret/data/db" -}}\n'
        "db:\n"
        "  user: {{ .Data.data.username }}\n"
        '  pass: "{{ .Data.data.password }}"\n'
        "{{ end }}",
        'db:\n  user: app\n  pass: "s3cr3t"\n',
        id="yaml-config-file",
    ),
    pytest.param(
        '{{ with secret "secret/data/db" }}{{ .Data.data | toYAML }}{{ end }}',
        "password: s3cr3t\nport: 5432\nusername: app",
        id="toYAML",
    ),
    pytest.param(
        '{{ $db := secret "secret/data/db" }}{{ $db.Data.data.username }}'
        '@{{ (secret "kv/app").Data.api_key }}',
        "app@k-123",
        id="variables-and-parenthesized-chain",
    ),
    pytest.param(
        '{{ with secret "secret/data/db" }}{{ .Data.data.password | base64Encode }}{{ end }}',
        "czNjcjN0",
        id="base64-of-secret",
    ),
    pytest.param(
        '{{ with secret "secret/data/flags" }}{{ join "," .Data.data.tags }}{{ end }}',
        "a,b",
        id="join-list",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
async def test_real_world_template(source: MemorySource, text: str, expected: str) -> None:
    assert await render(text, source) == expected


async def test_dependencies_record_each_path_touched(source: MemorySource) -> None:
    template = Template(
        '{{ with secret "secret/data/db" }}{{ end }}{{ if false }}{{ secret "kv/app" }}{{ end }}'
        '{{ secrets "secret/metadata/" }}',
        name="deps.ctmpl",
    )
    rendered = await template.render(source, now=lambda: FIXED_NOW)
    assert rendered.dependencies == frozenset(
        {Dependency("read", "secret/data/db"), Dependency("list", "secret/metadata/")}
    )
    assert "s3cr3t" not in repr(rendered)


async def test_secret_with_arguments_writes_and_returns_the_response() -> None:
    src = MemorySource(
        writes={"transit/encrypt/k": lambda data: {"data": {"ciphertext": "vault:v1:" + data["plaintext"]}}}
    )
    out = await render(
        '{{ with secret "transit/encrypt/k" "plaintext=aGk=" " context = x " }}'
        "{{ .Data.ciphertext }}{{ end }}",
        src,
    )
    assert out == "vault:v1:aGk="
    assert src.written == [("transit/encrypt/k", {"plaintext": "aGk=", "context": "x"})]


async def test_pki_cert_issues_through_the_source() -> None:
    issued = {"data": {"certificate": "CERT", "private_key": "KEY", "issuing_ca": "CA", "ca_chain": ["CA"]}}
    src = MemorySource(writes={"pki/issue/web": lambda data: issued})
    text = (
        '{{ with pkiCert "pki/issue/web" "common_name=a.example.com" "ttl=1h" }}'
        "{{ .Cert }}|{{ .Key }}|{{ .CA }}{{ end }}"
    )
    assert await render(text, src) == "CERT|KEY|CA"
    assert src.written == [("pki/issue/web", {"common_name": "a.example.com", "ttl": "1h"})]


async def test_template_is_reusable_and_refetches(source: MemorySource) -> None:
    template = Template('{{ with secret "secret/data/db" }}{{ .Data.data.password }}{{ end }}')
    assert (await template.render(source)).text == "s3cr3t"
    source.reads["secret/data/db"] = {"data": {"data": {"password": "rotated"}}}
    assert (await template.render(source)).text == "rotated"
    assert source.read_count == 2


async def test_a_secret_prints_as_consul_templates_struct(source: MemorySource) -> None:
    out = await render('{{ secret "kv/app" }}|{{ printf "%v" (secret "kv/app") }}', source)
    assert out == (
        "{req-2  2764800 false map[api_key:k-123 nested:map[x:1]] [] <nil> <nil>}|"
        "&{req-2  2764800 false map[api_key:k-123 nested:map[x:1]] [] <nil> <nil>}"
    )


async def test_missing_key_in_secret_data(source: MemorySource) -> None:
    text = '{{ with secret "secret/data/db" }}{{ .Data.data.nope }}{{ end }}'
    assert await render(text, source) == "<no value>"
    with pytest.raises(TemplateError) as caught:
        await render(text, source, error_on_missing_key=True)
    assert str(caught.value) == 't.ctmpl:1:38: map has no entry for key "nope"'
