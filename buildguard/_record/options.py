"""``RecordOptions``: what ``record`` (and ``run``'s record step) is told besides the folder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from buildguard._record.recordfile import DEFAULT_RECORD

DEFAULT_ENV_FILE = Path(".buildguard/build.env")


@dataclass(frozen=True, kw_only=True)
class RecordOptions:
    """record's inputs. Every field has the command line's default."""

    out: str | os.PathLike[str] | None = DEFAULT_RECORD
    """Where the record is written (``None``: not written)."""
    build_id: str | None = None
    """Default: ``$BUILD_ID``."""
    commit: str | None = None
    """Default: ``$COMMIT_SHA``, then ``git rev-parse HEAD`` in the source folder."""
    clean: Sequence[str | os.PathLike[str]] = field(default=())
    """Folders removed before hashing (the build's output), never hashed."""
    excludes: Sequence[str] = field(default=())
    """More gitignore-style patterns left out of the source digest."""
    env_file: str | os.PathLike[str] | None = DEFAULT_ENV_FILE
    """Where the build env file is written (``None``: not written)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "clean", tuple(self.clean))
        object.__setattr__(self, "excludes", tuple(self.excludes))
