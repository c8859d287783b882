"""The simulator's clock: timezone-aware UTC instants and the ways the dialects spell them.

Spelt by hand rather than with strftime, which costs several microseconds a call on hot paths.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_millis(at: datetime) -> str:
    """GSMA style: `2025-03-14T09:00:01.120Z`."""
    return f"{_date(at)}T{_time(at)}.{at.microsecond // 1000:03d}Z"


def iso_seconds(at: datetime) -> str:
    """Wave style: `2025-03-17T09:12:44Z`."""
    return f"{_date(at)}T{_time(at)}Z"


def yymmdd(at: datetime) -> str:
    """The date part of provider references: `250314`."""
    return f"{at.year % 100:02d}{at.month:02d}{at.day:02d}"


def _date(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}-{at.day:02d}"


def _time(at: datetime) -> str:
    return f"{at.hour:02d}:{at.minute:02d}:{at.second:02d}"
