"""buildguard: make sure the image you ship holds the frontend bundle this build made.

The public API mirrors the commands and returns pydantic models; bad input and unreadable
images raise :class:`BuildguardError` subclasses.
"""

from __future__ import annotations

__version__ = "0.1.0"

from buildguard.buildreport import BuildVerifyReport
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
from buildguard.frombuild import mark_build, verify_build
from buildguard.image.report import InspectReport
from buildguard.inspect import inspect
from buildguard.mark import MarkFailed, mark_verified
from buildguard.models import BundleManifest, FileEntry, Finding, Record, VerifyReport
from buildguard.record import load_record, record
from buildguard.run import RunResult, run
from buildguard.seal import seal
from buildguard.verify import verify

__all__ = [
    "BuildVerifyReport",
    "BuildguardError",
    "BundleManifest",
    "CheckFailed",
    "DigestMismatch",
    "FileEntry",
    "Finding",
    "HostileImage",
    "ImageReadError",
    "InspectReport",
    "MarkFailed",
    "Record",
    "RecordReadError",
    "RunResult",
    "SealRefused",
    "UsageError",
    "VerifyReport",
    "__version__",
    "inspect",
    "load_record",
    "mark_build",
    "mark_verified",
    "record",
    "run",
    "seal",
    "verify",
    "verify_build",
]
