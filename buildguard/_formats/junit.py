"""JUnit XML: verify (one suite per bundle), ``verify --from-build`` (the suites of every
image) and verify-live (one suite), each check a test case; one writer for all of them,
atomic and redacted. No logic decides anything here."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from buildguard._internal.files import atomic_write
from buildguard._internal.redact import scrub_tree
from buildguard._models.errorreport import ErrorReport
from buildguard._models.livereport import LiveReport
from buildguard.models import BuildVerifyReport, VerifyReport

_VERIFY_CHECKS: dict[str, tuple[str, ...]] = {
    "manifest": ("NO_MANIFEST", "MANIFEST_INVALID", "NOTHING_CHECKED"),
    "build id": ("BUILD_ID_MISMATCH",),
    "commit": ("COMMIT_MISMATCH", "COMMIT_UNCHECKED"),
    "source digest": ("SOURCE_MISMATCH", "SOURCE_UNCHECKED"),
    "files present and unchanged": (
        "FILE_MISSING",
        "FILE_CHANGED",
        "FILE_MODE",
        "FILE_LINK_OUTSIDE",
        "FILE_STALE",
        "TIMESTAMPS_CLAMPED",
    ),
    "no extra files": ("FILE_EXTRA",),
}


_LIVE_CHECKS: dict[str, tuple[str, ...]] = {
    "build id": ("BUILD_ID_MISMATCH",),
    "entry page of this build": ("LIVE_STALE_ENTRY",),
    "entry page not cached": ("LIVE_ENTRY_CACHEABLE",),
    "files served": ("LIVE_MISSING", "LIVE_FALLBACK"),
    "files unchanged": ("LIVE_CHANGED",),
    "one version served": ("LIVE_MIXED",),
}


def _bytes(suites: ET.Element) -> bytes:
    """The ``<testsuites>`` tree redacted, indented, as an XML document."""
    scrub_tree(suites)
    ET.indent(suites)
    text: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return text


def _write(suites: ET.Element, total: int, failed: int, path: str | os.PathLike[str]) -> None:
    """``--junit FILE``: the ``<testsuites>`` tree with its counts, indented, redacted,
    written atomically."""
    suites.set("tests", str(total))
    suites.set("failures", str(failed))
    atomic_write(path, _bytes(suites))


class _Finding(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def message(self) -> str: ...


F = TypeVar("F", bound=_Finding)


def _suite(
    parent: ET.Element,
    name: str,
    checks: Mapping[str, tuple[str, ...]],
    findings: Sequence[F],
    where: Callable[[F], str],
) -> int:
    """One test suite ``name``, one test case per check (failed by its error findings, the
    others as its output); returns the failures."""
    suite = ET.SubElement(parent, "testsuite", name=name)
    failed = 0
    for check, codes in checks.items():
        case = ET.SubElement(suite, "testcase", classname=name, name=check)
        relevant = [f for f in findings if f.code in codes]
        errors = [f for f in relevant if f.severity == "error"]
        if errors:
            failed += 1
            failure = ET.SubElement(case, "failure", message=errors[0].message, type=errors[0].code)
            failure.text = "\n".join(f"{f.code} {where(f)}: {f.message}" for f in errors)
        others = [f for f in relevant if f.severity != "error"]
        if others:
            ET.SubElement(case, "system-out").text = "\n".join(
                f"{f.code}: {f.message}" for f in others
            )
    suite.set("tests", str(len(checks)))
    suite.set("failures", str(failed))
    return failed


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
        mine = [f for f in report.findings if (f.bundle, f.platform) == (root, platform)]
        failed += _suite(suites, name, _VERIFY_CHECKS, mine, lambda f: f.path or "")
        total += len(_VERIFY_CHECKS)
    return total, failed


def write_junit(report: VerifyReport, path: str | os.PathLike[str]) -> None:
    """One test suite per bundle (and one for image-wide findings), one test case per check."""
    suites = ET.Element("testsuites", name="buildguard verify")
    _write(suites, *_add_suites(suites, report), path)


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
            ET.SubElement(
                case, "failure", message=image.error or "not verified", type="IMAGE_NOT_VERIFIED"
            ).text = image.error
            tests, fails = 1, 1
        total += tests
        failed += fails
    if report.findings:
        name = f"build {report.build.id}"
        suite = ET.SubElement(suites, "testsuite", name=name, tests="1", failures="1")
        case = ET.SubElement(suite, "testcase", classname=name, name="images pushed")
        first = report.findings[0]
        ET.SubElement(case, "failure", message=first.message, type=first.code).text = first.message
        total += 1
        failed += 1
    _write(suites, total, failed, path)


def write_live_junit(report: LiveReport, path: str | os.PathLike[str]) -> None:
    """One test suite, one test case per check."""
    suites = ET.Element("testsuites", name="buildguard verify-live")
    name = f"{report.url} (build {report.expected.build_id})"
    failed = _suite(suites, name, _LIVE_CHECKS, report.findings, lambda f: f.path or f.url or "")
    _write(suites, len(_LIVE_CHECKS), failed, path)


_ERROR_CASE_NAMES = {
    "usage": "command line and settings",
    "unreadable": "read the input",
    "internal": "buildguard itself",
}
"""The one test case of an error document's suite, by the error's kind."""


def error_junit(report: ErrorReport, suite_name: str) -> bytes:
    """``--junit``: one suite named ``suite_name``, one test case in ``<error>`` (JUnit's
    word for a test that could not run, as against a ``<failure>``)."""
    error = report.error
    suites = ET.Element("testsuites", name=suite_name, tests="1", failures="0", errors="1")
    suite = ET.SubElement(suites, "testsuite", name=suite_name, tests="1", failures="0", errors="1")
    case = ET.SubElement(
        suite, "testcase", classname=suite_name, name=_ERROR_CASE_NAMES[error.kind]
    )
    element = ET.SubElement(case, "error", message=error.message, type=error.kind)
    element.text = error.message + (f"\nhint: {error.hint}" if error.hint else "")
    return _bytes(suites)


def write_error_junit(report: ErrorReport, path: str | os.PathLike[str], suite_name: str) -> None:
    """``--junit FILE``: :func:`error_junit`, written atomically."""
    atomic_write(path, error_junit(report, suite_name))
