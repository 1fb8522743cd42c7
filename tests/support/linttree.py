"""Write a repository of files for lint tests, and read a report's verdicts."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import buildguard
from buildguard.models import LintReport

VITE_PACKAGE = '{"scripts": {"build": "vite build", "dev": "vite"}}'


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    """``files`` (relative path → text, dedented) under ``root``; returns ``root``."""
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def lint_tree(root: Path, files: Mapping[str, str], **options: object) -> LintReport:
    write_tree(root, files)
    return buildguard.lint([root], **options)  # type: ignore[arg-type]


def rules_found(report: LintReport, *, rule: str | None = None) -> list[tuple[str, str, int]]:
    """(rule, path, line) of every finding, or of one rule's."""
    return [(f.rule, f.path, f.line) for f in report.findings if rule is None or f.rule == rule]
