"""The ONE place the tests drive buildguard's tar walker (its API may change: adapt here).

:func:`walk_tar` feeds a tar to :class:`buildguard._image.tarwalk.TarWalker` in the chunk
sizes given, asks for every regular file's digest, and returns its layer index's rows in the
terms of :class:`golister.Listed` (paths as the extractors write them), or :class:`Refused`
when the walker raised one of buildguard's reading errors (``HostileImage``,
``ImageReadError``). Any other exception propagates: it is a crash, never a refusal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import cycle

from golister import Listed

from buildguard._image import tarwalk
from buildguard.errors import ImageReadError

LABEL = "layer 0 (differential)"


@dataclass(frozen=True)
class Refused:
    error: ImageReadError

    def __str__(self) -> str:
        return f"{type(self.error).__name__}: {self.error.message}"


def _name(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def _chunks(data: bytes, sizes: Iterable[int] | None) -> Iterable[bytes]:
    if not sizes:
        yield data
        return
    pos = 0
    for size in cycle(sizes):
        if pos >= len(data):
            return
        yield data[pos : pos + max(1, size)]
        pos += max(1, size)


def walk_tar(data: bytes, chunk_sizes: Iterable[int] | None = None) -> list[Listed] | Refused:
    walker = tarwalk.TarWalker(lambda _name: tarwalk.WANT_HASH, LABEL)
    try:
        for chunk in _chunks(data, list(chunk_sizes) if chunk_sizes else None):
            walker.feed(chunk)
        walker.finish()
    except ImageReadError as exc:  # HostileImage is a subclass
        return Refused(exc)
    out = []
    for row in walker.index.rows():
        kind = row.kind_name
        if kind == "global":  # a PAX global header: compared by its path only
            out.append(Listed(_name(row.path), "global", 0, 0, 0, 0, 0, None, None))
            continue
        out.append(
            Listed(
                name=_name(row.path),
                kind=kind,
                size=row.size,
                mode=row.mode & 0o7777,
                uid=row.uid,
                gid=row.gid,
                mtime=row.mtime,
                linkname=_name(row.link or "") if kind in ("hardlink", "symlink") else None,
                sha256=row.sha256.hex() if kind == "file" and row.sha256 else None,
            )
        )
    return out
