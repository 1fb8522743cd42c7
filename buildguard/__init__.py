"""buildguard: make sure the image you ship holds the frontend bundle this build made.

The public API mirrors the commands and returns pydantic models; bad input and unreadable
images raise :class:`BuildguardError` subclasses.
"""

from __future__ import annotations

__version__ = "0.1.0"

from buildguard.errors import (
    BuildguardError,
    CheckFailed,
    DigestMismatch,
    HostileImage,
    ImageReadError,
    RecordReadError,
    SealRefused,
    UsageError,
)
from buildguard.models import BundleManifest, FileEntry, Record
from buildguard.record import load_record, record
from buildguard.run import RunResult, run
from buildguard.seal import seal

__all__ = [
    "BuildguardError",
    "BundleManifest",
    "CheckFailed",
    "DigestMismatch",
    "FileEntry",
    "HostileImage",
    "ImageReadError",
    "Record",
    "RecordReadError",
    "RunResult",
    "SealRefused",
    "UsageError",
    "__version__",
    "load_record",
    "record",
    "run",
    "seal",
]
