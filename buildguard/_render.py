"""Human and machine renderings of reports. No logic decides anything here."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import timedelta
from typing import TextIO

from buildguard._image.report import FileReport, InspectReport
from buildguard._internal.reports import write_junit as write_suites
from buildguard._internal.timefmt import human_duration
from buildguard._internal.units import human_size
from buildguard.models import BuildVerifyReport, Finding, VerifyReport

_CHECKS: dict[str, tuple[str, ...]] = {
    "manifest": ("NO_MANIFEST", "MANIFEST_INVALID", "NOTHING_CHECKED"),
    "build id": ("BUILD_ID_MISMATCH",),
    "commit": ("COMMIT_MISMATCH", "COMMIT_UNCHECKED"),
    "source digest": ("SOURCE_MISMATCH", "SOURCE_UNCHECKED"),
    "files present and unchanged": ("FILE_MISSING", "FILE_CHANGED", "FILE_MODE",
                                    "FILE_LINK_OUTSIDE", "FILE_STALE", "TIMESTAMPS_CLAMPED"),
    "no extra files": ("FILE_EXTRA",),
}


def _finding_lines(finding: Finding) -> Iterable[str]:
    mark = {"error": "FAIL", "warning": "WARN", "info": "info"}[finding.severity]
    yield f"  {mark} {finding.code}: {finding.message}"
    if finding.layer is not None and f"layer {finding.layer} (" not in finding.message:
        digest = (finding.layer_digest or "")[:19]
        step = f"  {finding.created_by.strip()}" if finding.created_by else ""
        yield f"       layer {finding.layer} {digest}{step}"


def render_verify(report: VerifyReport, out: TextIO) -> None:
    errors = [f for f in report.findings if f.severity == "error"]
    warnings = [f for f in report.findings if f.severity == "warning"]
    verdict = "PASS" if report.ok else "FAIL"
    digest = report.image.digest or "(no digest)"
    out.write(
        f"{verdict}: {report.image.reference} ({digest})\n"
        f"  {len(errors)} error(s), {len(warnings)} warning(s), "
        f"{len(report.bundles)} bundle(s) checked against build {report.expected.build_id}\n"
    )
    roots = {(b.root, b.platform) for b in report.bundles}
    groups: dict[tuple[str | None, str | None], list[Finding]] = {}
    for finding in report.findings:
        groups.setdefault((finding.bundle, finding.platform), []).append(finding)
    for bundle in report.bundles:
        state = "ok" if bundle.ok else "FAILED"
        platform = f" [{bundle.platform}]" if bundle.platform else ""
        out.write(
            f"\nbundle {bundle.root}{platform}: {state} (build {bundle.build_id or '?'}, "
            f"commit {bundle.commit or '?'}, {bundle.files_compared} files compared)\n"
        )
        for finding in groups.get((bundle.root, bundle.platform), []):
            for line in _finding_lines(finding):
                out.write(line + "\n")
    loose = [f for key, items in groups.items() if key not in roots for f in items]
    if loose:
        out.write("\nimage:\n")
        for finding in loose:
            for line in _finding_lines(finding):
                out.write(line + "\n")
    stats = report.stats
    out.write(
        f"\nchecked: {report.image.reference}"
        + (f" [{', '.join(report.image.platforms)}]" if report.image.platforms else "")
        + f", {stats.layers_read} layers read ({human_size(stats.bytes_read)}), "
        f"{stats.files_compared} files compared, {stats.seconds:.1f} s\n"
    )


def _add_suites(suites: ET.Element, report: VerifyReport, prefix: str = "") -> tuple[int, int]:
    """One test suite per bundle (and one for image-wide findings), one case per check;
    returns (tests, failures)."""
    keys: dict[tuple[str | None, str | None], None] = {
        (b.root, b.platform): None for b in report.bundles
    }
    for finding in report.findings:
        keys.setdefault((finding.bundle, finding.platform), None)
    total = failed = 0
    for root, platform in keys or {(None, None): None}:
        name = f"{prefix}{report.image.reference} {root or '(image)'}" + (
            f" [{platform}]" if platform else ""
        )
        suite = ET.SubElement(suites, "testsuite", name=name)
        mine = [f for f in report.findings if (f.bundle, f.platform) == (root, platform)]
        fails = 0
        for check, codes in _CHECKS.items():
            case = ET.SubElement(suite, "testcase", classname=name, name=check)
            relevant = [f for f in mine if f.code in codes]
            errors = [f for f in relevant if f.severity == "error"]
            if errors:
                fails += 1
                failure = ET.SubElement(
                    case, "failure", message=errors[0].message, type=errors[0].code
                )
                failure.text = "\n".join(f"{f.code} {f.path or ''}: {f.message}" for f in errors)
            others = [f for f in relevant if f.severity != "error"]
            if others:
                ET.SubElement(case, "system-out").text = "\n".join(
                    f"{f.code}: {f.message}" for f in others
                )
        suite.set("tests", str(len(_CHECKS)))
        suite.set("failures", str(fails))
        total += len(_CHECKS)
        failed += fails
    return total, failed


def _write_suites(
    suites: ET.Element, total: int, failed: int, path: str | os.PathLike[str]
) -> None:
    suites.set("tests", str(total))
    suites.set("failures", str(failed))
    write_suites(suites, path)


def write_junit(report: VerifyReport, path: str | os.PathLike[str]) -> None:
    """One test suite per bundle (and one for image-wide findings), one test case per check."""
    suites = ET.Element("testsuites", name="buildguard verify")
    _write_suites(suites, *_add_suites(suites, report), path)


def write_build_junit(report: BuildVerifyReport, path: str | os.PathLike[str]) -> None:
    """``verify --from-build``: the suites of every image verified, and one test case per
    image that could not be verified (or for a build that pushed none)."""
    suites = ET.Element("testsuites", name=f"buildguard verify --from-build {report.build.id}")
    total = failed = 0
    for image in report.images:
        if image.report is not None:
            tests, fails = _add_suites(suites, image.report, prefix=f"build {report.build.id}: ")
        else:
            name = f"build {report.build.id}: {image.reference}"
            suite = ET.SubElement(suites, "testsuite", name=name, tests="1", failures="1")
            case = ET.SubElement(suite, "testcase", classname=name, name="image read")
            ET.SubElement(case, "failure", message=image.error or "not verified",
                          type="IMAGE_NOT_VERIFIED").text = image.error
            tests, fails = 1, 1
        total += tests
        failed += fails
    if report.findings:
        name = f"build {report.build.id}"
        suite = ET.SubElement(suites, "testsuite", name=name, tests="1", failures="1")
        case = ET.SubElement(suite, "testcase", classname=name, name="images pushed")
        first = report.findings[0]
        ET.SubElement(case, "failure", message=first.message, type=first.code).text = (
            first.message)
        total += 1
        failed += 1
    _write_suites(suites, total, failed, path)


def render_inspect(report: InspectReport, files: Iterable[FileReport], out: TextIO) -> None:
    """The report (its ``files`` are ignored) with ``files`` listed as they come."""
    image = report.image
    out.write(
        f"image {image.reference}\n  digest:   {image.digest or '(none: legacy archive)'}\n"
        f"  config:   {image.config_digest}\n  platform: {image.platform}\n"
    )
    if report.index_entries:
        out.write(f"\nindex entries ({len(report.index_entries)}; * = the one read):\n")
        for item in report.index_entries:
            out.write(
                f"  {'*' if item.chosen else ' '} {item.index[:19]} [{item.position}] "
                f"{item.digest[:19]} {item.platform or '(no platform)':<20} {item.kind}"
                f"{'' if item.kind in ('image', 'index') else ' (never verified)'}\n"
            )
    out.write(f"\nlayers ({len(report.layers)}):\n")
    for layer in report.layers:
        step = (layer.created_by or "").strip()
        out.write(
            f"  {layer.index:>3} {layer.digest[:19]} {human_size(layer.size):>9} "
            f"{layer.compression:<4} {step[:100]}\n"
        )
    out.write(f"\nbuildguard manifests ({len(report.manifests)}):\n")
    for manifest in report.manifests:
        if manifest.error:
            out.write(f"  {manifest.path} (layer {manifest.layer}): INVALID, {manifest.error}\n")
        else:
            out.write(
                f"  {manifest.path} (layer {manifest.layer}): build {manifest.build_id}, "
                f"commit {manifest.commit or '(unknown)'}, recorded "
                f"{manifest.record_started_at}, sealed {manifest.sealed_at}\n"
            )
    out.write("\nfiles:\n")
    count = 0
    for entry in files:
        count += 1
        if entry.type == "dir":
            continue
        digest = entry.sha256[:12] if entry.sha256 else "-"
        target = f" -> {entry.link_target}" if entry.link_target else ""
        if entry.seconds_after_record is not None:
            offset = timedelta(seconds=entry.seconds_after_record)
            relation = "before" if entry.seconds_after_record < 0 else "after"
            target += f"  ({human_duration(offset)} {relation} its build's record)"
        out.write(
            f"  {entry.type:<8} {entry.size:>10} {digest:<12} "
            f"{entry.mtime.strftime('%Y-%m-%dT%H:%M:%SZ')} L{entry.layer:<3} "
            f"{entry.path}{target}\n"
        )
    out.write(f"({count} entries)\n")
