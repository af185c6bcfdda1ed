"""rotation_schedule's cron dialect (robfig/cron's five standard fields, in UTC) and when a static role
rotates next; and the static role's stored and shown form."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from strongroom.builtin.secrets.database.models import StaticRole, rfc3339_nano
from strongroom.builtin.secrets.database.rotation import retry_at
from strongroom.builtin.secrets.database.schedule import ScheduleError, next_rotation, parse_schedule


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        ("* * * * *", "2026-03-01T10:00:30", "2026-03-01T10:01:00"),
        ("*/15 * * * *", "2026-03-01T10:00:00", "2026-03-01T10:15:00"),
        ("0 0 * * *", "2026-03-01T10:00:00", "2026-03-02T00:00:00"),
        ("30 2 1 * *", "2026-03-01T03:00:00", "2026-04-01T02:30:00"),
        ("0 9 * * MON-FRI", "2026-03-06T10:00:00", "2026-03-09T09:00:00"),  # Friday -> Monday
        ("0 0 29 FEB *", "2026-03-01T00:00:00", "2028-02-29T00:00:00"),
        ("0 0 13 * 5", "2026-03-01T00:00:00", "2026-03-06T00:00:00"),  # the 13th or any Friday
        ("5,10 1-2 * * *", "2026-03-01T01:07:00", "2026-03-01T01:10:00"),
        ("0 12 * JAN,JUL SUN", "2026-03-01T13:00:00", "2026-07-05T12:00:00"),
    ],
)
def test_the_next_time_of_a_schedule(schedule: str, after: str, expected: str) -> None:
    assert parse_schedule(schedule).next_after(at(after)) == at(expected)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("* * * *", "expected exactly 5 fields, found 4: [*, *, *, *]"),
        ("0 0 * * * *", "expected exactly 5 fields, found 6"),
        ("60 * * * *", "end of range (60) above maximum (59): 60"),
        ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("* * * * 7", "end of range (7) above maximum (6): 7"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
        ("*/0 * * * *", "step of range should be a positive number"),
        ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        ("0 0 30 FEB *", "the schedule never fires"),
    ],
)
def test_invalid_schedules_are_refused(schedule: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(message)):
        parse_schedule(schedule)


def test_a_period_counts_from_the_last_rotation() -> None:
    assert next_rotation(3600, "", 1000.0) == 4600.0
    assert next_rotation(0, "0 * * * *", at("2026-03-01T10:20:00")) == at("2026-03-01T11:00:00")


def test_a_static_role_shows_its_schedule_and_never_its_password() -> None:
    role = StaticRole(
        name="app", db_name="pg", username="u", rotation_schedule="0 * * * *", rotation_window=3600,
        password="s3cret", last_vault_rotation=at("2026-03-01T10:00:00.5"), last_rotation_error="boom",
    )  # fmt: skip
    shown = role.read_data()
    assert shown == {
        "credential_type": "password",
        "db_name": "pg",
        "last_rotation_error": "boom",
        "last_vault_rotation": "2026-03-01T10:00:00.5Z",
        "rotation_schedule": "0 * * * *",
        "rotation_statements": [],
        "rotation_window": 3600,
        "username": "u",
    }
    assert "s3cret" not in repr(role)
    assert StaticRole.from_json(role.to_json()) == role
    assert rfc3339_nano(at("2026-03-01T10:00:00")) == "2026-03-01T10:00:00Z"


def test_failed_rotations_back_off_and_a_window_hands_over_to_the_schedule() -> None:
    period = StaticRole(name="a", db_name="pg", username="u", rotation_period=60, last_vault_rotation=1.0)
    assert [retry_at(period, n, 1000.0) - 1000.0 for n in (1, 2, 3, 6, 7, 20)] == [2, 4, 8, 60, 60, 60]
    scheduled = StaticRole(
        name="b", db_name="pg", username="u", rotation_schedule="0 * * * *", rotation_window=3600,
        last_vault_rotation=at("2026-03-01T09:00:00"), next_vault_rotation=at("2026-03-01T10:00:00"),
    )  # fmt: skip
    assert retry_at(scheduled, 1, at("2026-03-01T10:30:00")) == at("2026-03-01T10:30:02")
    assert retry_at(scheduled, 6, at("2026-03-01T10:59:30")) == at("2026-03-01T11:00:00")
