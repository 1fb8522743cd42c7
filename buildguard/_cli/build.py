"""``record``, ``seal`` and ``run``: the commands around the bundler."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from buildguard._cli.common import out, verbosity_options, warn


def _cmd_record(args: argparse.Namespace) -> int:
    from buildguard._record.options import RecordOptions
    from buildguard._record.recorder import write_record

    options = RecordOptions(
        out=args.out,
        build_id=args.build_id,
        commit=args.commit,
        clean=args.clean,
        excludes=args.exclude,
        env_file=args.env_file,
    )
    rec = write_record(args.source_dir, options)
    for warning in rec.warnings:
        warn(warning)
    stream = out(args)
    print(
        f"recorded {rec.file_count} source files of {rec.source_root}\n"
        f"  build id:      {rec.build_id}\n"
        f"  commit:        {rec.commit or '(unknown)'}\n"
        f"  source digest: {rec.source_digest}\n"
        f"  record:        {args.out}\n"
        f"  build env:     {args.env_file} (load it before the build: "
        f"set -a; . {args.env_file}; set +a)",
        file=stream,
    )
    for folder in rec.cleaned:
        print(f"  cleaned:       {folder}", file=stream)
    return 0


def _cmd_seal(args: argparse.Namespace) -> int:
    from buildguard._record.sealer import seal

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
        file=out(args),
    )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from buildguard._record.runner import run

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    result = run(
        command,
        source=args.source,
        dist=args.dist,
        canary=not args.no_canary,
        build_id=args.build_id,
        commit=args.commit,
    )
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


def register(commands: Any) -> None:
    """Add ``record``, ``seal`` and ``run`` to the sub-command parsers."""
    rec = commands.add_parser("record", help="before the build: hash sources, set the canary")
    verbosity_options(rec)
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
    verbosity_options(seal)
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
    verbosity_options(run)
    run.add_argument("--source", default=".", metavar="DIR")
    run.add_argument("--dist", default="dist", metavar="DIR")
    run.add_argument("--build-id", metavar="ID", help="default: $BUILD_ID")
    run.add_argument("--commit", metavar="SHA", help="default: $COMMIT_SHA, then git HEAD")
    run.add_argument("--no-canary", action="store_true")
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD [ARG...]")
    run.set_defaults(handler=_cmd_run)
