"""Human and JUnit renderings of a :class:`LiveReport` (verify's conventions). No logic
decides anything here."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from typing import TextIO

from buildguard._internal.reports import write_junit
from buildguard._internal.units import human_size
from buildguard._live.report import LiveFinding, LiveReport

_CHECKS: dict[str, tuple[str, ...]] = {
    "build id": ("BUILD_ID_MISMATCH",),
    "entry page of this build": ("LIVE_STALE_ENTRY",),
    "entry page not cached": ("LIVE_ENTRY_CACHEABLE",),
    "files served": ("LIVE_MISSING", "LIVE_FALLBACK"),
    "files unchanged": ("LIVE_CHANGED",),
    "one version served": ("LIVE_MIXED",),
}
_MARK = {"error": "FAIL", "warning": "WARN", "info": "info"}


def _line(finding: LiveFinding) -> str:
    return f"  {_MARK[finding.severity]} {finding.code}: {finding.message}"


def render_live(report: LiveReport, out: TextIO) -> None:
    errors = [f for f in report.findings if f.severity == "error"]
    warnings = [f for f in report.findings if f.severity == "warning"]
    verdict = "PASS" if report.ok else "FAIL"
    exp = report.expected
    out.write(
        f"{verdict}: {report.url} against build {exp.build_id} ({exp.source})\n"
        f"  {len(errors)} error(s), {len(warnings)} warning(s), "
        f"{report.stats.files_compared} bundle file(s) compared\n"
    )
    if report.findings:
        out.write("\n")
        for finding in report.findings:
            out.write(_line(finding) + "\n")
    samples = sum(v.samples for v in report.served)
    out.write(f"\nentry page over {samples} sample(s):\n")
    for version in report.served:
        who = (f"this build {version.build_id}" if version.this_build else
               f"build {version.build_id}" if version.build_id else "unknown build")
        digest = f"sha256 {version.entry_sha256[:12]}…" if version.entry_sha256 else "no body"
        out.write(f"  HTTP {version.status} {who}: {version.samples} sample(s) ({digest})\n")
    out.write("\nfiles:\n")
    for asset in report.assets:
        mark = "ok  " if asset.ok else "FAIL"
        coding = f" {asset.content_encoding}" if asset.content_encoding else ""
        out.write(f"  {mark} {asset.status or '-'}{coding} {asset.path or '-'}  {asset.url}\n")
    stats = report.stats
    out.write(
        f"\nchecked: {report.url} (base {report.base}), {stats.requests} requests, "
        f"{human_size(stats.bytes_read)} read, {stats.attempts} attempt(s), {stats.seconds:.1f} s\n"
    )


def write_live_junit(report: LiveReport, path: str | os.PathLike[str]) -> None:
    """One test suite, one test case per check."""
    suites = ET.Element("testsuites", name="buildguard verify-live")
    name = f"{report.url} (build {report.expected.build_id})"
    suite = ET.SubElement(suites, "testsuite", name=name)
    failed = 0
    for check, codes in _CHECKS.items():
        case = ET.SubElement(suite, "testcase", classname=name, name=check)
        relevant = [f for f in report.findings if f.code in codes]
        errors = [f for f in relevant if f.severity == "error"]
        if errors:
            failed += 1
            failure = ET.SubElement(case, "failure", message=errors[0].message,
                                    type=errors[0].code)
            failure.text = "\n".join(f"{f.code} {f.path or f.url or ''}: {f.message}"
                                     for f in errors)
        others = [f for f in relevant if f.severity != "error"]
        if others:
            ET.SubElement(case, "system-out").text = "\n".join(
                f"{f.code}: {f.message}" for f in others
            )
    for element in (suite, suites):
        element.set("tests", str(len(_CHECKS)))
        element.set("failures", str(failed))
    write_junit(suites, path)
