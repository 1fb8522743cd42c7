"""``ReadOptions``: how to read an image, one object for every command that reads one.

Built once by the command line (or by a caller of the API) and handed down unchanged to
``inspect``, ``verify``, ``verify_build``, the marks and verify-live's ``--image``, the way
go-containerregistry's ``remote.Option``\\ s gather into one ``options``: a new reading flag
touches this class and the command line, not every function in between.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from buildguard._image.imageinfo import Progress


@dataclass(frozen=True, kw_only=True)
class ReadOptions:
    """How to read an image. Every field has the command line's default."""

    platform: str | None = None
    """``OS/ARCH[/VARIANT]`` to pick from an index (default ``linux/amd64``); verify also
    takes ``all``."""
    paths: Sequence[str] = field(default=())
    """Absolute paths in the image: only the files under them are hashed and reported."""
    insecure_registries: Sequence[str] = field(default=())
    """Registry hosts reached over plain HTTP (loopback always is)."""
    cache: str | os.PathLike[str] | None = None
    """The layer-index cache: a folder or ``gs://BUCKET/PREFIX`` (default
    ``$BUILDGUARD_CACHE``, else ``$XDG_CACHE_HOME/buildguard``)."""
    no_cache: bool = False
    """Read every layer; neither use nor fill the cache."""
    progress: Progress | None = None
    """Called as each layer starts streaming (for display only)."""

    def __post_init__(self) -> None:
        # tuples, so that a frozen options object is also an immutable one
        object.__setattr__(self, "paths", tuple(self.paths))
        object.__setattr__(self, "insecure_registries", tuple(self.insecure_registries))
