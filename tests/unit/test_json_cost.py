"""The JSON complexity check refuses bodies that parse into millions of values or hold more than OpenBao's
1,000 strings, and nothing else: strings count by their bytes, whatever brackets, commas or escaped quotes
they hold."""

from __future__ import annotations

import orjson

from strongroom.http.json_cost import MAX_JSON_MEMORY, MAX_JSON_STRINGS, complexity_error

MEMORY = "refused JSON input due to high complexity: exceeded maximum estimated memory limits"
STRINGS = "refused JSON input due to high complexity: exceeded maximum number of strings"


def test_many_tiny_values_cost_too_much_memory() -> None:
    assert complexity_error(b'{"k": [' + b"[]," * 2_000_000 + b"[]]}") == MEMORY
    assert complexity_error(orjson.dumps({"k": [0] * 3_000_000})) == MEMORY
    assert complexity_error(b'{"k": [' + b"{}," * 1_000_000 + b"{}]}") == MEMORY


def test_more_than_a_thousand_strings_are_refused_keys_included() -> None:
    assert complexity_error(orjson.dumps({"k": ["a"] * (MAX_JSON_STRINGS - 1)})) == ""
    assert complexity_error(orjson.dumps({"k": ["a"] * MAX_JSON_STRINGS})) == STRINGS
    assert complexity_error(orjson.dumps({f"k{i}": 1 for i in range(MAX_JSON_STRINGS + 1)})) == STRINGS


def test_escaped_quotes_are_not_strings() -> None:
    assert complexity_error(orjson.dumps({"k": '"' * 10_000})) == ""
    assert complexity_error(orjson.dumps({"k": '\\"' * 10_000})) == ""


def test_a_body_of_strings_up_to_the_size_limit_is_not_refused() -> None:
    size = 32 * 1024 * 1024 - 64
    assert complexity_error(b'{"data": {"k": "' + b"x" * size + b'"}}') == ""
    # Structure inside strings is text, not values.
    assert complexity_error(b'{"data": {"k": "' + b"[]," * (size // 3) + b'"}}') == ""
    assert complexity_error(b'{"data": {"k": "' + b'\\"[\\\\' * (size // 5) + b'"}}') == ""


def test_ordinary_bodies_are_not_refused() -> None:
    batch = [{"plaintext": "aGVsbG8=", "context": "YWJj"} for _ in range(240)]
    assert complexity_error(orjson.dumps({"batch_input": batch})) == ""
    assert complexity_error(orjson.dumps({"k": list(range(100_000))})) == ""
    assert complexity_error(b'{"a": 1}') == ""
    assert complexity_error(b"") == ""


def test_an_escaped_backslash_before_a_quote_ends_the_string() -> None:
    # `"\\\\"` is a string holding one backslash; the brackets after it are structure and count.
    many = (MAX_JSON_MEMORY // 40) + 1
    assert complexity_error(b'{"a": "\\\\", "b": [' + b"[]," * many + b"[]]}") == MEMORY
