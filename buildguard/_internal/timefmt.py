"""Times: human units for ages and durations ("3 h 05 min"), RFC 3339, epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def human_duration(delta: timedelta) -> str:
    """Render an absolute duration in the two largest useful units."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours:02d} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def rfc3339(moment: datetime) -> str:
    """An RFC 3339 UTC string with whole seconds, for messages."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


UTC_MIN = datetime.min.replace(tzinfo=UTC)
UTC_MAX = datetime.max.replace(tzinfo=UTC)


def from_epoch(seconds: int | float) -> datetime:
    """A time stored as seconds since the epoch (tar mtimes: any int64) as an aware UTC
    datetime, clamped to what :class:`datetime` can hold. The one conversion every tar time
    goes through: a hostile mtime must show as year 1 or 9999, never crash a report."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return UTC_MIN if seconds < 0 else UTC_MAX
