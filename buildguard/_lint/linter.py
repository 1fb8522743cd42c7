"""Run every rule over the workspace; apply ``--disable`` and suppression comments.

A comment ``buildguard-lint: ignore RULE[, RULE...]`` (in any comment syntax: ``#``, ``//``,
``/* */``, ``<!-- -->``) on a finding's line or the line above silences those rules there.
A file a parser cannot read is one ``BG-PARSE`` warning at the line it names; a rule never
stops lint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from buildguard._lint.errors import ParseFailure
from buildguard._lint.rule import LintContext, Rule
from buildguard._lint.rules import ALL_RULES
from buildguard._lint.workspace import Workspace, discover
from buildguard._models.lintreport import LintFile, LintFinding, LintReport
from buildguard.errors import UsageError

FailOn = Literal["error", "warning", "never"]
FAIL_ON: tuple[FailOn, ...] = ("error", "warning", "never")


def _no_findings(workspace: Workspace, context: LintContext) -> Iterable[LintFinding]:
    return ()


PARSE_RULE = Rule(
    id="BG-PARSE",
    severity="warning",
    title="A file lint could not parse",
    help="lint could not read this file as its kind (YAML, a Dockerfile, an nginx config...), "
    "so no rule judged it. Fix the syntax the message names, or exclude the file with "
    "`--disable BG-PARSE` if it is not what its name says.",
    check=_no_findings,
)
"""Not a check: the linter's own warning for a file a parser refused."""

_SUPPRESS = re.compile(r"buildguard-lint\s*:\s*ignore\s+((?:BG-[A-Z0-9]+[\s,]*)+)", re.I)


def rules() -> tuple[Rule, ...]:
    """Every rule lint knows, BG-PARSE last."""
    return (*ALL_RULES, PARSE_RULE)


def _suppressed_on(line: str) -> set[str]:
    found: set[str] = set()
    for match in _SUPPRESS.finditer(line):
        found.update(r.upper() for r in re.findall(r"BG-[A-Z0-9]+", match.group(1), re.I))
    return found


def _is_suppressed(finding: LintFinding, workspace: Workspace) -> bool:
    file = workspace.get(finding.path)
    if file is None:
        return False
    lines = file.lines
    for number in (finding.line, finding.line - 1):
        if 1 <= number <= len(lines) and finding.rule in _suppressed_on(lines[number - 1]):
            return True
    return False


def _run(rule: Rule, workspace: Workspace, context: LintContext) -> list[LintFinding]:
    """The rule's findings; those before a ParseFailure it let escape are kept."""
    findings: list[LintFinding] = []
    try:
        findings.extend(rule.check(workspace, context))
    except ParseFailure as failure:
        workspace.record_failure(rule.id, failure)
    return findings


def _parse_findings(workspace: Workspace) -> list[LintFinding]:
    seen: set[tuple[str, int, str]] = set()
    findings = []
    for failure in workspace.parse_failures:
        key = (failure.path, failure.line, failure.message)
        if key in seen:
            continue
        seen.add(key)
        findings.append(
            LintFinding(
                rule=PARSE_RULE.id,
                severity="warning",
                path=failure.path,
                line=failure.line,
                message=f"cannot parse: {failure.message}; no rule judged this file",
                hint="fix the syntax at this line (or suppress BG-PARSE if it is not "
                "the kind of file its name says)",
            )
        )
    return findings


def fails(findings: Iterable[LintFinding], fail_on: FailOn) -> bool:
    """Whether any finding is at or above ``fail_on``."""
    if fail_on == "never":
        return False
    levels = {"error"} if fail_on == "error" else {"error", "warning"}
    return any(f.severity in levels for f in findings)


def lint_workspace(
    workspace: Workspace,
    *,
    disable: Sequence[str] = (),
    context: LintContext | None = None,
    fail_on: FailOn = "error",
) -> LintReport:
    """Run every rule not disabled over ``workspace``."""
    context = context or LintContext()
    off = {d.upper() for d in disable}
    findings: list[LintFinding] = []
    for rule in ALL_RULES:
        if rule.id not in off:
            findings.extend(_run(rule, workspace, context))
    if PARSE_RULE.id not in off:
        findings.extend(_parse_findings(workspace))
    kept = {f for f in findings if not _is_suppressed(f, workspace)}
    ordered = sorted(kept, key=lambda f: (f.path, f.line, f.column or 0, f.rule, f.message))
    files = sorted(
        {LintFile(path=f.path, kind=f.kind) for f in workspace.read_files()},
        key=lambda f: f.path,
    )
    return LintReport(ok=not fails(ordered, fail_on), files=tuple(files), findings=tuple(ordered))


def lint(
    paths: Sequence[str | Path] = (".",),
    *,
    disable: Sequence[str] = (),
    api_prefixes: Sequence[str] = (),
    fail_on: FailOn = "error",
) -> LintReport:
    """Lint the pipeline files under ``paths`` (folders or files; the one folder given is
    the repository root). Raises :class:`UsageError` for a missing path, an unknown rule
    id in ``disable``, or a bad ``fail_on``; findings are never exceptions."""
    if fail_on not in FAIL_ON:
        raise UsageError(f"lint: --fail-on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    known = {r.id for r in rules()}
    unknown = sorted({d for d in disable if d.upper() not in known})
    if unknown:
        raise UsageError(
            f"lint: unknown rule {', '.join(unknown)}",
            hint=f"the rules are {', '.join(sorted(known))}",
        )
    prefixes = tuple(api_prefixes)
    for prefix in prefixes:
        if not prefix.startswith("/"):
            raise UsageError(
                f"lint: --api-prefix {prefix!r} is not a URL path",
                hint="give the path prefix the bundle calls, e.g. /api/v5/",
            )
    workspace = discover([Path(p) for p in paths])
    return lint_workspace(
        workspace, disable=disable, context=LintContext(api_prefixes=prefixes), fail_on=fail_on
    )
