"""What a lint rule is: an id, a default severity, help text, and a check over the workspace.

Rules live one family per module in ``rules/``; the linter applies suppressions and
``--disable`` centrally, so a rule only finds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from buildguard._lint.workspace import Workspace, WorkspaceFile
from buildguard._models.lintreport import LintFinding, LintSeverity


@dataclass(frozen=True)
class LintContext:
    """What the command line tells every rule."""

    api_prefixes: tuple[str, ...] = ()
    """``--api-prefix``: URL path prefixes the bundle calls."""


@dataclass(frozen=True)
class Rule:
    """One lint rule."""

    id: str
    """stable, e.g. ``BG-DF001``"""
    severity: LintSeverity
    """the default; a finding may say otherwise"""
    title: str
    """one line"""
    help: str
    """why it matters (the incident's cause it is) and the fix; SARIF's help text"""
    check: Callable[[Workspace, LintContext], Iterable[LintFinding]]


def finding(
    rule: Rule,
    file: WorkspaceFile | str,
    line: int,
    message: str,
    hint: str,
    *,
    column: int | None = None,
    severity: LintSeverity | None = None,
) -> LintFinding:
    """A finding of ``rule`` at ``line`` (1-based) of ``file``."""
    path = file.path if isinstance(file, WorkspaceFile) else file
    return LintFinding(
        rule=rule.id,
        severity=severity or rule.severity,
        path=path,
        line=max(1, line),
        column=column,
        message=message,
        hint=hint,
    )
