"""``Expectations``: what ``verify`` checks an image's bundles against."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from buildguard._checks.extras import check_allow_extra
from buildguard.models import Record


@dataclass(frozen=True, kw_only=True)
class Expectations:
    """This build's facts for ``verify`` (and ``verify_build``, which fills the build id and
    commit from the build itself). Unset fields are looked up as the command line does."""

    build_id: str | None = None
    """Default: ``$BUILD_ID``, then the record."""
    commit: str | None = None
    """Default: ``$COMMIT_SHA``, the record, then ``git rev-parse HEAD`` here."""
    records: tuple[Record | str | os.PathLike[str], ...] = ()
    """This build's records, models or files (``--record``, repeatable): one per app of a
    monorepo, all of one build; each bundle is judged against the one whose source digest
    its manifest carries. Default: ``.buildguard/record.json`` when it exists. (A single
    record or a list is taken as well.)"""
    allow_extra: bool | tuple[str, ...] = False
    """Files a manifest does not list are reported (``info``), not failed: ``True`` for
    every such file, a tuple of gitignore-style globs (matched against the path relative to
    the bundle root, e.g. ``("50x.html", "config/*.json")``) for those that match. A glob
    that is not one raises :class:`~buildguard.errors.UsageError` here."""
    use_default_record: bool = True
    """``False`` ignores ``.buildguard/record.json`` and this checkout's commit (verifying
    another build's image, as ``--from-build`` does)."""

    def __post_init__(self) -> None:
        given: Iterable[Record | str | os.PathLike[str]] = self.records
        if isinstance(given, Record | str | os.PathLike):  # one record, not in a tuple
            given = (given,)
        object.__setattr__(self, "records", tuple(given))
        object.__setattr__(self, "allow_extra", check_allow_extra(self.allow_extra))
