"""A lint report as SARIF 2.1.0, for code scanning (GitHub, GitLab, IDEs).

One run; the driver lists every rule lint knows with its help text and default level;
each result names its rule by id and index, its file relative to ``%SRCROOT%`` (the lint
root) and its region, and carries a ``partialFingerprints`` entry that stays the same while
the finding does (rule, file and message; not the line, which moves with edits above it).
An error that stops lint is a run with ``executionSuccessful: false`` and the error as a
tool execution notification.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Protocol

from buildguard import __version__
from buildguard._internal.redact import scrub_json
from buildguard._models.errorreport import ErrorReport
from buildguard._models.lintreport import LintFinding, LintReport

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT = "buildguardFinding/v1"
SRCROOT = "%SRCROOT%"


class RuleInfo(Protocol):
    """What SARIF says of a rule (lint's ``Rule`` has these)."""

    @property
    def id(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def help(self) -> str: ...


def _driver(rules: Sequence[RuleInfo]) -> dict[str, Any]:
    return {
        "name": "buildguard",
        "semanticVersion": __version__,
        "version": __version__,
        "rules": [
            {
                "id": rule.id,
                "name": rule.id.replace("-", ""),
                "shortDescription": {"text": rule.title},
                "fullDescription": {"text": rule.help},
                "help": {"text": rule.help},
                "defaultConfiguration": {"level": rule.severity},
            }
            for rule in rules
        ],
    }


def fingerprint(finding: LintFinding) -> str:
    material = "\0".join((finding.rule, finding.path, finding.message))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _result(finding: LintFinding, index: dict[str, int]) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": finding.line}
    if finding.column is not None:
        region["startColumn"] = finding.column
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "level": finding.severity,
        "message": {"text": f"{finding.message}\nFix: {finding.hint}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding.path, "uriBaseId": SRCROOT},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT: fingerprint(finding)},
    }
    if finding.rule in index:
        result["ruleIndex"] = index[finding.rule]
    return result


def _log(run: dict[str, Any]) -> str:
    document = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    return scrub_json(json.dumps(document, indent=2) + "\n")


def sarif_json(report: LintReport, rules: Sequence[RuleInfo]) -> str:
    """The report as a SARIF 2.1.0 log (ends with a newline)."""
    index = {rule.id: i for i, rule in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {"driver": _driver(rules)},
        "invocations": [{"executionSuccessful": True}],
        "artifacts": [{"location": {"uri": f.path, "uriBaseId": SRCROOT}} for f in report.files],
        "results": [_result(f, index) for f in report.findings],
        "columnKind": "unicodeCodePoints",
    }
    return _log(run)


def sarif_error_json(rules: Sequence[RuleInfo], report: ErrorReport) -> str:
    """The SARIF log of a lint that could not finish (exit 2, 3 or 4): every rule, no
    results, and the error as the invocation's notification
    (:func:`buildguard._formats.errordoc.sarif_invocation`)."""
    from buildguard._formats.errordoc import sarif_invocation

    run: dict[str, Any] = {
        "tool": {"driver": _driver(rules)},
        "invocations": [sarif_invocation(report)],
        "results": [],
    }
    return _log(run)
