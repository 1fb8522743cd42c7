"""``lint``: read the pipeline's files and name the incident's causes before anything runs.

The chosen format goes to stdout, or to ``--output FILE``; the text goes to stdout when it
is the chosen format and nothing is written to a file, else to stderr. Exit 0 when no
finding is at or above ``--fail-on``, 1 otherwise, 2 usage, 4 internal.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import Any

from buildguard._cli.common import verbosity_options
from buildguard._internal.redact import scrub
from buildguard.errors import BuildguardError

FORMATS = ("text", "json", "sarif")
EXIT_INTERNAL = 4
_KINDS = {2: "usage", 3: "unreadable", 4: "internal"}


def _error_document(
    args: argparse.Namespace, exit_code: int, message: str, hint: str | None
) -> None:
    """The one place lint renders an error (exit 2 or 4) as the chosen format's document
    (DESIGN, "Errors are documents too"): ``--format json`` the error document, ``--format
    sarif`` a run that did not succeed; written to ``--output`` when given (to stdout when
    that is what failed), else to stdout. The text format adds nothing: main() renders
    the error on stderr for every format."""
    from buildguard._formats.sarif import sarif_error_json
    from buildguard._internal.files import atomic_write
    from buildguard._internal.redact import scrub_json
    from buildguard._lint.linter import rules

    if args.format == "text":
        return
    if args.format == "sarif":
        text = sarif_error_json(rules(), exit_code=exit_code, message=message, hint=hint)
    else:
        error = {"kind": _KINDS.get(exit_code, "internal"), "exit_code": exit_code}
        error.update({"message": message, "hint": hint})
        document = {"schema_version": 1, "ok": False, "error": error}
        text = scrub_json(json.dumps(document, indent=2) + "\n")
    if args.output:
        try:
            atomic_write(args.output, text.encode("utf-8"))
            return
        except BuildguardError:
            pass  # --output itself is what failed: the document goes to stdout
    sys.stdout.write(text)


def _lint(args: argparse.Namespace) -> int:
    from buildguard._formats.jsonreport import report_json
    from buildguard._formats.linttext import render_lint
    from buildguard._formats.sarif import sarif_json
    from buildguard._internal.files import atomic_write
    from buildguard._lint.linter import lint, rules

    report = lint(
        args.paths or ["."],
        disable=args.disable,
        api_prefixes=args.api_prefix,
        fail_on=args.fail_on,
    )
    buffer = io.StringIO()
    render_lint(report, buffer)
    human = scrub(buffer.getvalue())
    if args.format == "json":
        document = report_json(report)
    elif args.format == "sarif":
        document = sarif_json(report, rules())
    else:
        document = human
    if args.output:
        atomic_write(args.output, document.encode("utf-8"))
        sys.stderr.write(human)
    else:
        sys.stdout.write(document)
        if args.format != "text":
            sys.stderr.write(human)
    return 0 if report.ok else 1


def _cmd_lint(args: argparse.Namespace) -> int:
    try:
        return _lint(args)
    except BuildguardError as error:
        _error_document(args, error.exit_code, error.message, error.hint)
        raise
    except Exception as exc:  # a bug: main() says so on stderr and exits 4
        _error_document(
            args, EXIT_INTERNAL, f"internal error (a bug in buildguard): {type(exc).__name__}", None
        )
        raise


def register(commands: Any) -> None:
    """Add ``lint`` to the sub-command parsers."""
    lint = commands.add_parser(
        "lint",
        help="before anything runs: find the pipeline's known failure causes in its files",
    )
    verbosity_options(lint)
    lint.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="the repository's root folder (default .), or files in it",
    )
    lint.add_argument("--format", choices=FORMATS, default="text", help="default text")
    lint.add_argument("--output", metavar="FILE", help="write the chosen format to FILE")
    lint.add_argument(
        "--fail-on",
        choices=("error", "warning", "never"),
        default="error",
        help="exit 1 when a finding is at or above this level (default error)",
    )
    lint.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="RULE",
        help="do not run RULE (repeatable), e.g. BG-CB002",
    )
    lint.add_argument(
        "--api-prefix",
        action="append",
        default=[],
        metavar="PREFIX",
        help="a URL path prefix the bundle calls (repeatable), e.g. /api/v5/",
    )
    lint.set_defaults(handler=_cmd_lint)
