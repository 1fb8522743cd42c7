"""``verify-live``: after the deploy, check what the site serves against the sealed bundle."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from buildguard._cli.common import on_terminal, out, scrubbed, verbosity_options
from buildguard._cli.errordocs import standard_outputs, writes_error_documents


class WaitLines:
    """Progress while --wait retries: one rewritten line on a terminal, plain lines else."""

    def __init__(self) -> None:
        self.terminal = on_terminal()
        self.shown = False

    def __call__(self, status: Any) -> None:
        codes = ", ".join(
            f"{code} x{count}" if count > 1 else code for code, count in status.errors.items()
        )
        line = (
            f"verify-live: attempt {status.attempt} failed ({codes}); trying again in "
            f"{status.next_in:.0f} s ({status.remaining:.0f} s left)"
        )
        if self.terminal:
            sys.stderr.write(f"\r\033[K{line}")
            self.shown = True
        else:
            sys.stderr.write(f"buildguard: {line}\n")
        sys.stderr.flush()

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _cmd_verify_live(args: argparse.Namespace) -> int:
    from buildguard._formats.jsonreport import report_json, write_report
    from buildguard._formats.junit import write_live_junit
    from buildguard._formats.text import render_live
    from buildguard._image.options import ReadOptions
    from buildguard._live.options import parse_duration, parse_header
    from buildguard._live.siteoptions import SiteOptions
    from buildguard._live.verifier import verify_live

    headers = [parse_header(h) for h in args.header]
    wait = parse_duration(args.wait) if args.wait is not None else None
    progress = WaitLines()
    try:
        report = verify_live(
            args.url,
            manifest=args.manifest,
            image=args.image,
            dist=args.dist,
            expect_build_id=args.expect_build_id,
            options=ReadOptions(paths=[args.path] if args.path is not None else []),
            site_options=SiteOptions(
                base=args.base,
                allow_changed=args.allow_changed,
                samples=args.samples,
                wait=wait,
                headers=headers,
                insecure=args.insecure,
                progress=progress,
                api_prefixes=args.api_prefix,
            ),
        )
    finally:
        progress.clear()
    if args.report:
        write_report(report, args.report)
    if args.junit:
        write_live_junit(report, args.junit)
    with scrubbed(out(args)) as stream:
        render_live(report, stream)
    if args.json:
        sys.stdout.write(report_json(report))
    return 0 if report.ok else 1


def register(commands: Any) -> None:
    """Add ``verify-live`` to the sub-command parsers."""
    live = commands.add_parser(
        "verify-live", help="after the deploy: check that the site serves this build's bundle"
    )
    verbosity_options(live)
    live.add_argument("url", metavar="URL", help="the entry page users open")
    source = live.add_mutually_exclusive_group(required=True)
    source.add_argument("--manifest", metavar="FILE", help="the bundle's buildguard-manifest.json")
    source.add_argument(
        "--image",
        metavar="IMAGE",
        help="the image holding the sealed bundle (any form verify reads)",
    )
    source.add_argument("--dist", metavar="DIR", help="the sealed bundle folder")
    live.add_argument(
        "--path", metavar="DIR_IN_IMAGE", help="with --image: the bundle's folder in the image"
    )
    live.add_argument(
        "--expect-build-id", metavar="ID", help="default: $BUILD_ID, else the expected bundle's own"
    )
    live.add_argument(
        "--base",
        default="/",
        metavar="PATH",
        help="the bundle's public base (Vite's `base`; default /)",
    )
    live.add_argument(
        "--allow-changed",
        action="append",
        default=[],
        metavar="GLOB",
        help="files rewritten at start-up (e.g. index.html): served and "
        "referencing only this build, but their digest is not compared",
    )
    live.add_argument(
        "--samples",
        type=int,
        default=1,
        metavar="N",
        help="ask for the entry page N times over new connections (default 1)",
    )
    live.add_argument(
        "--wait",
        metavar="DURATION",
        help="keep trying with backoff until all samples match, e.g. 5m",
    )
    live.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'K: V'",
        help="send this header to the site's origin (never printed)",
    )
    live.add_argument(
        "--api-prefix",
        action="append",
        default=[],
        metavar="PREFIX",
        help="a URL path the bundle calls on this site (e.g. /api/v5/); an answer with the "
        "entry page is LIVE_API_FALLBACK. The same-origin API paths found in the served "
        "scripts are asked for too",
    )
    live.add_argument(
        "--insecure", action="store_true", help="do not verify the site's TLS certificate"
    )
    live.add_argument(
        "--json",
        action="store_true",
        help="print the report as JSON on stdout (human output to stderr)",
    )
    live.add_argument("--report", metavar="FILE", help="also write the JSON report here")
    live.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report here")
    live.set_defaults(handler=_cmd_verify_live)
    writes_error_documents(live, standard_outputs("verify-live", "url"))
