"""A repository of a few files on disk, linted through the public ``buildguard.lint``."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import buildguard
from buildguard.models import LintFinding


def make_repo(root: Path, files: Mapping[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def lint_repo(
    root: Path, files: Mapping[str, str], *, api_prefixes: Sequence[str] = ()
) -> list[LintFinding]:
    make_repo(root, files)
    report = buildguard.lint([root], api_prefixes=api_prefixes)
    return list(report.findings)


def rule_ids(findings: Sequence[LintFinding], prefix: str = "BG-") -> list[str]:
    return sorted(f.rule for f in findings if f.rule.startswith(prefix))
