"""The JSON cost estimate refuses bodies that parse into millions of values, and nothing an honest client
sends: strings count by their bytes, whatever brackets, commas or escaped quotes they hold."""

from __future__ import annotations

import orjson

from strongroom.http.json_cost import MAX_JSON_MEMORY, too_costly


def test_many_tiny_values_are_too_costly() -> None:
    assert too_costly(b'{"k": [' + b"[]," * 2_000_000 + b"[]]}")
    assert too_costly(orjson.dumps({"k": [0] * 3_000_000}))
    assert too_costly(b'{"k": [' + b"{}," * 1_000_000 + b"{}]}")


def test_a_body_of_strings_up_to_the_size_limit_is_not() -> None:
    size = 32 * 1024 * 1024 - 64
    assert not too_costly(b'{"data": {"k": "' + b"x" * size + b'"}}')
    # Structure inside strings is text, not values.
    assert not too_costly(b'{"data": {"k": "' + b"[]," * (size // 3) + b'"}}')
    assert not too_costly(b'{"data": {"k": "' + b'\\"[\\\\' * (size // 5) + b'"}}')


def test_ordinary_bodies_are_not() -> None:
    batch = [{"plaintext": "aGVsbG8=", "context": "YWJj"} for _ in range(50_000)]
    assert not too_costly(orjson.dumps({"batch_input": batch}))
    assert not too_costly(b'{"a": 1}')
    assert not too_costly(b"")


def test_an_escaped_backslash_before_a_quote_ends_the_string() -> None:
    # `"\\\\"` is a string holding one backslash; the brackets after it are structure and count.
    many = (MAX_JSON_MEMORY // 40) + 1
    assert too_costly(b'{"a": "\\\\", "b": [' + b"[]," * many + b"[]]}")
