"""From walked files to the file list of a record or manifest, read on every core.

The walk (in the calling process) cuts the files into batches; each batch is read where it
runs (a worker process, see :mod:`buildguard._internal.hashing`), which also renders its
part of the JSON file list and the few facts the caller needs per file. So the calling
process holds no object per file beyond a digest line or a small tuple, and a 50,000-file
record stays small.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any, NamedTuple

from buildguard._internal.hashing import KEEP_HEAD, SEARCH, FileHash, Pool, read_file
from buildguard._internal.jsondoc import render_items
from buildguard._internal.mediatypes import SYMLINK, from_name, sniff
from buildguard._internal.pathescape import encode_name, escape
from buildguard._internal.walk import Found
from buildguard.errors import UsageError

BATCH = 256  # files per batch sent to a worker
BACKLOG = 8  # batches left waiting for a helper while the walk goes on


class Options(NamedTuple):
    what: str  # "source" or "output", for messages
    needle: bytes = b""  # looked for in files whose name ends with one of `search_in`
    search_in: tuple[str, ...] = ()
    media_types: bool = False  # bundle manifests show them; records do not
    digest_lines: bool = False  # record: the source digest's line per file
    facts: bool = False  # seal: a Fact per file


class Fact(NamedTuple):
    """What seal checks of one file."""

    name: str  # escaped
    type: str
    sha256: str
    mtime: float
    found: bool  # the needle occurs in it


class Batch(NamedTuple):
    json: bytes  # the batch's entries, as jsondoc.render_items writes them
    entries: int
    lines: list[bytes]  # digest lines, when asked for
    facts: list[Fact]  # when asked for
    error: str | None = None


def _symlink(path: bytes) -> tuple[str, int, int, float, bytes]:
    st = os.lstat(path)
    raw = os.readlink(path)
    return hashlib.sha256(raw).hexdigest(), len(raw), stat.S_IMODE(st.st_mode), st.st_mtime, raw


def digest_line(kind: str, name: str, mode: int, sha: str) -> bytes:
    """One entry's line of the source digest (``name`` in the internal form)."""
    executable = kind == "file" and bool(mode & 0o111)
    return b"%s\0%s\0%s\0%s\n" % (
        kind.encode(),
        encode_name(name),
        b"x" if executable else b"-",
        sha.encode(),
    )


class Work(NamedTuple):
    """One batch as sent to a worker: plain bytes pickle cheaply (a tuple per file cost
    ~3 µs per file in the process that walks)."""

    prefix: int  # len of the root's path + "/": a file's name is its path after that
    paths: list[bytes]
    links: frozenset[int]  # indexes of the symlinks among paths


def read_batch(work: Work, options: Options) -> Batch:
    """Read one batch (runs in a worker): JSON entries in walk order, lines and facts."""
    entries: list[dict[str, Any]] = []
    lines: list[bytes] = []
    facts: list[Fact] = []
    for index, path in enumerate(work.paths):
        name = path[work.prefix :].decode("utf-8", "surrogateescape")  # pathescape's form
        shown = escape(name)
        target: str | None = None
        media: str | None
        found = False
        if index in work.links:
            try:
                sha, size, mode, mtime, raw = _symlink(path)
            except OSError as exc:
                return Batch(b"", 0, [], [], f"{options.what} symlink {shown}: {exc.strerror}")
            kind, target, media = "symlink", escape(raw.decode("utf-8", "surrogateescape")), SYMLINK
        else:
            by_name = from_name(name) if options.media_types else None
            flags = KEEP_HEAD if options.media_types and by_name is None else 0
            if options.search_in and name.lower().endswith(options.search_in):
                flags |= SEARCH
            got: FileHash = read_file(path, flags, options.needle)
            if got.error is not None:
                return Batch(b"", 0, [], [], f"{options.what} file {shown}: {got.error}")
            kind, sha, size, mtime, found = "file", got.sha256, got.size, got.mtime, got.found
            mode = stat.S_IMODE(got.mode)
            media = by_name or (sniff(got.head or b"") if options.media_types else None)
        entries.append(
            {
                "path": shown,
                "type": kind,
                "sha256": sha,
                "size": size,
                "mode": mode,
                "mtime": datetime.fromtimestamp(mtime, UTC),
                "media_type": media if options.media_types else None,
                "link_target": target,
            }
        )
        if options.digest_lines:
            lines.append(digest_line(kind, name, mode, sha))
        if options.facts:
            facts.append(Fact(shown, kind, sha, mtime, found))
    return Batch(render_items(entries), len(entries), lines, facts)


class Scan(NamedTuple):
    parts: list[bytes]  # for jsondoc.document
    entries: int
    lines: list[bytes]
    facts: list[Fact]


def scan(root: str | os.PathLike[str], items: Iterable[Found], options: Options) -> Scan:
    """Read every item walked from ``root`` in batches on every core, results in walk order.

    Batches go to the pool's helpers while they have room; the ones waiting beyond a short
    queue are read here, newest first, during the walk and after it.
    """
    prefix = len(os.path.join(os.fsencode(root), b""))
    slots: list[Future[Batch] | None] = []
    waiting: deque[tuple[int, Work]] = deque()
    with Pool(read_batch, options) as pool:

        def feed() -> None:  # the oldest waiting batches to helpers with room
            while waiting:
                future = pool.offer(waiting[0][1])
                if future is None:
                    return
                slots[waiting.popleft()[0]] = future

        def read_newest_here() -> None:
            index, work = waiting.pop()
            slots[index] = pool.here(work)

        paths: list[bytes] = []
        links: set[int] = set()
        for item in items:
            if len(paths) == BATCH:
                waiting.append((len(slots), Work(prefix, paths, frozenset(links))))
                slots.append(None)
                feed()
                while len(waiting) > BACKLOG:  # walking is this thread's share meanwhile
                    read_newest_here()
                paths, links = [], set()
            if item.is_link:
                links.add(len(paths))
            paths.append(item.path)
        if paths and not slots:  # one batch: not worth starting helpers
            slots.append(pool.here(Work(prefix, paths, frozenset(links))))
        elif paths:
            waiting.append((len(slots), Work(prefix, paths, frozenset(links))))
            slots.append(None)
        while waiting:  # the rest: helpers and this thread together
            feed()
            if waiting:
                read_newest_here()
        return _gather(slots)


def _gather(slots: list[Future[Batch] | None]) -> Scan:
    scanned = Scan([], 0, [], [])
    count = 0
    for future in slots:
        assert future is not None  # every slot was filled before the pool stopped
        result = future.result()
        if result.error is not None:
            raise UsageError(
                result.error,
                hint="check the file's permissions, and that nothing changes the tree "
                "while buildguard reads it",
            )
        scanned.parts.append(result.json)
        scanned.lines.extend(result.lines)
        scanned.facts.extend(result.facts)
        count += result.entries
    return scanned._replace(entries=count)


def digest_of_lines(domain: bytes, lines: list[bytes]) -> str:
    """sha256 over ``domain`` and the lines sorted by the name bytes they hold."""
    lines.sort(key=lambda line: line.split(b"\0", 2)[1])
    digest = hashlib.sha256(domain)
    digest.update(b"".join(lines))
    return f"sha256:{digest.hexdigest()}"
