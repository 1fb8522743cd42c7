"""The command line: parse, call the library, render, map errors to exit codes.

Exit codes: 0 all checks held; 1 a check failed; 2 usage or configuration error; 3 the
image or its source could not be read. ``run`` passes a failing build command's code through.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from buildguard import __version__
from buildguard.errors import BuildguardError, CheckFailed

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, but with a hint line on errors; still exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"buildguard: error: {message}\n  hint: see `{self.prog} --help`\n")


def _out(args: argparse.Namespace) -> TextIO:
    """Human output goes to stdout, or to stderr when stdout carries JSON."""
    return sys.stderr if getattr(args, "json", False) else sys.stdout


def _cmd_record(args: argparse.Namespace) -> int:
    from buildguard.record import record

    rec = record(
        args.source_dir,
        out=args.out,
        build_id=args.build_id,
        commit=args.commit,
        clean=args.clean,
        excludes=args.exclude,
        env_file=args.env_file,
    )
    for warning in rec.warnings:
        print(f"buildguard: warning: {warning}", file=sys.stderr)
    out = _out(args)
    print(
        f"recorded {len(rec.files)} source files of {rec.source_root}\n"
        f"  build id:      {rec.build_id}\n"
        f"  commit:        {rec.commit or '(unknown)'}\n"
        f"  source digest: {rec.source_digest}\n"
        f"  record:        {args.out}\n"
        f"  build env:     {args.env_file} (load it before the build: "
        f"set -a; . {args.env_file}; set +a)",
        file=out,
    )
    for folder in rec.cleaned:
        print(f"  cleaned:       {folder}", file=out)
    return 0


def _cmd_seal(args: argparse.Namespace) -> int:
    from buildguard.seal import seal

    manifest = seal(args.dist_dir, record=args.record, canary=not args.no_canary)
    evidence = (
        f"canary found in {', '.join(manifest.canary_files[:3])}"
        + (" ..." if len(manifest.canary_files) > 3 else "")
        if manifest.freshness == "canary"
        else "timestamps only (--no-canary)"
    )
    print(
        f"sealed {args.dist_dir}: {len(manifest.files)} files for build {manifest.build_id}\n"
        f"  freshness: {evidence}\n"
        f"  manifest:  {args.dist_dir.rstrip('/')}/buildguard-manifest.json",
        file=_out(args),
    )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from buildguard.run import run

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    result = run(command, source=args.source, dist=args.dist, canary=not args.no_canary)
    if result.manifest is None:
        code = result.returncode if result.returncode > 0 else 128 - result.returncode
        print(
            f"buildguard: the build command exited with {result.returncode}; nothing sealed",
            file=sys.stderr,
        )
        return code
    print(
        f"built and sealed {args.dist}: {len(result.manifest.files)} files for build "
        f"{result.manifest.build_id} ({result.manifest.freshness})",
        file=sys.stdout,
    )
    return 0


class _LayerProgress:
    """One self-rewriting status line on stderr, only when stdout is a terminal."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, number: int, total: int | None, digest: str, size: int) -> None:
        of = f"/{total}" if total else ""
        line = f"reading layer {number}{of} {digest[:19]} ({size / 1e6:.1f} MB)"
        sys.stderr.write(f"\r\033[K{line}")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


@contextlib.contextmanager
def _progress() -> Iterator[_LayerProgress | None]:
    """A progress line while the block runs, when stdout and stderr are terminals."""
    shown = _LayerProgress() if sys.stdout.isatty() and sys.stderr.isatty() else None
    try:
        yield shown
    finally:
        if shown is not None:
            shown.clear()


def _cmd_verify(args: argparse.Namespace) -> int:
    from buildguard._render import render_verify, write_junit
    from buildguard.verify import verify, write_report

    with _progress() as progress:
        report = verify(
            args.image,
            expect_build_id=args.expect_build_id,
            expect_commit=args.expect_commit,
            record=args.record,
            paths=args.path,
            platform=args.platform,
            allow_extra=args.allow_extra,
            insecure_registries=args.insecure_registry,
            progress=progress,
        )
    if args.report:
        write_report(report, args.report)
    if args.junit:
        write_junit(report, Path(args.junit))
    render_verify(report, _out(args))
    if args.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    return 0 if report.ok else 1


