"""When a static role rotates next: every rotation_period seconds, or on a cron rotation_schedule.

Layer: builtin (pure logic; stdlib only). The cron dialect is the one Vault parses rotation_schedule with
(robfig/cron's standard five fields: minute, hour, day of month, month, day of week; "*", lists, ranges,
"/" steps, and JAN-DEC / SUN-SAT names), evaluated in UTC. As in cron, when both day fields are restricted
a day matching either one matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Vault's shortest rotation_period (its rotation queue ticks every 5 s) and shortest rotation_window.
MIN_ROTATION_PERIOD = 5
MIN_ROTATION_WINDOW = 3600
# How far ahead a schedule is searched before it counts as one that never fires (Feb 30, say).
_SEARCH_DAYS = 366 * 5

_MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    )
}
_DAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}


class ScheduleError(ValueError):
    """A rotation_schedule that is not a valid five-field cron expression."""


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed schedule: the allowed values of each field."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    # Whether the day-of-month / day-of-week field was "*" (cron's either-or rule needs to know).
    any_day: bool
    any_weekday: bool

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.weekday() + 1) % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def next_after(self, when: float) -> float:
        """The first moment of the schedule strictly after `when` (epoch seconds)."""
        start = datetime.fromtimestamp(when, UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate.timestamp()
            day += timedelta(days=1)
        raise ScheduleError("the schedule never fires")


def parse_schedule(text: str) -> CronSchedule:
    """The schedule `text` names; ScheduleError (robfig/cron's words where it has them) when invalid."""
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: [{', '.join(fields)}]")
    minute, hour, day, month, weekday = fields
    schedule = CronSchedule(
        minutes=_field(minute, 0, 59, {}),
        hours=_field(hour, 0, 23, {}),
        days=_field(day, 1, 31, {}),
        months=_field(month, 1, 12, _MONTHS),
        weekdays=_field(weekday, 0, 6, _DAYS),
        any_day=day in ("*", "?"),
        any_weekday=weekday in ("*", "?"),
    )
    schedule.next_after(0)
    return schedule


def _field(text: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        values |= _range(part, low, high, names)
    return frozenset(values)


def _range(part: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    span, _, step_text = part.partition("/")
    step = _number(step_text, {}) if step_text else 1
    if span in ("*", "?"):
        first, last = low, high
    else:
        start, dash, end = span.partition("-")
        first = _number(start, names)
        last = _number(end, names) if dash else (high if step_text else first)
    if first < low:
        raise ScheduleError(f"beginning of range ({first}) below minimum ({low}): {part}")
    if last > high:
        raise ScheduleError(f"end of range ({last}) above maximum ({high}): {part}")
    if first > last:
        raise ScheduleError(f"beginning of range ({first}) beyond end of range ({last}): {part}")
    if step <= 0:
        raise ScheduleError(f"step of range should be a positive number: {part}")
    return set(range(first, last + 1, step))


def _number(text: str, names: dict[str, int]) -> int:
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleError(
            f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax'
        )
    return int(text)


def next_rotation(period: int, schedule: str, after: float) -> float:
    """When a role rotated at `after` is due again: `after` + its period, or its schedule's next time."""
    if schedule:
        return parse_schedule(schedule).next_after(after)
    return after + period
