"""``verify`` and ``inspect``: the commands that read an image."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from buildguard._cli import attest, frombuild
from buildguard._cli.common import (
    allow_extra_option,
    expectations,
    image_options,
    out,
    progress,
    read_options,
    scrubbed,
)
from buildguard._cli.errordocs import documents_written, standard_outputs, writes_error_documents


def _cmd_verify(args: argparse.Namespace) -> int:
    from buildguard._formats.jsonreport import report_json, write_report
    from buildguard._formats.junit import write_junit
    from buildguard._formats.text import render_verify
    from buildguard._verify.verifier import verify

    frombuild.check_options(args)
    signer = attest.prepare(args)  # a key that cannot be read: exit 2 before any read
    if args.from_build:
        return frombuild.run_from_build(args)
    with progress() as shown:
        report = verify(args.image, expectations(args), read_options(args, shown))
    if args.report:
        write_report(report, args.report)
    if args.junit:
        write_junit(report, args.junit)
    with scrubbed(out(args)) as stream:
        render_verify(report, stream)
    if args.json:
        sys.stdout.write(report_json(report))
    documents_written(args)
    if args.mark_verified and report.ok:
        frombuild.mark_single(args, report)
    if signer is not None and report.ok:
        attest.attest_single(args, report, signer)
    return 0 if report.ok else 1


def _cmd_inspect(args: argparse.Namespace) -> int:
    from buildguard._formats.inspectjson import write_json
    from buildguard._formats.text import render_inspect
    from buildguard._inspect import inspect_stream

    with progress() as shown:
        head, files = inspect_stream(args.image, read_options(args, shown))
    if args.json:
        documents_written(args)  # streamed: an error in the listing cannot undo its start
        write_json(head, files, sys.stdout)
    else:
        render_inspect(head, files, sys.stdout)
    return 0


def register(commands: Any) -> None:
    """Add ``verify`` and ``inspect`` to the sub-command parsers."""
    ver = commands.add_parser("verify", help="after the push: check the image's bundles")
    image_options(ver, optional=True)
    ver.add_argument("--expect-build-id", metavar="ID", help="default: $BUILD_ID, the record")
    ver.add_argument("--expect-commit", metavar="SHA", help="default: $COMMIT_SHA, the record")
    ver.add_argument(
        "--record",
        action="append",
        default=[],
        metavar="FILE",
        help="this build's record; repeat it for a monorepo, one per app (default: "
        ".buildguard/record.json if present and of this checkout's commit)",
    )
    ver.add_argument(
        "--platform",
        metavar="OS/ARCH|all",
        help="platform of an index to verify (default linux/amd64)",
    )
    allow_extra_option(ver)
    ver.add_argument("--report", metavar="FILE", help="also write the JSON report here")
    ver.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report here")
    frombuild.add_options(ver)
    attest.add_verify_options(ver)
    ver.set_defaults(handler=_cmd_verify)
    writes_error_documents(ver, standard_outputs("verify", "image", "from_build"))

    ins = commands.add_parser("inspect", help="show what an image holds, without judging")
    image_options(ins)
    ins.add_argument("--platform", metavar="OS/ARCH")
    ins.set_defaults(handler=_cmd_inspect)
    writes_error_documents(ins, standard_outputs("inspect", "image", files=False))
