"""``verify --from-build`` and ``--mark-verified``: the options, the run and the output.

Kept beside ``image.py`` (whose ``verify`` calls in here) so the Cloud Build parts stay in
one place and the Google libraries are imported only when these options are used.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from buildguard._cli.common import allow_extra, out, read_options, scrubbed
from buildguard._cli.errordocs import documents_written
from buildguard.errors import UsageError

if TYPE_CHECKING:
    from buildguard.models import VerifyReport


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from-build",
        metavar="BUILD_ID",
        help="verify every image Cloud Build build BUILD_ID pushed, against it",
    )
    parser.add_argument(
        "--project",
        metavar="P",
        help="with --from-build (default: $PROJECT_ID, $GOOGLE_CLOUD_PROJECT, the ADC project)",
    )
    parser.add_argument(
        "--region",
        metavar="R",
        help="with --from-build: the build's region (default: $LOCATION, else global)",
    )
    parser.add_argument(
        "--mark-verified",
        metavar="TAG",
        help="after a passing verify, put TAG on the verified digest",
    )


def check_options(args: argparse.Namespace) -> None:
    """Usage errors (exit 2) before anything is read."""
    if not args.image and not args.from_build and args.allow_extra:
        last = args.allow_extra[-1]
        if isinstance(last, str):
            raise UsageError(
                f"verify needs IMAGE: --allow-extra took {last!r} as its GLOB",
                hint=f"put IMAGE before --allow-extra (verify {last} --allow-extra), or "
                "write the glob as --allow-extra=GLOB",
            )
    if bool(args.image) == bool(args.from_build):
        raise UsageError(
            "verify needs IMAGE or --from-build BUILD_ID (one of them)",
            hint="see `buildguard verify --help`",
        )
    if not args.from_build and (args.project or args.region):
        raise UsageError("--project and --region go with --from-build")
    if args.from_build and (args.expect_build_id or args.expect_commit):
        raise UsageError(
            "--from-build takes the build id and commit from the build; --expect-build-id "
            "and --expect-commit do not apply",
        )
    if args.mark_verified and args.image:
        from buildguard._verify.mark import require_registry_image

        require_registry_image(args.image)


def mark_single(args: argparse.Namespace, report: VerifyReport) -> None:
    """``--mark-verified`` after a passing single-image verify (MarkFailed: exit 3)."""
    from buildguard._image.options import ReadOptions
    from buildguard._verify.mark import mark_verified

    options = ReadOptions(insecure_registries=args.insecure_registry)
    mark = mark_verified(report, args.mark_verified, options=options)
    out(args).write(f"marked: {mark.target} -> {mark.digest} ({mark.via})\n")


def run_from_build(args: argparse.Namespace) -> int:
    from buildguard._formats.buildtext import render_build
    from buildguard._formats.jsonreport import report_json, write_report
    from buildguard._verify.expectations import Expectations
    from buildguard._verify.frombuild import mark_build, verify_build
    from buildguard._verify.mark import MarkFailed

    options = read_options(args)
    report = verify_build(
        args.from_build,
        project=args.project,
        region=args.region,
        expect=Expectations(records=tuple(args.record), allow_extra=allow_extra(args)),
        options=options,
    )
    failure: MarkFailed | None = None
    if args.mark_verified and report.ok:
        try:
            report = mark_build(report, args.mark_verified, options=options)
        except MarkFailed as failed:
            failure = failed
            report = failed.partial or report
    if args.report:
        write_report(report, args.report)
    if args.junit:
        from buildguard._formats.junit import write_build_junit

        write_build_junit(report, args.junit)
    with scrubbed(out(args)) as stream:
        render_build(report, stream)
    if args.json:
        sys.stdout.write(report_json(report))
    documents_written(args)
    if failure is not None:
        raise failure
    return report.exit_code
