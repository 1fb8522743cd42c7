"""What every command module of the CLI shares: the parser class, output streams, progress,
and the options of the commands that read an image (parsed and built into one object)."""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TextIO

from buildguard._internal.redact import scrub

if TYPE_CHECKING:  # imported where used: the CLI starts without the image package
    from buildguard._image.imageinfo import Progress
    from buildguard._image.options import ReadOptions
    from buildguard._verify.expectations import Expectations

Handler = Callable[[argparse.Namespace], int]


class ArgumentsRefused(SystemExit):
    """argparse refused the command line (exit 2); carries what it said, for the error
    document of a command that writes one."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(2)
        self.message = message
        self.hint = hint


class Parser(argparse.ArgumentParser):
    """argparse, but with a hint line on errors; still exit 2. Long options are taken only
    as the contract spells them: no abbreviations (``--sample`` for ``--samples``) that
    scripts could come to depend on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.command_parsers: dict[str, argparse.ArgumentParser] = {}
        """On the top parser: each command's parser, by name."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        hint = f"see `{self.prog} --help`"
        sys.stderr.write(f"buildguard: error: {scrub(message)}\n  hint: {hint}\n")
        raise ArgumentsRefused(scrub(message), hint)


def verbosity_options(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``-v``/``-vv`` on the top parser and on every command (either place works)."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top else argparse.SUPPRESS,
        help="log what happens on stderr (-vv: debug); also $BUILDGUARD_LOG_LEVEL=info|debug",
    )


def out(args: argparse.Namespace) -> TextIO:
    """Human output goes to stdout, or to stderr when stdout carries JSON."""
    return sys.stderr if getattr(args, "json", False) else sys.stdout


def warn(message: str) -> None:
    print(f"buildguard: warning: {scrub(message)}", file=sys.stderr)


@contextlib.contextmanager
def scrubbed(stream: TextIO) -> Iterator[TextIO]:
    """A buffer for a human rendering of a report, written to ``stream`` through
    :func:`scrub` (the last line of defence against a credential in a report's text)."""
    buffer = io.StringIO()
    yield buffer
    stream.write(scrub(buffer.getvalue()))


class LayerProgress:
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


def on_terminal() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextlib.contextmanager
def progress() -> Iterator[LayerProgress | None]:
    """A progress line while the block runs, when stdout and stderr are terminals."""
    shown = LayerProgress() if on_terminal() else None
    try:
        yield shown
    finally:
        if shown is not None:
            shown.clear()


def image_options(parser: argparse.ArgumentParser, *, optional: bool = False) -> None:
    verbosity_options(parser)
    parser.add_argument(
        "image",
        metavar="IMAGE",
        nargs="?" if optional else None,
        help="HOST[:PORT]/REPO[:TAG|@sha256:DIGEST], "
        "docker-archive:PATH[:NAME[:TAG]], oci-layout:DIR[:TAG] or "
        "docker-daemon:NAME[:TAG]",
    )
    parser.add_argument("--path", action="append", default=[], metavar="DIR_IN_IMAGE")
    parser.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST",
        help="use plain HTTP for HOST (loopback always does)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the report as JSON on stdout (human output to stderr)",
    )
    parser.add_argument(
        "--cache",
        metavar="DIR|gs://BUCKET/PREFIX",
        help="layer-index cache (default $BUILDGUARD_CACHE, else "
        "$XDG_CACHE_HOME/buildguard); gs:// needs $BUILDGUARD_CACHE_KEY",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="read every layer; neither use nor fill the cache"
    )


def read_options(args: argparse.Namespace, shown: Progress | None = None) -> ReadOptions:
    """The one :class:`ReadOptions` of a command that reads an image (``image_options``)."""
    from buildguard._image.options import ReadOptions

    return ReadOptions(
        platform=args.platform,
        paths=args.path,
        insecure_registries=args.insecure_registry,
        cache=args.cache,
        no_cache=args.no_cache,
        progress=shown,
    )


def expectations(args: argparse.Namespace) -> Expectations:
    """verify's :class:`Expectations` from its options."""
    from buildguard._verify.expectations import Expectations

    return Expectations(
        build_id=args.expect_build_id,
        commit=args.expect_commit,
        records=tuple(args.record),
        allow_extra=allow_extra(args),
    )


def allow_extra_option(parser: argparse.ArgumentParser) -> None:
    """``--allow-extra [GLOB]``, repeatable: alone it allows every extra file."""
    parser.add_argument(
        "--allow-extra",
        action="append",
        nargs="?",
        const=True,
        metavar="GLOB",
        help="files the manifest does not list are reported, not failed: all of them, or "
        "with GLOB (repeatable; gitignore-style, relative to the bundle root, e.g. "
        "50x.html) those that match",
    )


def allow_extra(args: argparse.Namespace) -> bool | tuple[str, ...]:
    """What ``--allow-extra`` gave: False, True (a bare flag among them), or the globs."""
    given: list[bool | str] | None = args.allow_extra
    if not given:
        return False
    if any(value is True for value in given):
        return True
    return tuple(str(value) for value in given)
