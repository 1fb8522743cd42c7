"""Reading a record file (``.buildguard/record.json``): what verify and seal need of a
record, without what recording needs (pathspec, the tree walk), so that they start fast."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from buildguard.errors import RecordReadError
from buildguard.models import Record

DEFAULT_RECORD = Path(".buildguard/record.json")


def load_record(path: str | os.PathLike[str] = DEFAULT_RECORD) -> Record:
    """Read a record file; a missing or invalid one is a :class:`RecordReadError` (exit 2)."""
    location = Path(path)
    try:
        raw = location.read_bytes()
    except FileNotFoundError as exc:
        raise RecordReadError(
            f"no record at {location}",
            hint="run `buildguard record` before the build, or pass --record FILE",
        ) from exc
    except OSError as exc:
        raise RecordReadError(f"cannot read record {location}: {exc.strerror}") from exc
    try:
        return Record.model_validate_json(raw)
    except ValidationError as exc:
        raise RecordReadError(
            f"{location} is not a valid buildguard record ({exc.error_count()} problems, "
            f"first: {exc.errors()[0]['msg']})",
            hint="re-run `buildguard record`; records are written only by buildguard",
        ) from exc
