"""Human units for ages and durations ("3 h 05 min", "12 min 03 s")."""

from __future__ import annotations

from datetime import datetime, timedelta


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
