"""Every consul-template function, and Go's printf and value formatting, to exact output."""

from __future__ import annotations

import pytest

from strongroom.agent.template import TemplateError
from strongroom.agent.template.encode import to_json
from strongroom.agent.template.gofmt import format_float, sprintf
from strongroom.agent.template.gotime import go_format

from .support import FIXED_NOW, MemorySource, render

FUNCTIONS = [
    ("{{ toJSON .obj }}", '{"a":[1,2.5,null,true],"b":"\\u003cx\\u003e \\u0026 \\"q\\"","c":{}}'),
    ("{{ toUnescapedJSON .obj }}", '{"a":[1,2.5,null,true],"b":"<x> & \\"q\\"","c":{}}'),
    (
        "{{ toJSONPretty .obj }}",
        '{\n  "a": [\n    1,\n    2.5,\n    null,\n    true\n  ],\n '
        ' "b": "\\u003cx\\u003e \\u0026 \\"q\\"",\n  "c": {}\n}',
    ),
    ("{{ toYAML .obj }}", 'a:\n- 1\n- 2.5\n- null\n- true\nb: <x> & "q"\nc: {}'),
    (
        '{{ "MiXed" | toLower }} {{ "MiXed" | toUpper }} {{ "hello wORLD-x o\'neil" | toTitle }}',
        "mixed MIXED Hello WORLD-X O'neil",
    ),
    ('{{ "a+b/c?" | base64Encode }} {{ "YStiL2M/" | base64Decode }}', "YStiL2M/ a+b/c?"),
    ('{{ "a+b/c?" | base64URLEncode }} {{ "YStiL2M_" | base64URLDecode }}', "YStiL2M_ a+b/c?"),
    ('{{ env "TPL_TEST_VAR" }}|{{ env "TPL_UNSET_VAR_X" }}', "from-overlay|"),
    ('{{ with parseJSON `{"k":[1,"v"]}` }}{{ index .k 1 }}{{ end }} {{ parseJSON "" }}', "v map[]"),
    ('{{ (parseYAML "k: v").k }}', "v"),
    ('{{ parseBool "true" }} {{ parseBool "0" }} {{ parseBool "" }}', "true false false"),
    ('{{ parseInt "-42" }} {{ parseInt "" }} {{ parseFloat "2.50" }}', "-42 0 2.5"),
    (
        '[{{ "  x y \\n" | trimSpace }}] {{ trim "-" "--a-b--" }}'
        ' {{ trimPrefix "pre" "prefix" }} {{ trimSuffix "fix" "prefix" }}',
        "[x y] a-b fix pre",
    ),
    ('{{ replaceAll "a" "o" "banana" }}', "bonono"),
    ('{{ split "," "a,b,,c" }} {{ split "," "  " }} {{ "x:y" | split ":" | join "+" }}', "[a b  c] [] x+y"),
    ('{{ indent 2 "a\\nb\\n\\nc" }}|', "  a\n  b\n\n  c|"),
    ('{{ .list | contains "b" }} {{ contains "z" .list }} {{ "abc" | contains "bc" }}', "true false true"),
    (
        "{{ containsAny .two .list }} {{ containsAll .two .list }}"
        " {{ containsNone .two .list }} {{ containsNotAll .two .list }}",
        "true false false true",
    ),
    (
        '{{ timestamp }} {{ timestamp "unix" }}'
        ' {{ timestamp "2006-01-02 15:04:05.000 Mon Jan _2 3PM -0700" }}',
        "2024-03-09T07:05:04Z 1709967904 2024-03-09 07:05:04.120 Sat Mar  9 7AM +0000",
    ),
    (
        '{{ sha256Hex "abc" }} {{ md5sum "abc" }}',
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 900150983cd24fb0d6963f7d28e17f72",
    ),
]


@pytest.mark.parametrize(("text", "expected"), FUNCTIONS)
async def test_function(text: str, expected: str) -> None:
    data = {
        "obj": {"b": '<x> & "q"', "a": [1, 2.5, None, True], "c": {}},
        "list": ["a", "b"],
        "two": ["b", "z"],
    }
    assert await render(text, data=data, env={"TPL_TEST_VAR": "from-overlay"}) == expected


