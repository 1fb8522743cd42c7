"""The error document (exit 2, 3 and 4): the model with its message and hint redacted, the
JSON of ``--json`` and ``--report``, and the SARIF invocation of a run that could not finish
(``executionSuccessful: false``, the error as a tool notification). Its JUnit suite is
:func:`buildguard._formats.junit.error_junit` (the one JUnit writer), its SARIF log
:func:`buildguard._formats.sarif.sarif_error_json`.

Every document goes through :mod:`buildguard._internal.redact`: an error message may quote a
flag's value or a URL, and no credential reaches a report.
"""

from __future__ import annotations

from typing import Any

from buildguard._formats.jsonreport import report_json
from buildguard._internal.redact import scrub
from buildguard._models.errorreport import KIND_OF_EXIT, ErrorInfo, ErrorReport


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
