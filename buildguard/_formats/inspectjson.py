"""inspect's ``--json``: the report's JSON document with the file listing streamed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from buildguard.models import FileReport, InspectReport


def write_json(head: InspectReport, files: Iterable[FileReport], out: TextIO) -> None:
    """Write the report as JSON, the listing streamed: the same document as
    ``report.model_dump_json()`` would give, never held whole in memory."""
    text = head.model_dump_json(indent=2)
    tail = '"files": []\n}'
    if not text.endswith(tail):  # files is the last field of the model
        raise AssertionError("InspectReport must end with its files")
    out.write(text[: -len(tail)] + '"files": [')
    first = True
    for item in files:
        out.write(("\n    " if first else ",\n    ") + item.model_dump_json())
        first = False
    out.write("\n  ]\n}\n" if not first else "]\n}\n")
