"""``SiteOptions``: how verify-live checks the site (what ``ReadOptions`` is to an image)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class WaitStatus:
    """Given to ``progress`` after a failed attempt, before the pause that follows it."""

    attempt: int
    errors: Mapping[str, int]
    """Error finding codes of that attempt, counted (``SITE_UNREADABLE`` for a read error)."""
    next_in: float
    remaining: float


WaitProgress = Callable[[WaitStatus], None]


@dataclass(frozen=True, kw_only=True)
class SiteOptions:
    """How to check a served site. Every field has the command line's default."""

    base: str = "/"
    """The bundle's public base (Vite's ``base``)."""
    allow_changed: Sequence[str] = field(default=())
    """Globs (gitignore syntax, bundle paths) of files rewritten at start-up: exempt from the
    digest check only."""
    samples: int = 1
    """Entry page requests over new connections per attempt."""
    wait: float | None = None
    """Seconds to keep trying (with backoff) until an attempt passes, a hard bound on the
    whole call (without it, ``$BUILDGUARD_DEADLINE``, default 1800 s, bounds it)."""
    headers: Sequence[tuple[str, str]] = field(default=())
    """Sent with every request to the entry page's origin; never logged or reported."""
    insecure: bool = False
    """Skip TLS verification."""
    progress: WaitProgress | None = None
    """Called after a failed attempt, before the pause (for display only)."""
    api_prefixes: Sequence[str] = field(default=())
    """URL paths the bundle calls on the site's origin (``--api-prefix``); the same-origin
    API paths found in the served scripts are asked for too."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow_changed", tuple(self.allow_changed))
        object.__setattr__(self, "headers", tuple(self.headers))
        object.__setattr__(self, "api_prefixes", tuple(self.api_prefixes))