async def test_file_reads_a_local_file(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "f.txt"  # type: ignore[operator]
    path.write_text("contents\n")
    assert await render(f'{{{{ file "{path}" }}}}{{{{ file "" }}}}') == "contents\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{{ parseInt "12ab" }}', "error calling parseInt: parseInt: invalid syntax"),
        ('{{ parseBool "yes" }}', "error calling parseBool: parseBool: invalid syntax"),
        ('{{ base64Decode "!!" }}', "error calling base64Decode: base64Decode: illegal base64 data"),
        ('{{ parseJSON "{" }}', "error calling parseJSON: parseJSON: invalid JSON"),
        ("{{ toUpper 3 }}", "error calling toUpper: wrong type for value; expected string; got int"),
        ('{{ indent -1 "x" }}', "error calling indent: indent value must be a positive integer"),
        ('{{ secret "kv/x" "novalue" }}', "error calling secret: argument is not a k=v pair"),
        ('{{ secret "secret/data/gone" }}', "error calling secret: no secret exists at secret/data/gone"),
        (
            '{{ pkiCert "pki/issue/x" "common_name=a" }}',
            "error calling pkiCert: no certificate returned from pki/issue/x",
        ),
        (
            '{{ file "/nonexistent/strongroom" }}',
            "error calling file: file: cannot read /nonexistent/strongroom",
        ),
        (
            '{{ timestamp "a" "b" }}',
            "error calling timestamp: timestamp: wrong number of arguments, expected 0 or 1, but got 2",
        ),
    ],
)
async def test_function_errors_never_carry_values(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        await render(text, MemorySource())
    assert str(caught.value) == f"t.ctmpl:1:4: {message}"
    assert "12ab" not in str(caught.value)


async def test_data_functions_need_a_source() -> None:
    with pytest.raises(TemplateError, match="secret needs a secret source"):
        await render('{{ secret "kv/a" }}')


@pytest.mark.parametrize(
    ("fmt", "args", "expected"),
    [
        ("%s|%5s|%-5s|%.2s", ["ab", "ab", "ab", "abc"], "ab|   ab|ab   |ab"),
        ("%d|%05d|%+d|%x|%X|%o|%b|%#x", [42, 42, 42, 255, 255, 8, 5, 255], "42|00042|+42|ff|FF|10|101|0xff"),
        ("%v|%v|%v|%v|%v", [None, [1, "a"], {"k": True}, 1.0, 1e21], "<nil>|[1 a]|map[k:true]|1|1e+21"),
        (
            "%f|%.1f|%e|%g|%8.3f",
            [3.14159, 2.25, 1234.5, 0.0001, 3.14159],
            "3.141590|2.2|1.234500e+03|0.0001|   3.142",
        ),
        ("%q|%t|%c|%%", ['a"b\n', True, 65], '"a\\"b\\n"|true|A|%'),
        ("%d|%s|%t", ["x", 3, "y"], "%!d(string=x)|%!s(int=3)|%!t(string=y)"),
        ("%s %s", ["only"], "only %!s(MISSING)"),
        ("%s", ["a", 1, None], "a%!(EXTRA int=1, <nil>)"),
        ("%x", ["hi"], "6869"),
    ],
)
def test_sprintf(fmt: str, args: list[object], expected: str) -> None:
    assert sprintf(fmt, args) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1"),
        (0.1, "0.1"),
        (123456.0, "123456"),
        (1000000.0, "1e+06"),
        (1.5e-5, "1.5e-05"),
        (-2.5, "-2.5"),
    ],
)
def test_go_float_formatting(value: float, expected: str) -> None:
    assert format_float(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (123456789.0, "123456789"),
        ("\u2028\x01", '"\\u2028\\u0001"'),
    ],
)
def test_go_json_scalars(value: object, expected: str) -> None:
    assert to_json(value) == expected


def test_go_time_layouts() -> None:
    assert go_format(FIXED_NOW, "Monday, January 2 2006 15:04:05.999999 Z07:00 MST 002") == (
        "Saturday, March 9 2024 07:05:04.12 Z UTC 069"
    )
