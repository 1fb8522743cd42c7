"""``lint``: read the pipeline's files and name the incident's causes before anything runs.

The chosen format goes to stdout, or to ``--output FILE``; the text goes to stdout when it
is the chosen format and nothing is written to a file, else to stderr. Exit 0 when no
finding is at or above ``--fail-on``, 1 otherwise, 2 usage, 4 internal.
"""

from __future__ import annotations

import argparse
import io
import sys
from typing import Any

from buildguard._cli.common import verbosity_options
from buildguard._cli.errordocs import ErrorOutputs, writes_error_documents
from buildguard._internal.redact import scrub

FORMATS = ("text", "json", "sarif")


def _error_outputs(args: argparse.Namespace) -> ErrorOutputs:
    """Where lint's error document goes (DESIGN, "Errors are documents too"): the chosen
    format's, to ``--output`` when given, else to stdout; the text format adds none (main()
    renders the error on stderr for every format)."""
    json_format, sarif_format = args.format == "json", args.format == "sarif"
    return ErrorOutputs(
        suite="buildguard lint",
        json=json_format and not args.output,
        report=args.output if json_format else None,
        sarif_stdout=sarif_format and not args.output,
        sarif=args.output if sarif_format else None,
    )


def _lint(args: argparse.Namespace) -> int:
    from buildguard._formats.jsonreport import report_json
    from buildguard._formats.linttext import render_lint
    from buildguard._formats.sarif import sarif_json
    from buildguard._internal.files import atomic_write
    from buildguard._lint.linter import lint, rules

    report = lint(
        args.paths,
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
    lint.set_defaults(handler=_lint)
    writes_error_documents(lint, _error_outputs)
