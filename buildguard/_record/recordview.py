"""Reading a record file: as the model, or as seal needs it (the same rules, no model per file).

``Record.model_validate_json`` builds one ``FileEntry`` model per file: for a 50,000-file
record that is ~0.4 s and ~80 MB, most of a seal's time. seal reads the record through
:class:`RecordView`: every field and rule of :class:`~buildguard.models.Record`, with each
file validated into a plain dict by :class:`FileEntryFields`, which mirrors ``FileEntry``
field for field (a test compares their JSON Schemas, so the two cannot drift apart).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, NotRequired, TypeVar

from pydantic import ConfigDict, Field, ValidationError, with_config
from typing_extensions import TypedDict

from buildguard._internal.modeltypes import Sha256Hex, UtcTime
from buildguard.errors import RecordReadError
from buildguard.models import Record


@with_config(ConfigDict(extra="forbid"))
class FileEntryFields(TypedDict):
    """``FileEntry``'s fields and rules, validated into a dict."""

    path: str
    type: NotRequired[Literal["file", "symlink"]]
    sha256: Sha256Hex
    size: Annotated[int, Field(ge=0)]
    mode: Annotated[int, Field(ge=0)]
    mtime: UtcTime
    media_type: NotRequired[str | None]
    link_target: NotRequired[str | None]


class RecordView(Record):
    """A :class:`Record` whose files are dicts (:class:`FileEntryFields`)."""

    files: tuple[FileEntryFields, ...]  # type: ignore[assignment]


M = TypeVar("M", bound=Record)


def read_record(path: str | os.PathLike[str], model: type[M]) -> M:
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
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise RecordReadError(
            f"{location} is not a valid buildguard record ({exc.error_count()} problems, "
            f"first: {exc.errors()[0]['msg']})",
            hint="re-run `buildguard record`; records are written only by buildguard",
        ) from exc
