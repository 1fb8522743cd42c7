"""The ``lint`` report: the files lint read and what it found in them.

Defined apart from ``buildguard.models`` (which re-exports it, for the schema export) with
the conventions of the other reports: frozen, ``extra="forbid"``, a ``schema_version``, and
``ok`` false when a finding is at or above the ``fail_on`` level lint was run with.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from buildguard._internal.modeltypes import FrozenModel

LintSeverity = Literal["error", "warning"]
"""Of a lint finding: a rule's default, or what a finding says for itself."""

LintFileKind = Literal[
    "cloudbuild",
    "github-actions",
    "dockerfile",
    "dockerignore",
    "gcloudignore",
    "gitignore",
    "nginx",
    "kubernetes",
    "package-json",
    "vite-config",
    "angular-json",
    "env-file",
    "source",
    "bundle",
]
"""What lint read a file as."""


class LintFinding(FrozenModel):
    """One thing a lint rule found, at a place in one file."""

    rule: str = Field(description="The rule's stable id, e.g. BG-DF001 (BG-PARSE: unreadable).")
    severity: LintSeverity
    path: str = Field(description="The file, relative to the folder given to lint (posix).")
    line: int = Field(ge=1, description="1-based line of the file.")
    column: int | None = Field(default=None, ge=1, description="1-based column, where known.")
    message: str = Field(description="What and why; cross-file rules name both files.")
    hint: str = Field(description="The fix, in one sentence.")


class LintFile(FrozenModel):
    """A file lint read, and as what."""

    path: str
    kind: LintFileKind


class LintReport(FrozenModel):
    """What ``buildguard lint`` read and found."""

    schema_version: Literal[1] = 1
    ok: bool = Field(description="False when a finding is at or above the --fail-on level.")
    files: tuple[LintFile, ...]
    findings: tuple[LintFinding, ...]
