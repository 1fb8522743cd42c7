"""Real-world shapes for ``buildguard lint``: each folder of tests/lint_corpus is a minimal
repository written for buildguard, modelled on a public file (its ``case.toml`` names the
source as ``owner/repo@commit:path``; the text is ours, only the facts carry over). The
expected verdicts come from DESIGN.md "Pipeline lint", not from the implementation.

Most cases are clean real setups (multi-stage builds, FQDN upstreams, GCE ``/*`` paths,
templates only a deploy step fills): they measure false positives. The others are real
instances of the incident's causes (a repeated ``/api/v1`` segment, a .gcloudignore that
uploads a local ``dist/``, short service names, ``:latest`` deploys).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from lintcontract import PARSE_RULE, RULE_SEVERITY, has_lint, run_lint

CORPUS = Path(__file__).resolve().parent / "lint_corpus"
SOURCE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+@[0-9a-f]{40}:[^\s:][^:]*$")
# DESIGN's file kinds (LintFileKind)
KINDS = frozenset(
    {
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
    }
)
PIPELINE_KINDS = frozenset({"cloudbuild", "github-actions"})
KNOWN_RULES = frozenset(RULE_SEVERITY) | {PARSE_RULE}


@dataclass(frozen=True)
class Case:
    name: str
    root: Path
    source: str
    also: tuple[str, ...]
    kind: str
    expect: frozenset[str]
    note: str

    @property
    def clean(self) -> bool:
        return not self.expect


def load(root: Path) -> Case:
    data = tomllib.loads((root / "case.toml").read_text())
    assert set(data) <= {"source", "also", "kind", "expect", "note"}, (root.name, set(data))
    return Case(
        name=root.name,
        root=root,
        source=data["source"],
        also=tuple(data.get("also", ())),
        kind=data["kind"],
        expect=frozenset(data["expect"]),
        note=data["note"],
    )


CASES = [load(toml.parent) for toml in sorted(CORPUS.glob("*/case.toml"))]
needs_lint = pytest.mark.skipif(
    not has_lint(), reason="buildguard.lint is not on this branch yet (issue 21, lint21a/b)"
)


def describe(report: object) -> str:
    return "\n".join(
        f"{f.rule} {f.severity} {f.path}:{f.line} {f.message}"
        for f in report.findings  # type: ignore[attr-defined]
    )


# ------------------------------------------------------------------ the corpus itself


def test_the_corpus_is_big_and_mostly_clean() -> None:
    assert len(CASES) >= 30
    clean = [c for c in CASES if c.clean]
    assert len(clean) >= len(CASES) // 2  # the false-positive check needs most of them
    assert len(CASES) - len(clean) >= 8  # and real instances of the causes
    # one real repository file a case (several cases may share a repository)
    assert len({c.source for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_toml_names_a_source_a_kind_and_contract_rules(case: Case) -> None:
    assert SOURCE.match(case.source), case.source
    for other in case.also:
        assert SOURCE.match(other), other
    assert case.kind in KINDS
    assert case.expect <= KNOWN_RULES, case.expect - KNOWN_RULES
    assert len(case.note) > 80  # what the case is and why the verdict holds
    files = [p for p in case.root.rglob("*") if p.is_file() and p.name != "case.toml"]
    assert files, "a case is a repository root with at least one file"


# ------------------------------------------------------------------ the verdicts


@needs_lint
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_verdict(case: Case) -> None:
    report = run_lint([case.root])
    assert {f.rule for f in report.findings} == set(case.expect), describe(report)
    kinds = {f.kind for f in report.files}
    assert case.kind in kinds, (case.kind, kinds)
    for finding in report.findings:
        wanted = RULE_SEVERITY.get(finding.rule, "warning")
        if finding.rule == "BG-DF001" and not kinds & PIPELINE_KINDS:
            wanted = "warning"  # "needs a producer step": no pipeline file was given
        assert finding.severity == wanted, describe(report)
        assert finding.line >= 1 and finding.hint, finding
    errors = {f.rule for f in report.findings if f.severity == "error"}
    assert report.ok is (not errors)


@needs_lint
def test_false_positive_rate_on_clean_cases(capsys: pytest.CaptureFixture[str]) -> None:
    """The clean cases are real setups that work: any error there is a false positive
    (target: none); warnings are counted and shown too."""
    clean = [c for c in CASES if c.clean]
    with_errors: dict[str, list[str]] = {}
    with_warnings: dict[str, list[str]] = {}
    for case in clean:
        report = run_lint([case.root])
        for finding in report.findings:
            target = with_errors if finding.severity == "error" else with_warnings
            target.setdefault(case.name, []).append(f"{finding.rule} {finding.path}")
    with capsys.disabled():
        print(
            f"\nlint corpus: {len(clean)} clean cases; false positives at error level: "
            f"{len(with_errors)}/{len(clean)} = {len(with_errors) / len(clean):.1%}; "
            f"with any warning: {len(with_warnings)}/{len(clean)}"
        )
        for name, found in sorted((with_errors | with_warnings).items()):
            print(f"  {name}: {', '.join(found)}")
    assert with_errors == {}
