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
    SiteReadError,
    UsageError,
)
from buildguard.image.report import InspectReport
from buildguard.inspect import inspect
from buildguard.live.report import LiveReport
from buildguard.live.verify import verify_live
from buildguard.models import BundleManifest, FileEntry, Finding, Record, VerifyReport
from buildguard.record import load_record, record
from buildguard.run import RunResult, run
from buildguard.seal import seal
from buildguard.verify import verify

__all__ = [
    "BuildguardError",
    "BundleManifest",
    "CheckFailed",
    "DigestMismatch",
    "FileEntry",
    "Finding",
    "HostileImage",
    "ImageReadError",
    "InspectReport",
    "LiveReport",
    "Record",
    "RecordReadError",
    "RunResult",
    "SealRefused",
    "SiteReadError",
    "UsageError",
    "VerifyReport",
    "__version__",
    "inspect",
    "load_record",
    "record",
    "run",
    "seal",
    "verify",
    "verify_live",
]
