"""buildguard: make sure the image you ship holds the frontend bundle this build made.

The public API mirrors the commands and returns pydantic models; bad input and unreadable
images raise :class:`BuildguardError` subclasses. Names are imported on first use (PEP 562),
so ``import buildguard`` (and ``buildguard --version``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "BuildguardError": "buildguard.errors",
    "CheckFailed": "buildguard.errors",
    "DigestMismatch": "buildguard.errors",
    "HostileImage": "buildguard.errors",
    "ImageReadError": "buildguard.errors",
    "RecordConflict": "buildguard.errors",
    "RecordReadError": "buildguard.errors",
    "SealRefused": "buildguard.errors",
    "SiteReadError": "buildguard.errors",
    "UsageError": "buildguard.errors",
    "BuildVerifyReport": "buildguard.models",
    "BundleManifest": "buildguard.models",
    "FileEntry": "buildguard.models",
    "Finding": "buildguard.models",
    "InspectReport": "buildguard.models",
    "LiveReport": "buildguard.models",
    "Record": "buildguard.models",
    "VerifyReport": "buildguard.models",
    "inspect": "buildguard._inspect",
    "load_record": "buildguard._record.recordfile",
    "record": "buildguard._record.recorder",
    "RunResult": "buildguard._record.runner",
    "run": "buildguard._record.runner",
    "seal": "buildguard._record.sealer",
    "verify": "buildguard._verify.verifier",
    "mark_build": "buildguard._verify.frombuild",
    "verify_build": "buildguard._verify.frombuild",
    "MarkFailed": "buildguard._verify.mark",
    "mark_verified": "buildguard._verify.mark",
    "verify_live": "buildguard._live.verifier",
    "verify_attestation": "buildguard._attest.verifier",
    "AttestationReport": "buildguard.models",
    "lint": "buildguard._lint.linter",
    "LintReport": "buildguard.models",
    "ReadOptions": "buildguard._image.options",
    "Expectations": "buildguard._verify.expectations",
    "SiteOptions": "buildguard._live.siteoptions",
    "RecordOptions": "buildguard._record.options",
}
"""Where each public name is defined: the implementation modules are private (``_``-named)
and none is named like a public function, so importing one never rebinds a public name."""

__all__ = [
    "AttestationReport",
    "BuildVerifyReport",
    "BuildguardError",
    "BundleManifest",
    "CheckFailed",
    "DigestMismatch",
    "Expectations",
    "FileEntry",
    "Finding",
    "HostileImage",
    "ImageReadError",
    "InspectReport",
    "LintReport",
    "LiveReport",
    "MarkFailed",
    "ReadOptions",
    "Record",
    "RecordConflict",
    "RecordOptions",
    "RecordReadError",
    "RunResult",
    "SealRefused",
    "SiteOptions",
    "SiteReadError",
    "UsageError",
    "VerifyReport",
    "__version__",
    "inspect",
    "lint",
    "load_record",
    "mark_build",
    "mark_verified",
    "record",
    "run",
    "seal",
    "verify",
    "verify_attestation",
    "verify_build",
    "verify_live",
]

if TYPE_CHECKING:
    from buildguard._attest.verifier import verify_attestation
    from buildguard._image.options import ReadOptions
    from buildguard._inspect import inspect
    from buildguard._lint.linter import lint
    from buildguard._live.siteoptions import SiteOptions
    from buildguard._live.verifier import verify_live
    from buildguard._record.options import RecordOptions
    from buildguard._record.recorder import record
    from buildguard._record.recordfile import load_record
    from buildguard._record.runner import RunResult, run
    from buildguard._record.sealer import seal
    from buildguard._verify.expectations import Expectations
    from buildguard._verify.frombuild import mark_build, verify_build
    from buildguard._verify.mark import MarkFailed, mark_verified
    from buildguard._verify.verifier import verify
    from buildguard.errors import (
        BuildguardError,
        CheckFailed,
        DigestMismatch,
        HostileImage,
        ImageReadError,
        RecordConflict,
        RecordReadError,
        SealRefused,
        SiteReadError,
        UsageError,
    )
    from buildguard.models import (
        AttestationReport,
        BuildVerifyReport,
        BundleManifest,
        FileEntry,
        Finding,
        InspectReport,
        LintReport,
        LiveReport,
        Record,
        VerifyReport,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'buildguard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
