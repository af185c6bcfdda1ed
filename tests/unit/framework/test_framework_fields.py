"""Vault's coercion rules for every field type, and their error wording."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType
from strongroom.framework.fields import CoercionError, coerce, zero_value

T = FieldType


@pytest.mark.parametrize(
    ("field_type", "value", "expected"),
    [
        (T.STRING, "abc", "abc"),
        (T.STRING, 5, "5"),
        (T.STRING, True, "1"),
        (T.INT, 5, 5),
        (T.INT, "42", 42),
        (T.INT, " 7 ", 7),
        (T.INT, True, 1),
        (T.BOOL, True, True),
        (T.BOOL, "true", True),
        (T.BOOL, "t", True),
        (T.BOOL, "1", True),
        (T.BOOL, "F", False),
        (T.BOOL, "0", False),
        (T.BOOL, 0, False),
        (T.DURATION, 90, 90),
        (T.DURATION, "90", 90),
        (T.DURATION, "1h", 3600),
        (T.DURATION, "1h30m", 5400),
        (T.DURATION, 1.5, 1),
        (T.SIGNED_DURATION, "-1s", -1),
        (T.SIGNED_DURATION, -5, -5),
        (T.COMMA_STRING_LIST, "a, b,,c ", ["a", "b", "c"]),
        (T.COMMA_STRING_LIST, ["a", " b "], ["a", "b"]),
        (T.COMMA_INT_LIST, "1,2", [1, 2]),
        (T.COMMA_INT_LIST, [3, "4"], [3, 4]),
        (T.COMMA_INT_LIST, 5, [5]),
        (T.STRING_LIST, "one", ["one"]),
        (T.STRING_LIST, ["a", 1, True], ["a", "1", "1"]),
        (T.MAP, {"a": {"b": 1}}, {"a": {"b": 1}}),
        (T.MAP, '{"a": 1}', {"a": 1}),
        (T.KV_PAIRS, ["k=v", "x=y=z"], {"k": "v", "x": "y=z"}),
        (T.KV_PAIRS, {"k": 1}, {"k": "1"}),
        (T.LOWERCASE_STRING, "MiXeD", "mixed"),
    ],
)
def test_coercion_table(field_type: FieldType, value: Any, expected: Any) -> None:
    assert coerce(field_type, value) == expected


@pytest.mark.parametrize(
    ("field_type", "value", "detail"),
    [
        (T.INT, "abc", "'' cannot parse value as 'int': strconv.ParseInt: invalid syntax"),
        (T.INT, 1.5, "'' cannot parse value as 'int': strconv.ParseInt: invalid syntax"),
        (T.INT, {"a": 1}, "'' expected type 'int', got unconvertible type 'map[string]interface {}'"),
        (T.BOOL, "maybe", "'' cannot parse value as 'bool': strconv.ParseBool: invalid syntax"),
        (T.BOOL, "yes", "'' cannot parse value as 'bool': strconv.ParseBool: invalid syntax"),
        (T.DURATION, "abc", 'time: invalid duration "abc"'),
        (T.DURATION, -5, "cannot provide negative value '-5'"),
        (T.MAP, "str", "'' expected type 'map[string]interface {}', got unconvertible type 'string'"),
        (
            T.COMMA_INT_LIST,
            ["x"],
            "decoding failed due to the following error(s):\n\n"
            "'[0]' cannot parse value as 'int': strconv.ParseInt: invalid syntax",
        ),
        (
            T.STRING_LIST,
            [{"a": 1}],
            "1 error(s) decoding:\n\n* '[0]' expected type 'string', "
            "got unconvertible type 'map[string]interface {}'",
        ),
        (T.KV_PAIRS, ["novalue"], "invalid key pair: expected key=value"),
    ],
)
def test_coercion_errors(field_type: FieldType, value: Any, detail: str) -> None:
    with pytest.raises(CoercionError) as caught:
        coerce(field_type, value)
    assert caught.value.detail == detail


def test_zero_values() -> None:
    assert [zero_value(t) for t in (T.STRING, T.INT, T.BOOL, T.DURATION, T.STRING_LIST, T.MAP)] == [
        "",
        0,
        False,
        0,
        [],
        {},
    ]


def test_field_data_get_default_and_zero() -> None:
    schema = {"a": Field(T.INT, default="3"), "b": Field(T.BOOL), "c": Field(T.STRING)}
    data = FieldData({"c": "x"}, schema)
    assert data.get("a") == 3
    assert data.get_ok("a") == (3, False)
    assert data.get_ok("b") == (False, False)
    assert data.get_ok("c") == ("x", True)
    assert data.raw == {"c": "x"}
    with pytest.raises(KeyError):
        data.get("undeclared")


def test_field_data_validation_error_wording() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        FieldData({"ttl": "soon"}, {"ttl": Field(T.DURATION)})
    assert caught.value.errors == (
        'Field validation failed: error converting input for field "ttl": time: invalid duration "soon"',
    )


def test_negative_duration_error_has_no_prefix_like_vault() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        FieldData({"ttl": "-5s"}, {"ttl": Field(T.DURATION)})
    assert caught.value.errors == (
        "error converting input for field \"ttl\": cannot provide negative value '-5'",
    )


def test_error_does_not_carry_the_value() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        FieldData({"n": "s3cr3t-value"}, {"n": Field(T.INT)})
    assert "s3cr3t-value" not in str(caught.value)


def test_required_field() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        FieldData({}, {"name": Field(T.STRING, required=True)})
    assert caught.value.errors == ("Field validation failed: missing required field 'name'",)
