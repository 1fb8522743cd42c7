"""From walked files to lean per-file rows: hashed on every core, kept in walk order.

A :class:`Row` is a plain tuple (no model, no hex string per field beyond the digest), so
a 50,000-file record stays small; the models and JSON are made from rows at the end.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any, NamedTuple

from buildguard._internal.hashing import FileHash, HashPool, Job
from buildguard._internal.pathescape import escape
from buildguard._internal.walk import Found
from buildguard.errors import UsageError

BATCH = 256  # files per job sent to a worker


class Row(NamedTuple):
    name: str  # relative path, internal form (escaped only when written)
    type: str  # "file" or "symlink"
    sha256: str  # hex
    size: int
    mode: int  # permission bits (st_mode & 0o7777)
    mtime: float  # st_mtime
    link_target: str | None  # internal form
    found: bool  # the needle occurs in it
    head: bytes | None  # first bytes, when asked for (media type sniffing)

    def entry_dict(self, media_type: str | None) -> dict[str, Any]:
        """The fields of a ``FileEntry``, in its order, as its JSON shows them."""
        return {
            "path": escape(self.name),
            "type": self.type,
            "sha256": self.sha256,
            "size": self.size,
            "mode": self.mode,
            "mtime": datetime.fromtimestamp(self.mtime, UTC),
            "media_type": media_type,
            "link_target": None if self.link_target is None else escape(self.link_target),
        }


def _symlink_row(item: Found) -> Row:
    st = os.lstat(item.path)
    raw = os.readlink(item.path)
    return Row(
        item.name,
        "symlink",
        hashlib.sha256(raw).hexdigest(),
        len(raw),
        stat.S_IMODE(st.st_mode),
        st.st_mtime,
        raw.decode("utf-8", "surrogateescape"),
        False,
        None,
    )


def _file_rows(names: list[str], results: list[FileHash], what: str) -> Iterable[Row]:
    for name, got in zip(names, results, strict=True):
        if got.error is not None:
            raise UsageError(
                f"{what} file {escape(name)}: {got.error}",
                hint="check the file's permissions, and that nothing changes the tree meanwhile",
            )
        yield Row(
            name,
            "file",
            got.sha256.hex(),
            got.size,
            stat.S_IMODE(got.mode),
            got.mtime,
            None,
            got.found,
            got.head,
        )


def scan(
    items: Iterable[Found],
    *,
    what: str,
    needle: bytes = b"",
    flags: Callable[[str], int] | None = None,
) -> list[Row]:
    """Read every item (files hashed in batches on the pool, symlinks here), in order."""
    out: list[Row | None] = []
    pending: list[tuple[int, list[str], Future[list[FileHash]]]] = []
    names: list[str] = []
    jobs: list[Job] = []
    start = 0
    with HashPool(needle) as pool:
        for item in items:
            if item.is_link:
                try:
                    out.append(_symlink_row(item))
                except OSError as exc:
                    raise UsageError(
                        f"{what} symlink {escape(item.name)}: {exc.strerror}",
                        hint="check that nothing changes the tree meanwhile",
                    ) from exc
                continue
            if len(jobs) == BATCH:
                pending.append((start, names, pool.submit(jobs, more_to_come=True)))
                names, jobs = [], []
            if not jobs:
                start = len(out)
            out.append(None)
            names.append(item.name)
            jobs.append((item.path, flags(item.name) if flags else 0))
        if jobs:
            pending.append((start, names, pool.submit(jobs, more_to_come=False)))
        return _collect(out, pending, what)


def _collect(
    out: list[Row | None],
    pending: list[tuple[int, list[str], Future[list[FileHash]]]],
    what: str,
) -> list[Row]:
    for start, names, future in pending:
        index = start
        for row in _file_rows(names, future.result(), what):
            while out[index] is not None:  # symlinks found between this batch's files
                index += 1
            out[index] = row
            index += 1
    return [row for row in out if row is not None]
