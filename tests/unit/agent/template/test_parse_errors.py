"""Parse errors: Go's messages, positioned as name:line:column."""

from __future__ import annotations

import pytest

from strongroom.agent.template import FUNCTION_NAMES, Template, TemplateError


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('a\nb\n  {{ with sekret "x" }}{{ end }}', '3:11: function "sekret" not defined'),
        ("{{ $y }}", '1:4: undefined variable "$y"'),
        ("{{ $y = 1 }}", '1:4: undefined variable "$y"'),
        ("{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}", '1:39: undefined variable "$x"'),
        ("{{ end }}", "1:4: unexpected {{end}}"),
        ("{{ else }}", "1:4: unexpected {{else}}"),
        ("{{ if true }}x", "1:4: unexpected EOF in if"),
        ("{{ if true }}{{ else }}{{ else }}{{ end }}", "1:27: expected end; found {{else}}"),
        ("{{ if }}{{ end }}", "1:7: missing value for if"),
        ("{{ }}", "1:4: missing value for command"),
        ("{{ .x | }}", "1:9: missing value for command"),
        ("{{ break }}", "1:4: {{break}} outside {{range}}"),
        ("{{ .x | 3 }}", "1:4: non executable command in pipeline stage 2"),
        ("{{ (.x }}", "1:8: unclosed left paren"),
        ("{{ .x) }}", "1:6: unexpected right paren"),
        ('{{ "abc }}', "1:4: unterminated quoted string"),
        ("{{ 12ab }}", "1:4: bad number syntax"),
        ("{{ .x", "1:1: unclosed action"),
        ("{{/* open", "1:1: unclosed comment"),
        ("{{/* c */ x }}", "1:1: comment ends before closing delimiter"),
        ('{{ "a".b }}', "1:4: unexpected . after term"),
        ('{{ if true }}{{ define "x" }}{{ end }}{{ end }}', "1:17: unexpected <define> in command"),
        ("{{ # }}", "1:4: unrecognized character in action: '#'"),
    ],
)
def test_parse_error(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        Template(text, name="template.ctmpl")
    assert str(caught.value) == f"template.ctmpl:{message}"
    line, column = message.split(":")[:2]
    assert (caught.value.line, caught.value.column) == (int(line), int(column))


def test_function_names_include_go_builtins_and_consul_template_functions() -> None:
    assert {
        "and",
        "printf",
        "index",
        "secret",
        "secrets",
        "pkiCert",
        "toJSONPretty",
        "timestamp",
    } <= FUNCTION_NAMES


def test_repr_carries_no_text() -> None:
    assert repr(Template("password: hunter2", name="x.ctmpl")) == "Template('x.ctmpl')"
