"""The command line: parse, call the library, render, map errors to exit codes.

Exit codes: 0 all checks held; 1 a check failed; 2 usage or configuration error; 3 the
image or its source could not be read; 4 an internal error (a bug in buildguard: one line
by default, the traceback with ``-v``). ``run`` passes a failing build command's code
through. Each command family lives in its own module with a ``register(commands)``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from buildguard import __version__
from buildguard._cli import attest, build, errordocs, image, lintcommand, live
from buildguard._cli.common import ArgumentsRefused, Handler, Parser, verbosity_options
from buildguard._cli.logs import configure
from buildguard._internal.redact import remember_arguments, scrub
from buildguard.errors import BuildguardError, CheckFailed

EXIT_INTERNAL = 4
_COMMAND_MODULES = (build, image, live, lintcommand, attest)

logger = logging.getLogger("buildguard.cli")


def build_parser() -> Parser:
    parser = Parser(
        prog="buildguard",
        description="Make sure the image you ship holds the frontend bundle this build made.",
    )
    parser.add_argument("--version", action="version", version=f"buildguard {__version__}")
    verbosity_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for module in _COMMAND_MODULES:
        module.register(commands)
    parser.command_parsers = dict(commands.choices)
    return parser


def _render_error(error: BuildguardError) -> None:
    """The error on stderr, through :func:`scrub`: no credential the command was given, nor
    any URL user-info, whatever message a library error carries."""
    label = "check failed" if isinstance(error, CheckFailed) else "error"
    lines = [f"buildguard: {label}: {error.message}"]
    if isinstance(error, CheckFailed):
        lines.extend(f"  - {problem}" for problem in error.problems)
    if error.hint:
        lines.append(f"  hint: {error.hint}")
    sys.stderr.write(scrub("\n".join(lines)) + "\n")


def _render_internal(exc: BaseException, verbose: bool) -> tuple[str, str]:
    """The one line on stderr (after the traceback with ``-v``); returns the message and
    the hint of its error document."""
    if verbose:
        sys.stderr.write(scrub("".join(traceback.format_exception(exc))))
    text = " ".join(scrub(str(exc)).split())
    if len(text) > 200:
        text = text[:197] + "..."
    detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    how = "the traceback is above" if verbose else "run again with -v to see the traceback"
    message = f"internal error (a bug in buildguard, not a verdict): {detail}"
    print(f"buildguard: {message}; {how}, and please report it", file=sys.stderr)
    return message, "run again with -v to see the traceback, and please report it"


def _parse(parser: Parser, arguments: list[str]) -> argparse.Namespace:
    """Parse; when argparse refuses the command line (exit 2), the command's error document
    first, if it writes one."""
    try:
        return parser.parse_args(arguments)
    except ArgumentsRefused as refused:
        errordocs.emit_for_arguments(
            parser.command_parsers, arguments, refused.message, refused.hint
        )
        raise


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    remember_arguments(arguments)  # before parsing: an argparse error may echo any of them
    parser = build_parser()
    args = _parse(parser, arguments)
    level = configure(args.verbose)
    handler: Handler = args.handler
    try:
        return handler(args)
    except BuildguardError as error:
        logger.debug("%s raised %s", args.command, type(error).__name__)
        _render_error(error)
        errordocs.emit_for(args, error.exit_code, error.message, error.hint)
        return error.exit_code
    except KeyboardInterrupt:
        print("buildguard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (e.g. `| head`); say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:  # a bug: never a traceback by default, never exit 1
        verbose = args.verbose > 0 or (level or 100) <= logging.INFO
        message, hint = _render_internal(exc, verbose=verbose)
        errordocs.emit_for(args, EXIT_INTERNAL, message, hint)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
