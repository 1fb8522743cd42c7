"""The error document: what ``verify``, ``verify-live``, ``inspect`` (and every command that
writes a JSON document) print with ``--json`` and write with ``--report`` when they end in
exit 2, 3 or 4 instead of a verdict.

Defined apart from ``buildguard.models`` (which re-exports it, for the schema export) with the
conventions of the reports: frozen, ``extra="forbid"``, a ``schema_version``, ``ok``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from buildguard._internal.modeltypes import FrozenModel

ErrorKind = Literal["usage", "unreadable", "internal"]
"""``usage`` (exit 2: a flag, a value, a record, a file to write), ``unreadable`` (exit 3: the
image, the site or the build could not be read), ``internal`` (exit 4: a bug in buildguard)."""

KIND_OF_EXIT: dict[int, ErrorKind] = {2: "usage", 3: "unreadable", 4: "internal"}


class ErrorInfo(FrozenModel):
    """Why the command ended without a verdict."""

    kind: ErrorKind
    exit_code: Literal[2, 3, 4] = Field(description="The command's exit code.")
    message: str = Field(description="What happened (the line printed on stderr).")
    hint: str | None = Field(
        default=None, description="What to do about it, where there is a fix to name."
    )


class ErrorReport(FrozenModel):
    """The one document of a command that could not reach a verdict; ``ok`` is always
    false."""

    schema_version: Literal[1] = 1
    ok: Literal[False] = False
    error: ErrorInfo
