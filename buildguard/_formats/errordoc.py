"""The error document (exit 2, 3 and 4) in every form a report takes: the JSON of ``--json``
and ``--report``, a JUnit suite with one test case in ``<error>`` for ``--junit``, and the
SARIF invocation of a run that could not finish (``executionSuccessful: false``, the error as
a tool notification).

Every file goes through :func:`buildguard._internal.files.atomic_write`, every document
through :mod:`buildguard._internal.redact`: an error message may quote a flag's value or a
URL, and no credential reaches a report.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from typing import Any

from buildguard._formats.jsonreport import report_json
from buildguard._internal.files import atomic_write
from buildguard._internal.redact import scrub, scrub_tree
from buildguard._models.errorreport import KIND_OF_EXIT, ErrorInfo, ErrorReport

_CASE_NAMES = {
    "usage": "command line and settings",
    "unreadable": "read the input",
    "internal": "buildguard itself",
}


def error_report(exit_code: int, message: str, hint: str | None = None) -> ErrorReport:
    """The document of a command that ends with ``exit_code`` (2, 3 or 4), its message and
    hint redacted."""
    kind = KIND_OF_EXIT.get(exit_code)
    if kind is None:
        raise ValueError(f"no error document for exit code {exit_code}")
    return ErrorReport(
        error=ErrorInfo(
            kind=kind,
            exit_code=exit_code,
            message=scrub(message),
            hint=None if hint is None else scrub(hint),
        )
    )


def error_json(report: ErrorReport) -> str:
    """The JSON document of ``--json`` and ``--report`` (ends with a newline)."""
    return report_json(report)


def error_junit(report: ErrorReport, suite_name: str) -> bytes:
    """``--junit``: one suite named ``suite_name``, one test case in ``<error>`` (JUnit's
    word for a test that could not run, as against a ``<failure>``)."""
    error = report.error
    suites = ET.Element("testsuites", name=suite_name, tests="1", failures="0", errors="1")
    suite = ET.SubElement(suites, "testsuite", name=suite_name, tests="1", failures="0", errors="1")
    case = ET.SubElement(suite, "testcase", classname=suite_name, name=_CASE_NAMES[error.kind])
    element = ET.SubElement(case, "error", message=error.message, type=error.kind)
    element.text = error.message + (f"\nhint: {error.hint}" if error.hint else "")
    scrub_tree(suites)
    ET.indent(suites)
    text: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return text


def write_error_junit(report: ErrorReport, path: str | os.PathLike[str], suite_name: str) -> None:
    """``--junit FILE``: :func:`error_junit`, written atomically."""
    atomic_write(path, error_junit(report, suite_name))


def sarif_invocation(report: ErrorReport) -> dict[str, Any]:
    """A SARIF 2.1.0 ``invocation`` for a run that could not finish: the error as a tool
    execution notification (the log around it is :func:`buildguard._formats.sarif.sarif_error_json`,
    for ``lint --format sarif``)."""
    error = report.error
    text = error.message + (f" (hint: {error.hint})" if error.hint else "")
    return {
        "executionSuccessful": False,
        "exitCode": error.exit_code,
        "toolExecutionNotifications": [
            {
                "level": "error",
                "descriptor": {"id": error.kind},
                "message": {"text": scrub(text)},
            }
        ],
    }
