"""May browsers or a CDN keep the entry page? (RFC 9111 freshness, as the contract puts it.)

Cacheable means: no ``no-cache`` / ``no-store`` in ``Cache-Control``, and either

- an explicit freshness lifetime (RFC 9111 §4.2.1): a positive ``max-age`` or ``s-maxage``
  (a CDN's), or, without either, an ``Expires`` later than the response's ``Date`` (or now).
  An ``Expires`` that does not parse means already expired (§5.3); a zero ``max-age`` or a
  past ``Expires`` is an explicit lifetime too, already over: not cacheable; or
- no explicit lifetime at all and a ``Last-Modified`` that parses: a cache may then assign a
  heuristic lifetime (§4.2.2; browsers take about a tenth of the time since that date). A
  ``Cache-Control`` without ``max-age``/``s-maxage`` (``public``, ``private``,
  ``must-revalidate``) gives no lifetime, so it does not stop the heuristic either. That is
  nginx's default for a static file: ``Last-Modified`` and ``ETag``, no ``Cache-Control``, no
  ``Expires`` (``expires off``).

Without ``Last-Modified`` nor an explicit lifetime, nothing is said: browsers have nothing to
base a heuristic on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

ENTRY_CACHE_HINT = (
    "serve the entry page with Cache-Control: no-cache, e.g. in nginx "
    'location = /index.html { add_header Cache-Control "no-cache"; } (hashed assets may keep '
    "a long max-age)"
)
"""The fix for ``LIVE_ENTRY_CACHEABLE``: browsers then revalidate the page on every load."""


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
    """Why the response may be cached (e.g. ``Cache-Control: max-age=3600``), else None.

    The reason names the headers that decided: an explicit lifetime, or a ``Last-Modified``
    without one (heuristic freshness)."""
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
        return _heuristic(headers, control)
    expires = _http_date(expires_text)
    if expires is None:
        return None
    reference = _http_date(headers.get("date")) or now or datetime.now(UTC)
    if expires > reference:
        return f"Expires: {expires_text} (after {reference.strftime('%a, %d %b %Y %H:%M:%S GMT')})"
    return None


def _heuristic(headers: httpx.Headers, control: str) -> str | None:
    """Why a response without an explicit lifetime may be cached heuristically, else None."""
    modified = headers.get("last-modified")
    if _http_date(modified) is None:
        return None
    given = (
        f"Cache-Control: {control.strip()} without max-age, and no Expires"
        if control.strip()
        else "neither Cache-Control nor Expires"
    )
    return (
        f"Last-Modified: {modified} and {given}, so caches may keep it for a share of its "
        "age: heuristic freshness, RFC 9111 §4.2.2"
    )
