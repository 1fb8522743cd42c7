"""verify's text report stays readable (issue 20): at most 10 findings of one code per
bundle, then one line counting the rest; a bundle of another build starts with whose it is
and how old. The JSON report and the JUnit file keep every finding."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
from test_checks import LAYERS, SOURCE, STARTED, Entry, sealed

from buildguard._checks.checks import ResolvedExpectations, check_image
from buildguard._formats.jsonreport import report_json
from buildguard._formats.junit import write_junit
from buildguard._formats.text import render_verify
from buildguard.models import Expected, ImageInfo, VerifyReport, VerifyStats

THIS_BUILD = "build-now"


def stale_report(files: int, *, record: bool = True, build_id: str = "build-old") -> VerifyReport:
    """What verify reports on a bundle of ``files`` files sealed 3 h 05 min before this
    build's record by ``build_id``, every file stale."""
    old = STARTED - timedelta(hours=3, minutes=6)
    content = {f"assets/chunk-{i:04d}.js": f"chunk {i}".encode() for i in range(files)}
    tree, raw, _ = sealed(content, build_id=build_id, commit="c0", at=old)
    expect = ResolvedExpectations(THIS_BUILD, "c1", "sha256:" + "b" * 64, STARTED)
    bundles, findings, compared = check_image(tree, raw, LAYERS, expect)
    return VerifyReport(
        ok=not any(f.severity == "error" for f in findings),
        image=ImageInfo(reference="127.0.0.1:5000/app:stale", digest="sha256:" + "d" * 64),
        expected=Expected(
            build_id=THIS_BUILD,
            commit="c1",
            source_digest="sha256:" + "b" * 64,
            record=".buildguard/record.json" if record else None,
            record_started_at=STARTED if record else None,
        ),
        bundles=tuple(bundles),
        findings=tuple(findings),
        layers=tuple(LAYERS),
        stats=VerifyStats(layers_read=2, bytes_read=100, files_compared=compared, seconds=0.1),
    )


def text(report: VerifyReport) -> str:
    stream = io.StringIO()
    render_verify(report, stream)
    return stream.getvalue()


def test_a_300_file_stale_bundle_prints_a_bounded_report_led_by_whose_bundle_it_is(
    tmp_path: Path,
) -> None:
    report = stale_report(300)
    stale = [f for f in report.findings if f.code == "FILE_STALE"]
    assert len(stale) == 300
    lines = text(report).splitlines()
    assert len(lines) < 40, "\n".join(lines)
    header = next(i for i, line in enumerate(lines) if line.startswith("bundle /app/dist"))
    assert lines[header + 1] == (
        "  this bundle is build build-old's, not this build's (build-now), "
        "sealed 3 h 05 min before this build's record"
    )
    assert sum("FILE_STALE:" in line for line in lines) == 10
    assert "  … and 290 more FILE_STALE (every finding is in --json)" in lines
    for code in ("BUILD_ID_MISMATCH", "COMMIT_MISMATCH", "SOURCE_MISMATCH"):
        assert sum(f"{code}:" in line for line in lines) == 1
    # the machine-readable reports keep every finding
    document = json.loads(report_json(report))
    assert sum(f["code"] == "FILE_STALE" for f in document["findings"]) == 300
    junit = tmp_path / "junit.xml"
    write_junit(report, junit)
    assert ET.parse(junit).getroot().get("failures") not in (None, "0")
    assert junit.read_text().count("FILE_STALE") >= 300


@pytest.mark.parametrize(("files", "more"), [(9, None), (10, None), (11, 1), (12, 2)])
def test_the_count_line_appears_only_past_ten(files: int, more: int | None) -> None:
    lines = text(stale_report(files)).splitlines()
    assert sum("FILE_STALE:" in line for line in lines) == min(files, 10)
    counted = [line for line in lines if line.startswith("  … and ")]
    assert counted == (
        [] if more is None else [f"  … and {more} more FILE_STALE (every finding is in --json)"]
    )


def test_whose_bundle_without_a_record_gives_the_sealing_time() -> None:
    lines = text(stale_report(2, record=False)).splitlines()
    assert (
        "  this bundle is build build-old's, not this build's (build-now), "
        "sealed 2026-11-27T08:55:00Z" in lines
    )


def test_this_builds_bundle_has_no_whose_line_and_is_not_truncated_below_the_bound() -> None:
    report = stale_report(12, build_id=THIS_BUILD)
    output = text(report)
    assert "this bundle is build" not in output


def test_each_code_is_bounded_on_its_own_in_each_bundle() -> None:
    tree, raw, _ = sealed({f"f{i:02d}.js": b"x" for i in range(12)})
    for i in range(15):
        tree[f"/app/dist/extra-{i:02d}.js"] = Entry("file", 1, "e" * 64, 0, 1)
    for i in range(12):
        tree[f"/app/dist/f{i:02d}.js"] = Entry("file", 1, "c" * 64, 0, 1)
    expect = ResolvedExpectations(THIS_BUILD, "c1", SOURCE, STARTED)
    bundles, findings, compared = check_image(tree, raw, LAYERS, expect)
    report = VerifyReport(
        ok=False,
        image=ImageInfo(reference="oci-layout:x", digest=None),
        expected=Expected(build_id=THIS_BUILD, commit="c1", source_digest=SOURCE),
        bundles=tuple(bundles),
        findings=tuple(findings),
        stats=VerifyStats(layers_read=1, bytes_read=1, files_compared=compared, seconds=0),
    )
    lines = text(report).splitlines()
    assert sum("FILE_EXTRA:" in line for line in lines) == 10
    assert sum("FILE_CHANGED:" in line for line in lines) == 10
    assert "  … and 5 more FILE_EXTRA (every finding is in --json)" in lines
    assert "  … and 2 more FILE_CHANGED (every finding is in --json)" in lines
