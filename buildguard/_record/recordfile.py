"""Reading a record file (``.buildguard/record.json``): what verify and seal need of a
record, without what recording needs (pathspec, the tree walk), so that they start fast."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from buildguard._record.recordview import read_record
from buildguard.models import Record

DEFAULT_RECORD = Path(".buildguard/record.json")


def load_record(path: str | os.PathLike[str] = DEFAULT_RECORD) -> Record:
    """Read a record file; a missing or invalid one is a :class:`RecordReadError` (exit 2)."""
    return read_record(path, Record)


class RecordHead(BaseModel):
    """Whose record a file is: its build id and source folder (the rest is not read into
    models, so a 50,000-file record costs one JSON parse)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    build_id: str
    source_root: str


def read_record_head(path: str | os.PathLike[str]) -> RecordHead | None:
    """The build id and source folder of the record at ``path``; ``None`` when no regular
    file is there or it is not a record (then nothing is at stake in replacing it)."""
    location = Path(path)
    try:
        if not location.is_file() or location.is_symlink():
            return None
        return RecordHead.model_validate_json(location.read_bytes())
    except (OSError, ValidationError):
        return None
