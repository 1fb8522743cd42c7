"""Errors are documents too: a command that ends in exit 2, 3 or 4 still prints its one JSON
document (``--json``) and writes its report files (``--report``, ``--junit``), holding the
error instead of a verdict, so that a CI dashboard shows why there is no verdict.

A command opts in with :func:`writes_error_documents` (``verify``, ``verify-live``,
``inspect`` with the standard ``--json``/``--report``/``--junit``; a command whose options
differ, such as ``lint --format json|sarif --output FILE``, passes its own ``outputs``
function). :func:`buildguard._cli.main` then calls :func:`emit_for` on every error, and
:func:`emit_for_arguments` when argparse refused the command line before there were
parsed options. A command that has already written its own report (a passing verify whose
``--mark-verified`` then failed) calls :func:`documents_written` and no error document
follows it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

_OUTPUTS = "error_outputs"
_WRITTEN = "_buildguard_documents_written"


class ErrorOutputs(NamedTuple):
    """Where a command's error document goes (a named tuple: the CLI starts without
    importing ``dataclasses``)."""

    suite: str
    """The JUnit suite's name, e.g. ``buildguard verify IMAGE``."""
    json: bool = False
    """Print the JSON document on stdout."""
    report: str | None = None
    """Write the JSON document to this file."""
    junit: str | None = None
    """Write a JUnit suite with one test case in ``<error>`` to this file."""
    sarif_stdout: bool = False
    """Print a SARIF log of the unfinished run on stdout (``lint --format sarif``)."""
    sarif: str | None = None
    """Write that SARIF log to this file (``lint --format sarif --output FILE``)."""


OutputsOf = Callable[[argparse.Namespace], ErrorOutputs]


def standard_outputs(command: str, *subjects: str, files: bool = True) -> OutputsOf:
    """The outputs of a command with ``--json`` and (with ``files``) ``--report FILE`` and
    ``--junit FILE`` (never read for a command without them, even when a refused command
    line names them); the suite is named after the command and the first of the
    ``subjects`` options that is set (the image, the URL, the build), shown through
    :func:`hide_userinfo` (a malformed reference may hide credentials that the last line of
    defence would not recognise)."""

    def outputs(args: argparse.Namespace) -> ErrorOutputs:
        from buildguard._internal.redact import hide_userinfo

        subject = next((str(v) for s in subjects if (v := getattr(args, s, None))), None)
        return ErrorOutputs(
            suite=f"buildguard {command}" + (f" {hide_userinfo(subject)}" if subject else ""),
            json=bool(getattr(args, "json", False)),
            report=getattr(args, "report", None) if files else None,
            junit=getattr(args, "junit", None) if files else None,
        )

    return outputs


def writes_error_documents(parser: argparse.ArgumentParser, outputs: OutputsOf) -> None:
    """Mark ``parser``'s command as one whose errors are documents too."""
    parser.set_defaults(**{_OUTPUTS: outputs})


def documents_written(args: argparse.Namespace) -> None:
    """The command has written its own report (stdout and files): an error raised after
    this adds no second document."""
    setattr(args, _WRITTEN, True)


def emit(outputs: ErrorOutputs, exit_code: int, message: str, hint: str | None) -> None:
    """Write the error document where ``outputs`` says. A file that cannot be written is a
    warning on stderr (the command's own error and exit code are the ones that count), and
    when nothing else goes to stdout, the JSON or SARIF document meant for that file goes
    there instead, so the CI log still holds it."""
    from buildguard._cli.common import warn
    from buildguard._formats.errordoc import error_json, error_report
    from buildguard._formats.junit import write_error_junit
    from buildguard._internal.files import atomic_write
    from buildguard.errors import BuildguardError

    if not (
        outputs.json or outputs.report or outputs.junit or outputs.sarif_stdout or outputs.sarif
    ):
        return
    report = error_report(exit_code, message, hint)
    sarif_text = _sarif(report) if outputs.sarif or outputs.sarif_stdout else ""
    json_text = error_json(report)
    # (file, bytes or a writer, the text for stdout should the file fail)
    writes: list[tuple[str, Callable[[], None], str]] = []
    if outputs.report:
        path = outputs.report
        writes.append((path, lambda: atomic_write(path, json_text.encode("utf-8")), json_text))
    if outputs.junit:
        junit = outputs.junit
        writes.append((junit, lambda: write_error_junit(report, junit, outputs.suite), ""))
    if outputs.sarif:
        sarif = outputs.sarif
        writes.append((sarif, lambda: atomic_write(sarif, sarif_text.encode("utf-8")), sarif_text))
    stdout = json_text if outputs.json else sarif_text if outputs.sarif_stdout else ""
    for path, write, instead in writes:
        try:
            write()
        except (BuildguardError, OSError) as exc:
            warn(f"could not write the error document to {path}: {exc}")
            stdout = stdout or instead
    sys.stdout.write(stdout)
    sys.stdout.flush()


def _sarif(report: Any) -> str:
    """lint's SARIF log of a run that could not finish, with every rule."""
    from buildguard._formats.sarif import sarif_error_json
    from buildguard._lint.linter import rules

    return sarif_error_json(rules(), report)


def emit_for(args: argparse.Namespace, exit_code: int, message: str, hint: str | None) -> None:
    """The error document of the command ``args`` ran, if it writes them and has not
    written its own report already."""
    outputs_of: OutputsOf | None = getattr(args, _OUTPUTS, None)
    if outputs_of is None or getattr(args, _WRITTEN, False) or exit_code not in (2, 3, 4):
        return
    emit(outputs_of(args), exit_code, message, hint)


class _Refused(Exception):
    pass


class _Lenient(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # silent: the real parser has said what is wrong
        raise _Refused(message)


def _lenient(arguments: Sequence[str]) -> argparse.Namespace | None:
    """The output options among arguments argparse refused, read leniently (unknown
    options ignored); ``None`` when even these cannot be read."""
    reader = _Lenient(add_help=False, allow_abbrev=False, exit_on_error=False)
    reader.add_argument("--json", action="store_true")
    reader.add_argument("--report")
    reader.add_argument("--junit")
    reader.add_argument("--format")
    reader.add_argument("--output")
    cut = list(arguments)
    if "--" in cut:
        cut = cut[: cut.index("--")]
    try:
        known, _ = reader.parse_known_args(cut)
    except (argparse.ArgumentError, _Refused):
        return None
    return known


def emit_for_arguments(
    commands: Mapping[str, argparse.ArgumentParser],
    arguments: Sequence[str],
    message: str,
    hint: str,
) -> None:
    """argparse refused ``arguments`` (exit 2): the error document of the command named
    among them, if it writes them, with its output options read leniently."""
    name = next((a for a in arguments if a in commands), None)
    if name is None:
        return
    outputs_of: OutputsOf | None = commands[name].get_default(_OUTPUTS)
    after = list(arguments)[list(arguments).index(name) + 1 :]
    known = _lenient(after)
    if outputs_of is None or known is None:
        return
    emit(outputs_of(known), 2, message, hint)