def _cmd_inspect(args: argparse.Namespace) -> int:
    from buildguard._render import render_inspect
    from buildguard.inspect import inspect

    with _progress() as progress:
        report = inspect(
            args.image,
            paths=args.path,
            platform=args.platform,
            insecure_registries=args.insecure_registry,
            progress=progress,
        )
    if args.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        render_inspect(report, sys.stdout)
    return 0


def _image_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE",
                        help="HOST[:PORT]/REPO[:TAG|@sha256:DIGEST], docker-archive:PATH, "
                        "oci-layout:DIR[:TAG] or docker-daemon:NAME[:TAG]")
    parser.add_argument("--path", action="append", default=[], metavar="DIR_IN_IMAGE")
    parser.add_argument("--insecure-registry", action="append", default=[], metavar="HOST",
                        help="use plain HTTP for HOST (loopback always does)")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON on stdout (human output to stderr)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="buildguard",
        description="Make sure the image you ship holds the frontend bundle this build made.",
    )
    parser.add_argument("--version", action="version", version=f"buildguard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    rec = commands.add_parser("record", help="before the build: hash sources, set the canary")
    rec.add_argument("source_dir", nargs="?", default=".", metavar="SOURCE_DIR")
    rec.add_argument("--out", default=".buildguard/record.json", metavar="FILE")
    rec.add_argument("--build-id", metavar="ID", help="default: $BUILD_ID")
    rec.add_argument("--commit", metavar="SHA", help="default: $COMMIT_SHA, then git HEAD")
    rec.add_argument(
        "--clean", action="append", default=[], metavar="DIR", help="remove old output first"
    )
    rec.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="gitignore pattern"
    )
    rec.add_argument("--env-file", default=".buildguard/build.env", metavar="FILE")
    rec.set_defaults(handler=_cmd_record)

    seal = commands.add_parser("seal", help="after the build: check freshness, write manifest")
    seal.add_argument("dist_dir", metavar="DIST_DIR")
    seal.add_argument("--record", default=".buildguard/record.json", metavar="FILE")
    canary = seal.add_mutually_exclusive_group()
    canary.add_argument(
        "--require-canary", action="store_true", help="the default: the bundle must hold it"
    )
    canary.add_argument(
        "--no-canary", action="store_true", help="seal on timestamps alone (weaker)"
    )
    seal.set_defaults(handler=_cmd_seal)

    run = commands.add_parser("run", help="record, run the build command, seal")
    run.add_argument("--source", default=".", metavar="DIR")
    run.add_argument("--dist", default="dist", metavar="DIR")
    run.add_argument("--no-canary", action="store_true")
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD [ARG...]")
    run.set_defaults(handler=_cmd_run)

    ver = commands.add_parser("verify", help="after the push: check the image's bundles")
    _image_options(ver)
    ver.add_argument("--expect-build-id", metavar="ID", help="default: $BUILD_ID, the record")
    ver.add_argument("--expect-commit", metavar="SHA", help="default: $COMMIT_SHA, the record")
    ver.add_argument("--record", metavar="FILE",
                     help="this build's record (default: .buildguard/record.json if present)")
    ver.add_argument("--platform", metavar="OS/ARCH|all",
                     help="platform of an index to verify (default linux/amd64)")
    ver.add_argument("--allow-extra", action="store_true",
                     help="files the manifest does not list are reported, not failed")
    ver.add_argument("--report", metavar="FILE", help="also write the JSON report here")
    ver.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report here")
    ver.set_defaults(handler=_cmd_verify)

    ins = commands.add_parser("inspect", help="show what an image holds, without judging")
    _image_options(ins)
    ins.add_argument("--platform", metavar="OS/ARCH")
    ins.set_defaults(handler=_cmd_inspect)
    return parser


def _render_error(error: BuildguardError) -> None:
    label = "check failed" if isinstance(error, CheckFailed) else "error"
    print(f"buildguard: {label}: {error.message}", file=sys.stderr)
    if isinstance(error, CheckFailed):
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
    if error.hint:
        print(f"  hint: {error.hint}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except BuildguardError as error:
        _render_error(error)
        return error.exit_code
    except KeyboardInterrupt:
        print("buildguard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (e.g. `| head`); say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
