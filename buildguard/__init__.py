"""buildguard: make sure the image you ship holds the frontend bundle this build made.

The public API mirrors the commands and returns pydantic models; bad input and unreadable
images raise :class:`BuildguardError` subclasses. Names are imported on first use (PEP 562),
so ``import buildguard`` (and ``buildguard --version``) stays fast.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "BuildguardError": "buildguard.errors",
    "CheckFailed": "buildguard.errors",
    "DigestMismatch": "buildguard.errors",
    "HostileImage": "buildguard.errors",
    "ImageReadError": "buildguard.errors",
    "RecordReadError": "buildguard.errors",
    "SealRefused": "buildguard.errors",
    "SiteReadError": "buildguard.errors",
    "UsageError": "buildguard.errors",
    "InspectReport": "buildguard.image.report",
    "inspect": "buildguard.inspect",
    "BundleManifest": "buildguard.models",
    "FileEntry": "buildguard.models",
    "Finding": "buildguard.models",
    "Record": "buildguard.models",
    "VerifyReport": "buildguard.models",
    "load_record": "buildguard.recordfile",
    "record": "buildguard.record",
    "RunResult": "buildguard.run",
    "run": "buildguard.run",
    "seal": "buildguard.seal",
    "verify": "buildguard.verify",
    "LiveReport": "buildguard.live.report",
    "verify_live": "buildguard.live.verify",
    "BuildVerifyReport": "buildguard.buildreport",
    "mark_build": "buildguard.frombuild",
    "verify_build": "buildguard.frombuild",
    "MarkFailed": "buildguard.mark",
    "mark_verified": "buildguard.mark",
}

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
    "LiveReport",
    "MarkFailed",
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
    "mark_build",
    "mark_verified",
    "record",
    "run",
    "seal",
    "verify",
    "verify_build",
    "verify_live",
]

if TYPE_CHECKING:
    from buildguard.buildreport import BuildVerifyReport
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
    from buildguard.frombuild import mark_build, verify_build
    from buildguard.image.report import InspectReport
    from buildguard.inspect import inspect
    from buildguard.live.report import LiveReport
    from buildguard.live.verify import verify_live
    from buildguard.mark import MarkFailed, mark_verified
    from buildguard.models import BundleManifest, FileEntry, Finding, Record, VerifyReport
    from buildguard.record import record
    from buildguard.recordfile import load_record
    from buildguard.run import RunResult, run
    from buildguard.seal import seal
    from buildguard.verify import verify


_SHADOWED = frozenset({"inspect", "record", "run", "seal", "verify"})
"""Functions of the API named like the modules that define them."""


class _Package(types.ModuleType):
    """Keeps ``buildguard.verify`` (etc.) the function: importing the submodule of the same
    name would otherwise rebind the package attribute to the module."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return  # the module stays reachable through sys.modules
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'buildguard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
