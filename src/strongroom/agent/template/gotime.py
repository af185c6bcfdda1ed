"""Go's time.Format with reference layouts ("2006-01-02T15:04:05Z07:00"), for `timestamp`.

Layer: agent. Imports stdlib only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

RFC3339 = "2006-01-02T15:04:05Z07:00"


def _zone(moment: datetime, z: bool, colon: bool, hours_only: bool = False) -> str:
    offset = moment.utcoffset() or timedelta(0)
    if z and not offset:
        return "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    if hours_only:
        return f"{sign}{hours:02d}"
    return f"{sign}{hours:02d}{':' if colon else ''}{mins:02d}"


def _fraction(digits: int, trim: bool) -> Callable[[datetime], str]:
    def render(moment: datetime) -> str:
        text = f"{moment.microsecond * 1000:09d}"[:digits]
        if trim:
            text = text.rstrip("0")
            return "." + text if text else ""
        return "." + text

    return render


# Longest first, so "2006" wins over "2" and "Z07:00" over "Z0700".
_CHUNKS: list[tuple[str, Callable[[datetime], str]]] = [
    ("January", lambda t: t.strftime("%B")),
    ("Monday", lambda t: t.strftime("%A")),
    ("Z07:00", lambda t: _zone(t, True, True)),
    ("-07:00", lambda t: _zone(t, False, True)),
    ("Z0700", lambda t: _zone(t, True, False)),
    ("-0700", lambda t: _zone(t, False, False)),
    ("2006", lambda t: f"{t.year:04d}"),
    ("-07", lambda t: _zone(t, False, False, hours_only=True)),
    ("Jan", lambda t: t.strftime("%b")),
    ("Mon", lambda t: t.strftime("%a")),
    ("MST", lambda t: t.tzname() or "UTC"),
    ("002", lambda t: f"{t.timetuple().tm_yday:03d}"),
    ("01", lambda t: f"{t.month:02d}"),
    ("02", lambda t: f"{t.day:02d}"),
    ("_2", lambda t: f"{t.day:2d}"),
    ("06", lambda t: f"{t.year % 100:02d}"),
    ("15", lambda t: f"{t.hour:02d}"),
    ("03", lambda t: f"{(t.hour % 12) or 12:02d}"),
    ("04", lambda t: f"{t.minute:02d}"),
    ("05", lambda t: f"{t.second:02d}"),
    ("PM", lambda t: "PM" if t.hour >= 12 else "AM"),
    ("pm", lambda t: "pm" if t.hour >= 12 else "am"),
    ("1", lambda t: str(t.month)),
    ("2", lambda t: str(t.day)),
    ("3", lambda t: str((t.hour % 12) or 12)),
    ("4", lambda t: str(t.minute)),
    ("5", lambda t: str(t.second)),
]


def go_format(moment: datetime, layout: str) -> str:
    """Format `moment` with a Go reference layout."""
    out: list[str] = []
    i = 0
    while i < len(layout):
        if layout[i] in ".," and i + 1 < len(layout) and layout[i + 1] in "09":
            digit = layout[i + 1]
            j = i + 1
            while j < len(layout) and layout[j] == digit:
                j += 1
            if not (j < len(layout) and layout[j].isdigit()):
                out.append(_fraction(j - i - 1, digit == "9")(moment))
                i = j
                continue
        for chunk, render in _CHUNKS:
            if layout.startswith(chunk, i):
                out.append(render(moment))
                i += len(chunk)
                break
        else:
            out.append(layout[i])
            i += 1
    return "".join(out)
