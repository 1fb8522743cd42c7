"""The human text of a lint report: one block per finding, then a summary line."""

from __future__ import annotations

from typing import TextIO

from buildguard._models.lintreport import LintReport


def render_lint(report: LintReport, out: TextIO) -> None:
    for finding in report.findings:
        column = f":{finding.column}" if finding.column else ""
        out.write(
            f"{finding.path}:{finding.line}{column}: {finding.severity} "
            f"{finding.rule}: {finding.message}\n"
        )
        out.write(f"  hint: {finding.hint}\n")
    errors = sum(1 for f in report.findings if f.severity == "error")
    warnings = len(report.findings) - errors
    verdict = "PASS" if report.ok else "FAIL"
    out.write(
        f"{verdict}: lint read {len(report.files)} file(s): "
        f"{errors} error(s), {warnings} warning(s)\n"
    )
