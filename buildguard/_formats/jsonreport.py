"""The JSON of a report model, on stdout (``--json``) and as a file (``--report``).

``verify``, ``verify --from-build`` and ``verify-live`` write their JSON through these
functions, every file through :func:`buildguard._internal.files.atomic_write`, and every
document through :mod:`buildguard._internal.redact` (no credential in a report, whatever its
findings say).
"""

from __future__ import annotations

import os

from pydantic import BaseModel

from buildguard._internal.files import atomic_write
from buildguard._internal.redact import scrub_json


def report_json(report: BaseModel) -> str:
    """The report as the JSON document of ``--json`` and ``--report`` (ends with a newline)."""
    return scrub_json(report.model_dump_json(indent=2) + "\n")


def write_report(report: BaseModel, path: str | os.PathLike[str]) -> None:
    """``--report FILE``: the JSON document, written atomically."""
    atomic_write(path, report_json(report).encode("utf-8"))
