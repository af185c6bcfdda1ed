"""Go's encoding/json words for syntax errors (checked against OpenBao's answers to the same templates)."""

from __future__ import annotations

import pytest

from strongroom.util.gojson import syntax_error


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "invalid character 'n' looking for beginning of object key string"),
        ('{"a" 1}', "invalid character '1' after object key"),
        ('{"a": 1 "b": 2}', "invalid character '\"' after object key:value pair"),
        ('{"a": [1 2]}', "invalid character '2' after array element"),
        ('{"a": tru}', "invalid character '}' in literal true (expecting 'e')"),
        ('{"a": 01}', "invalid character '1' after object key:value pair"),
        ('{"a": 1.}', "invalid character '}' in numeric literal"),
        ('{"a": "x\n"}', "invalid character '\\n' in string"),
        ('{"a": 1', "unexpected end of JSON input"),
        ("{'a': 1}", "invalid character '\\'' looking for beginning of object key string"),
        ('{"a": 1,}', "invalid character '}' looking for beginning of object key string"),
        ("[1,]", "invalid character ']' looking for beginning of value"),
        ('{"a": 1} x', "invalid character 'x' after top-level value"),
    ],
)
def test_go_words(text: str, words: str) -> None:
    assert syntax_error(text) == words


@pytest.mark.parametrize("text", ['{"a": [1, -2.5e+3, "x\\"y", true, false, null, {}]}', " [] ", "0"])
def test_valid_json_has_no_error(text: str) -> None:
    assert syntax_error(text) is None
