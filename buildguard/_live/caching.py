"""May browsers or a CDN keep the entry page? (RFC 9111 freshness, as the contract puts it.)

Cacheable means: no ``no-cache`` / ``no-store`` in ``Cache-Control``, and a positive
``max-age`` or ``s-maxage`` (a CDN's), or, without either, an ``Expires`` later than the
response's ``Date`` (or now). An ``Expires`` that does not parse means already expired.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx


def _directives(value: str) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for part in value.split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            found.setdefault(name.strip().lower(), arg.strip().strip('"') if arg else None)
    return found


def _seconds(arg: str | None) -> int | None:
    if arg is None or not arg.isdigit():
        return None
    return int(arg)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cacheable_for(headers: httpx.Headers, now: datetime | None = None) -> str | None:
    """Why the response may be cached (e.g. ``Cache-Control: max-age=3600``), else None."""
    control = ", ".join(headers.get_list("cache-control"))
    directives = _directives(control)
    if "no-cache" in directives or "no-store" in directives:
        return None
    ages = {
        name: _seconds(directives[name]) for name in ("max-age", "s-maxage") if name in directives
    }
    positive = [f"{name}={age}" for name, age in ages.items() if age]
    if positive:
        return f"Cache-Control: {control.strip()}"
    if ages:
        return None  # max-age / s-maxage given and zero (or unreadable): not fresh
    expires_text = headers.get("expires")
    if expires_text is None:
        return None
    expires = _http_date(expires_text)
    if expires is None:
        return None
    reference = _http_date(headers.get("date")) or now or datetime.now(UTC)
    if expires > reference:
        return f"Expires: {expires_text} (after {reference.strftime('%a, %d %b %Y %H:%M:%S GMT')})"
    return None
