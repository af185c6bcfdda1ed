"""Durations and timestamps in Vault's (Go's) formats."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.util.clock import rfc3339
from strongroom.util.durations import format_duration, parse_duration
from strongroom.util.ids import new_uuid
from strongroom.util.paths import has_control_characters, is_safe_path


@pytest.mark.parametrize(
    ("given", "seconds"),
    [(0, 0), (90, 90), ("90", 90), ("1h30m", 5400), ("768h", 2764800), ("1.5h", 5400), ("10d", 864000),
     ("", 0), ("2.5", 2), ("500ms", 0), ("1m30s", 90)],
)  # fmt: skip
def test_parse_duration(given: str | int, seconds: int) -> None:
    assert parse_duration(given) == seconds


@pytest.mark.parametrize("given", ["forever", "-1", -5, "1x", "h", True, "1h junk"])
def test_parse_duration_refuses(given: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(given)  # type: ignore[arg-type]


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (45, "45s"), (90, "1m30s"), (3600, "1h0m0s")])
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("timestamp", "text"),
    [
        (1_700_000_000.0, "2023-11-14T22:13:20Z"),
        (1_700_000_000.5, "2023-11-14T22:13:20.5Z"),
        (1_700_000_000.263960, "2023-11-14T22:13:20.26396Z"),
        (1_700_000_000.000001, "2023-11-14T22:13:20.000001Z"),
    ],
)
def test_rfc3339_trims_trailing_zeros_as_go_does(timestamp: float, text: str) -> None:
    assert rfc3339(timestamp) == text


@pytest.mark.parametrize(
    ("path", "safe"),
    [("secret/data/a", True), ("secret/../sys", False), ("./x", False), ("a/b\n", False), ("a..b/c", True)],
)
def test_is_safe_path(path: str, safe: bool) -> None:
    assert is_safe_path(path) is safe


def test_control_characters_are_exactly_those_below_space_and_del() -> None:
    control = {*range(0x20), 0x7F}
    for code in range(0x300):
        # Alone, and inside ASCII and non-ASCII paths (the two take different routes).
        for path in (chr(code), f"a/{chr(code)}/b", f"é/{chr(code)}"):
            assert has_control_characters(path) is (code in control), (code, path)
    assert not has_control_characters("")
    assert not has_control_characters("secret/data/ünïcode\u00a0 name")


def test_new_uuid_is_a_random_version_4_uuid_in_canonical_form() -> None:
    seen = {new_uuid() for _ in range(2000)}
    assert len(seen) == 2000
    for text in seen:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
    # Every variant digit (8, 9, a, b) turns up: the two random bits are not lost.
    assert {text[19] for text in seen} == set("89ab")


@given(st.floats(min_value=-62_135_596_800.0, max_value=253_402_300_798.0, allow_nan=False))
def test_rfc3339_is_datetimes_text_of_the_same_microsecond(timestamp: float) -> None:
    # The reference: datetime's own rounding to the microsecond and its isoformat (what rfc3339 was).
    text = datetime.fromtimestamp(timestamp, tz=UTC).isoformat()[:-6]
    assert rfc3339(timestamp) == (text.rstrip("0") if "." in text else text) + "Z"
    assert rfc3339(timestamp + 1) != rfc3339(timestamp)  # the second held for reuse moves on
