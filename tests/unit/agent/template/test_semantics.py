"""Go text/template semantics: control flow, variables, truth, missing keys, comparisons, delimiters."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.agent.template import TemplateError

from .support import render

DATA: dict[str, Any] = {
    "m": {"b": 2, "a": 1, "c": 3},
    "list": ["x", "y"],
    "empty_list": [],
    "empty_map": {},
    "zero": 0,
    "float_zero": 0.0,
    "empty": "",
    "f": False,
    "t": True,
    "null": None,
    "s": "str",
    "n": 7,
}

SEMANTICS = [
    ("{{ range $k, $v := .m }}{{ $k }}{{ $v }} {{ end }}", "a1 b2 c3 "),
    ("{{ range .m }}{{ . }}{{ end }}", "123"),
    ("{{ range $v := .m }}{{ $v }}{{ end }}", "123"),
    ("{{ range $i, $v := .list }}{{ $i }}:{{ $v }} {{ end }}", "0:x 1:y "),
    ("{{ range .empty_list }}x{{ else }}empty{{ end }}", "empty"),
    ("{{ range .empty_map }}x{{ else }}empty{{ end }}", "empty"),
    ("{{ range .missing }}x{{ else }}none{{ end }}", "none"),
    ("{{ range 3 }}{{ . }}{{ end }}", "012"),
    ('{{ range .list }}{{ if eq . "y" }}{{ break }}{{ end }}{{ . }}{{ end }}', "x"),
    ('{{ range .list }}{{ if eq . "x" }}{{ continue }}{{ end }}{{ . }}{{ end }}', "y"),
    ("{{ if .zero }}a{{ else if .empty }}b{{ else if .n }}c{{ else }}d{{ end }}", "c"),
    ("{{ if .f }}a{{ else if .t }}b{{ end }}", "b"),
    ("{{ with .missing }}a{{ else with .s }}{{ . }}{{ end }}", "str"),
    ("{{ with .empty }}a{{ else }}{{ .n }}{{ end }}", "7"),
    ("{{ if .empty_list }}a{{ end }}{{ if .empty_map }}b{{ end }}{{ if .float_zero }}c{{ end }}", ""),
    ("{{ if .null }}a{{ else }}nil-false{{ end }}", "nil-false"),
    ("{{ if .list }}list-true{{ end }}", "list-true"),
    ("{{ .missing }}", "<no value>"),
    ("{{ .null }}", "<no value>"),
    ("{{ print .null }}", "<nil>"),
    ("{{ .m }} {{ .list }} {{ .t }}", "map[a:1 b:2 c:3] [x y] true"),
    ("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "21"),
    ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
    ("{{ range .list }}{{ $.n }}{{ end }}", "77"),
    ("{{ with $x := .s }}{{ $x }}{{ . }}{{ end }}", "strstr"),
    ('{{ and 1 0 "x" }} {{ or 0 "" "y" }} {{ and 1 2 }} {{ or 0 .empty }}', "0 y 2 "),
    ("{{ if and .t (not .f) }}yes{{ end }}", "yes"),
    (
        '{{ eq .n 7 }} {{ eq .s "a" "str" }} {{ ne .n 8 }} {{ eq .missing "x" }} {{ eq nil nil }}',
        "true true true false true",
    ),
    ('{{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }}', "true true true false"),
    ('{{ len .list }} {{ len .m }} {{ len "héllo" }}', "2 3 6"),
    ('{{ index .m "b" }} {{ index .list 1 }} {{ index .m "zz" }}', "2 y <no value>"),
    ('{{ slice "abcdef" 1 3 }} {{ slice .list 1 }}', "bc [y]"),
    ('{{ .s | printf "%s!" }} {{ "a" | printf "%s-%s" "b" }}', "str! b-a"),
    ('{{ print 1 2 "a" "b" 3 }}|{{ println "a" 1 }}|', "1 2ab3|a 1\n|"),
    ('{{ define "row" }}<{{ .name }}>{{ end }}{{ range .rows }}{{ template "row" . }}{{ end }}', "<a><b>"),
    (
        "{{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 1_000 }} {{ 'a' }} {{ 1.5 }} {{ -2 }} {{ 1e3 }}",
        "31 15 15 1000 97 1.5 -2 1000",
    ),
    ('{{ "tab\\there" }} {{ `raw\\t` }}', "tab\there raw\\t"),
    (
        '{{ html "<a href=\'x\'>&" }} {{ urlquery "a b&c" }} {{ js "it\'s" }}',
        "&lt;a href=&#39;x&#39;&gt;&amp; a+b%26c it\\'s",
    ),
]


@pytest.mark.parametrize(("text", "expected"), SEMANTICS)
async def test_semantics(text: str, expected: str) -> None:
    data = dict(DATA, rows=[{"name": "a"}, {"name": "b"}])
    assert await render(text, data=data) == expected


async def test_or_short_circuits_so_later_arguments_are_not_evaluated() -> None:
    out = await render('{{ or "first" (secret "never/read") }}')
    assert out == "first"


async def test_custom_delimiters() -> None:
    out = await render('[[ .s ]] {{ .s }} [[- " x" -]] !', data=DATA, left_delim="[[", right_delim="]]")
    assert out == "str {{ .s }} x!"


async def test_trim_markers_need_a_space() -> None:
    assert await render("{{-3}}", data=DATA) == "-3"
    assert await render("a  {{- 3 -}}  b") == "a3b"


async def test_error_on_missing_key() -> None:
    with pytest.raises(TemplateError, match=r'^t\.ctmpl:1:4: map has no entry for key "missing"$'):
        await render("{{ .missing }}", data=DATA, error_on_missing_key=True)
    assert await render("{{ .null }}", data=DATA, error_on_missing_key=True) == "<no value>"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{{ eq .n "7" }}', "1:4: error calling eq: incompatible types for comparison"),
        ("{{ eq .n 7.0 }}", "1:4: error calling eq: incompatible types for comparison"),
        ("{{ eq .list .list }}", "1:4: error calling eq: non-comparable types"),
        ("{{ lt .m 1 }}", "1:4: error calling lt: invalid type for comparison"),
        ("{{ .null.x }}", "1:4: nil pointer evaluating interface {}.x"),
        ("{{ .missing.deeper }}", "1:4: nil pointer evaluating interface {}.deeper"),
        ("{{ .s.x }}", "1:4: can't evaluate field x in type string"),
        ("{{ range .s }}{{ end }}", "1:4: range can't iterate over value of type string"),
        ("{{ index .list 5 }}", "1:4: error calling index: index out of range: 5"),
        ("{{ len .n }}", "1:4: error calling len: len of type int"),
        ("{{ .s 1 }}", "1:4: can't give argument to non-function .s"),
        ("{{ nil }}", "1:4: nil is not a command"),
        ('{{ template "nope" }}', '1:4: no such template "nope"'),
        (
            '{{ define "loop" }}{{ template "loop" }}{{ end }}{{ template "loop" }}',
            "1:23: exceeded maximum template depth (100)",
        ),
    ],
)
async def test_execution_errors(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        await render(text, data=DATA)
    assert str(caught.value) == f"t.ctmpl:{message}"
