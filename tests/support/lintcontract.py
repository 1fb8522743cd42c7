"""DESIGN.md "Pipeline lint" as data for the tests that pin lint's verdicts (the incident
examples and the real-world corpus): the rule ids with their default severities, and the
one way those tests reach ``buildguard.lint``.

The expectations are written from the contract, not from the implementation; while the
implementation (issue 21, lint21a/lint21b) is not on a branch, the tests that run it skip
with that reason, and the checks of the expectations themselves still run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import pytest

import buildguard

# DESIGN.md's rule table: id -> default severity
RULE_SEVERITY: dict[str, str] = {
    "BG-DF001": "error",
    "BG-CB001": "error",
    "BG-CB002": "warning",
    "BG-CB003": "error",
    "BG-IGN001": "error",
    "BG-IGN002": "error",
    "BG-NG001": "error",
    "BG-NG002": "warning",
    "BG-NG003": "warning",
    "BG-NG004": "error",
    "BG-IN001": "error",
    "BG-IN002": "error",
    "BG-IN003": "error",
    "BG-URL001": "error",
    "BG-URL002": "warning",
    "BG-K8S001": "warning",
}
# a file lint could not parse: a warning naming it, never a crash
PARSE_RULE = "BG-PARSE"

LINT_MISSING = (
    "buildguard.lint is not on this branch yet (issue 21: the framework and rules come from "
    "lint21a/lint21b; the lead merges them)"
)


def has_lint() -> bool:
    return "lint" in buildguard.__all__


def lint_function() -> Callable[..., Any]:
    """``buildguard.lint``, or a skip naming why it is absent (never an import error hidden
    as a skip: once the name is exported, a broken import fails)."""
    if not has_lint():
        pytest.skip(LINT_MISSING)
    name = "lint"  # looked up by name: mypy checks this file before and after the merge
    return cast(Callable[..., Any], getattr(buildguard, name))


def run_lint(paths: Sequence[Path], **options: Any) -> Any:
    return lint_function()(list(paths), **options)


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the one line of ``path`` holding ``needle``."""
    lines = [n for n, text in enumerate(path.read_text().splitlines(), 1) if needle in text]
    assert len(lines) == 1, (path, needle, lines)
    return lines[0]
