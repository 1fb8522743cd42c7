"""The ``User-Agent`` every request buildguard makes carries (registries and served sites)."""

from __future__ import annotations

from buildguard import __version__

USER_AGENT = f"buildguard/{__version__} (+https://github.com/buildguard)"
