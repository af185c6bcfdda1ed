"""The CLI's output formatting, checked against what the Vault CLI prints for the same data."""

from __future__ import annotations

import json

import pytest

from strongroom.cli.output import (
    columns,
    go_value,
    human_duration,
    map_header,
    padded_header,
    render,
    secret_document,
    secret_field,
    secret_rows,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "<nil>"),
        (True, "true"),
        ([], "[]"),
        (["a", "b"], "[a b]"),
        ({"b": 2, "a": {"c": None}}, "map[a:map[c:<nil>] b:2]"),
        (1795834260, "1795834260"),
    ],
)
def test_go_value(value: object, expected: str) -> None:
    assert go_value(value) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0s"),
        (59, "59s"),
        (3599, "59m59s"),
        (3600, "1h"),
        (5400, "1h30m"),
        (7205, "2h5s"),
        (2764800, "768h"),
    ],
)
def test_human_duration(seconds: int, expected: str) -> None:
    assert human_duration(seconds) == expected
    assert human_duration(str(seconds)) == expected


def test_human_duration_leaves_other_values() -> None:
    assert human_duration("0s") == "0s"
    assert human_duration(None) is None


def test_columns_pad_all_but_the_last_and_fill_empty_cells() -> None:
    assert columns([("Key", "Value"), ("---", "-----"), ("deletion_time", ""), ("a", "1")]) == (
        "Key              Value\n---              -----\ndeletion_time    n/a\na                1"
    )


@pytest.mark.parametrize(
    ("title", "width", "expected"),
    [
        ("Secret Path", len("secret/data/x"), "== Secret Path =="),
        ("Secret Path", len("secret/data/a/b"), "= Secret Path ="),
        ("Data", 10, "== Data =="),
    ],
)
def test_padded_header(title: str, width: int, expected: str) -> None:
    assert padded_header(title, width) == expected


def test_map_header_is_sized_to_the_longest_key() -> None:
    assert map_header("Metadata", {"custom_metadata": None, "version": 1}) == "======= Metadata ======="


TOKEN_RESPONSE = {
    "request_id": "r1",
    "lease_id": "",
    "lease_duration": 0,
    "renewable": False,
    "data": None,
    "warnings": None,
    "wrap_info": None,
    "auth": {
        "client_token": "s.abc",
        "accessor": "acc",
        "policies": ["default", "app"],
        "token_policies": ["default", "app"],
        "identity_policies": None,
        "metadata": {"team": "ops"},
        "lease_duration": 3600,
        "renewable": True,
    },
}


def test_secret_rows_for_a_token() -> None:
    assert secret_rows(TOKEN_RESPONSE) == [
        ("token", "s.abc"),
        ("token_accessor", "acc"),
        ("token_duration", "1h"),
        ("token_renewable", "true"),
        ("token_policies", '["default" "app"]'),
        ("identity_policies", "[]"),
        ("policies", '["default" "app"]'),
        ("token_meta_team", "ops"),
    ]


def test_secret_rows_show_refresh_interval_and_humanized_ttls() -> None:
    rows = secret_rows({"lease_duration": 2764800, "data": {"ttl": 90, "b": None, "a": [1]}})
    assert rows == [("refresh_interval", "768h"), ("a", "[1]"), ("b", "<nil>"), ("ttl", "1m30s")]


def test_secret_field_finds_auth_then_data() -> None:
    assert secret_field(TOKEN_RESPONSE, "token") == "s.abc"
    assert secret_field(TOKEN_RESPONSE, "token_policies") == ["default", "app"]
    assert secret_field({"data": {"a": 1}}, "a") == 1
    with pytest.raises(KeyError):
        secret_field({"data": {"a": 1}}, "b")


def test_secret_document_keeps_vaults_order_and_drops_empty_extras() -> None:
    document = secret_document({**TOKEN_RESPONSE, "mount_type": "token"})
    assert list(document) == [
        "request_id",
        "lease_id",
        "lease_duration",
        "renewable",
        "data",
        "warnings",
        "auth",
    ]
    assert json.loads(render(document, "json"))["auth"]["client_token"] == "s.abc"


def test_yaml_quotes_like_go() -> None:
    assert render({"b": "1", "a": ""}, "yaml") == 'a: ""\nb: "1"'
