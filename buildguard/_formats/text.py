"""The human text of verify, inspect and verify-live reports (``verify --from-build``'s is in
:mod:`buildguard._formats.buildtext`). No logic decides anything here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from typing import TextIO

from buildguard._internal.timefmt import human_duration, rfc3339
from buildguard._internal.units import human_size
from buildguard._models.inspectreport import FileReport, InspectReport
from buildguard._models.livereport import LiveFinding, LiveReport
from buildguard.models import BundleResult, Finding, VerifyReport

MARKS = {"error": "FAIL", "warning": "WARN", "info": "info"}
"""How a finding of each severity is marked in text."""


def _finding_lines(finding: Finding) -> Iterable[str]:
    yield f"  {MARKS[finding.severity]} {finding.code}: {finding.message}"
    if finding.layer is not None and f"layer {finding.layer} (" not in finding.message:
        digest = (finding.layer_digest or "")[:19]
        step = f"  {finding.created_by.strip()}" if finding.created_by else ""
        yield f"       layer {finding.layer} {digest}{step}"
    if finding.hint:
        yield f"       hint: {finding.hint}"


SHOWN_PER_CODE = 10
"""A bundle's text shows this many findings of one code, then one line counting the rest
(``--json``, ``--report`` and ``--junit`` hold every finding)."""


def _bounded_lines(findings: Iterable[Finding]) -> Iterable[str]:
    """The lines of ``findings``, at most :data:`SHOWN_PER_CODE` of one code; where the
    next one of a code would be, one line says how many more there are."""
    items = list(findings)
    total = Counter(f.code for f in items)
    seen: Counter[str] = Counter()
    for finding in items:
        seen[finding.code] += 1
        if seen[finding.code] <= SHOWN_PER_CODE:
            yield from _finding_lines(finding)
        elif seen[finding.code] == SHOWN_PER_CODE + 1:
            more = total[finding.code] - SHOWN_PER_CODE
            yield f"  … and {more} more {finding.code} (every finding is in --json)"


def _whose_bundle(bundle: BundleResult, report: VerifyReport) -> str | None:
    """One line for a bundle another build sealed: whose it is and how old, against this
    build's record (or the sealing time, without a record)."""
    expected = report.expected.build_id
    if bundle.build_id is None or bundle.build_id == expected:
        return None
    line = f"  this bundle is build {bundle.build_id}'s, not this build's ({expected})"
    sealed, started = bundle.sealed_at, report.expected.record_started_at
    if sealed is None:
        return line
    if started is None:
        return f"{line}, sealed {rfc3339(sealed)}"
    relation = "before" if sealed <= started else "after"
    return f"{line}, sealed {human_duration(started - sealed)} {relation} this build's record"


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
        whose = _whose_bundle(bundle, report)
        if whose:
            out.write(whose + "\n")
        for line in _bounded_lines(groups.get((bundle.root, bundle.platform), [])):
            out.write(line + "\n")
    loose = [f for key, items in groups.items() if key not in roots for f in items]
    if loose:
        out.write("\nimage:\n")
        for line in _bounded_lines(loose):
            out.write(line + "\n")
    stats = report.stats
    out.write(
        f"\nchecked: {report.image.reference}"
        + (f" [{', '.join(report.image.platforms)}]" if report.image.platforms else "")
        + f", {stats.layers_read} layers read, {stats.layers_from_cache} from the cache "
        f"({human_size(stats.bytes_read)}), "
        f"{stats.files_compared} files compared, {stats.seconds:.1f} s\n"
    )


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
    cached = sum(layer.read_from == "cache" for layer in report.layers)
    out.write(f"\nlayers ({len(report.layers)} read, {cached} from the cache):\n")
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


def _line(finding: LiveFinding) -> str:
    line = f"  {MARKS[finding.severity]} {finding.code}: {finding.message}"
    if finding.hint:
        line += f"\n       hint: {finding.hint}"
    return line


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
        who = (
            f"this build {version.build_id}"
            if version.this_build
            else f"build {version.build_id}"
            if version.build_id
            else "unknown build"
        )
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
