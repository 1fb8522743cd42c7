"""Reading a record file (``.buildguard/record.json``): what verify and seal need of a
record, without what recording needs (pathspec, the tree walk), so that they start fast."""

from __future__ import annotations

import os
from pathlib import Path

from buildguard._record.recordview import read_record
from buildguard.models import Record

DEFAULT_RECORD = Path(".buildguard/record.json")


def load_record(path: str | os.PathLike[str] = DEFAULT_RECORD) -> Record:
    """Read a record file; a missing or invalid one is a :class:`RecordReadError` (exit 2)."""
    return read_record(path, Record)
