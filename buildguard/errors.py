"""Typed errors. Every error buildguard raises derives from :class:`BuildguardError`.

Each class carries the exit code the CLI maps it to, and every message says what
happened and what to do about it. Messages never contain credentials.
"""

from __future__ import annotations

from collections.abc import Sequence


class BuildguardError(Exception):
    """Base class of every error buildguard raises on purpose."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  hint: {hint}")


class UsageError(BuildguardError):
    """Bad flag, bad value, unreadable record, no build id anywhere (exit 2)."""

    exit_code = 2


class RecordReadError(UsageError):
    """A record file that is missing, unreadable or not a valid record (exit 2)."""


class MissingExtra(UsageError):
    """A feature needs an optional extra that is not installed, e.g. ``[gcp]`` (exit 2)."""


class RecordConflict(UsageError):
    """Records that cannot all be this build's (exit 2): the default record of another
    commit than this checkout's, records of different builds given together, or a record of
    the same build made for another source folder about to be overwritten."""


class CheckFailed(BuildguardError):
    """A check did not hold (exit 1). Carries the individual problems found."""

    exit_code = 1

    def __init__(
        self, message: str, problems: Sequence[str] = (), *, hint: str | None = None
    ) -> None:
        self.problems = tuple(problems)
        super().__init__(message, hint=hint)


class SealRefused(CheckFailed):
    """``seal`` refused the bundle; no manifest was written (exit 1)."""


class ImageReadError(BuildguardError):
    """The image or its source could not be read: network, auth, not found, corrupt (exit 3)."""

    exit_code = 3


class DigestMismatch(ImageReadError):
    """A blob's bytes do not match the digest that names it: corrupt or tampered (exit 3)."""


class HostileImage(ImageReadError):
    """A layer holds an entry that would escape the image root or is malformed (exit 3)."""


class SiteReadError(BuildguardError):
    """The site could not be read: unreachable, timed out, TLS, a redirect loop (exit 3)."""

    exit_code = 3


class DocumentRefused(HostileImage):
    """An image document (manifest, index, config, ``manifest.json``) that the runtime's Go
    decoder could read differently from buildguard: refused rather than guessed (exit 3)."""
