"""Durations past Go's time.Duration range (int64 nanoseconds) are field errors in Vault's words."""

from __future__ import annotations

import pytest

from strongroom.framework.fields import MAX_DURATION_SECONDS, CoercionError, FieldType, coerce

OVERFLOW = "multiplication of durations resulted in overflow, one operand may be too large"


def test_the_largest_duration_go_holds_is_accepted() -> None:
    assert coerce(FieldType.DURATION, MAX_DURATION_SECONDS) == 9_223_372_036
    assert coerce(FieldType.SIGNED_DURATION, -MAX_DURATION_SECONDS) == -9_223_372_036


@pytest.mark.parametrize(
    ("field_type", "value", "detail"),
    [
        (FieldType.DURATION, 9_223_372_037, OVERFLOW),
        (FieldType.DURATION, 2**64 - 1, OVERFLOW),
        (FieldType.DURATION, 1e300, OVERFLOW),
        (FieldType.DURATION, "99999999999", OVERFLOW),
        # Vault checks the range before the sign.
        (FieldType.DURATION, -9_223_372_037, OVERFLOW),
        (FieldType.SIGNED_DURATION, "-99999999999", OVERFLOW),
        (FieldType.DURATION, "99999999999s", 'time: invalid duration "99999999999s"'),
        (FieldType.DURATION, "1" + "0" * 400 + "h", 'time: invalid duration "1' + "0" * 400 + 'h"'),
    ],
)
def test_durations_past_the_range_are_refused(field_type: FieldType, value: object, detail: str) -> None:
    with pytest.raises(CoercionError) as caught:
        coerce(field_type, value)
    assert caught.value.detail == detail
    assert not caught.value.late
