"""The ``docker save`` archive's own tar, read as ``docker load`` reads it.

``docker load`` (moby ``image/tarexport/load.go``, v20.10 and v26 alike) hands the archive to
``chrootarchive.Untar``, which first sniffs its compression (``pkg/archive``
``DecompressStream``) and then extracts it with Go's ``archive/tar`` into a temporary folder;
the loader reads ``manifest.json`` and what it names from that folder. Here:

- compression is sniffed on the same magic numbers: gzip ``1f 8b 08``, bzip2 ``BZh``, xz
  ``fd 37 7a 58 5a 00``, anything else is a plain tar. zstd (``28 b5 2f fd`` and skippable
  frames) is refused: dockerd 20.10 does not know it (it reads the bytes as a tar and fails)
  while dockerd ≥ 23 inflates it, so the two would not load the same thing. Concatenated
  streams of one kind are read, as Go's readers and ``xz -d`` read them; any other byte after
  the last stream, or a corrupt stream, is refused (dockerd drains the stream after the tar
  ends and fails on it);
- headers go through the same Go-faithful walker as the layers
  (:class:`~buildguard._image.tarwalk.TarWalker`), so the outer archive has the one tar
  semantics of the house;
- names are checked as the extraction makes them and links followed as the loader's
  ``safePath`` follows them (:class:`Names`).
"""

from __future__ import annotations

import bz2
import lzma
import posixpath
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from buildguard._image import layerindex as li
from buildguard._image.tarfields import BLOCK
from buildguard._image.tarwalk import WANT_SKIP, TarWalker
from buildguard.errors import HostileImage, ImageReadError

READ_CHUNK = 1 << 20
SNIFF = 10
"""``DecompressStream`` peeks this many bytes."""

GZIP = b"\x1f\x8b\x08"
BZIP2 = b"BZh"
XZ = b"\xfd7zXZ\x00"
ZSTD = b"\x28\xb5\x2f\xfd"


def _zstd_skippable(head: bytes) -> bool:
    return len(head) >= 4 and int.from_bytes(head[:4], "little") & 0xFFFFFFF0 == 0x184D2A50


def sniff_outer(head: bytes) -> str:
    """``none``, ``gzip``, ``bzip2``, ``xz`` or ``zstd``, as moby's ``DetectCompression``."""
    for name, magic in (("gzip", GZIP), ("bzip2", BZIP2), ("xz", XZ), ("zstd", ZSTD)):
        if head.startswith(magic):
            return name
    if _zstd_skippable(head):
        return "zstd"
    return "none"


class _Inflated:
    """A pull stream of the inflated bytes of concatenated streams of one kind."""

    def __init__(self, raw: IO[bytes], kind: str, head: bytes, reference: str) -> None:
        self.raw = raw
        self.kind = kind
        self.reference = reference
        self.pending = head
        self.magic = {"gzip": GZIP, "bzip2": BZIP2, "xz": XZ}[kind]
        self.engine: Any = None
        self.done = False

    def _new(self) -> Any:
        if self.kind == "gzip":
            return zlib.decompressobj(wbits=31)
        if self.kind == "bzip2":
            return bz2.BZ2Decompressor()
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)

    def _broken(self, what: str) -> ImageReadError:
        return ImageReadError(
            f"{self.reference}: the {self.kind}-compressed archive {what}; `docker load` "
            "fails on it",
            hint="compress the output of `docker save` again with one gzip, bzip2 or xz run",
        )

    def read(self, n: int) -> bytes:
        n = max(1, min(n, READ_CHUNK))
        while not self.done:
            if self.engine is None:
                if len(self.pending) < len(self.magic):
                    more = self.raw.read(READ_CHUNK)
                    if more:
                        self.pending += more
                        continue
                if not self.pending:
                    self.done = True
                    break
                if not self.pending.startswith(self.magic):
                    raise self._broken("is followed by bytes that are not another stream")
                self.engine = self._new()
            out = self._step(n)
            if out:
                return out
        return b""

    def _step(self, n: int) -> bytes:
        engine = self.engine
        try:
            if self.kind == "gzip":
                data = engine.unconsumed_tail or self.pending
                if not engine.unconsumed_tail:
                    self.pending = b""
                if not data:
                    data = self.raw.read(READ_CHUNK)
                    if not data:
                        raise self._broken("ends inside a stream (truncated)")
                out: bytes = engine.decompress(data, n)
                if engine.eof:
                    self.pending = engine.unused_data
                    self.engine = None
                return out
            if engine.needs_input:
                data, self.pending = self.pending, b""
                if not data:
                    data = self.raw.read(READ_CHUNK)
                    if not data:
                        raise self._broken("ends inside a stream (truncated)")
            else:
                data = b""
            out = engine.decompress(data, n)
            if engine.eof:
                self.pending = engine.unused_data + self.pending
                self.engine = None
            return out
        except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
            raise self._broken(f"is corrupt ({exc})") from None


class _Plain:
    def __init__(self, raw: IO[bytes], head: bytes) -> None:
        self.raw = raw
        self.pending = head

    def read(self, n: int) -> bytes:
        if self.pending:
            out, self.pending = self.pending[:n], self.pending[n:]
            return out
        return self.raw.read(n)


def open_outer(raw: IO[bytes], reference: str) -> tuple[str, Any]:
    """Sniff and wrap ``raw``: (compression, a stream of the tar's bytes)."""
    head = b""
    while len(head) < SNIFF:
        more = raw.read(SNIFF - len(head))
        if not more:
            break
        head += more
    kind = sniff_outer(head)
    if kind == "zstd":
        raise HostileImage(
            f"{reference}: the archive is zstd-compressed; dockerd 20.10 cannot load it and "
            "newer dockerd can, so buildguard refuses it",
            hint="verify the uncompressed `docker save` archive, or compress it with gzip",
        )
    if kind == "none":
        return kind, _Plain(raw, head)
    return kind, _Inflated(raw, kind, head, reference)


def read_exact(stream: Any, n: int) -> bytes:
    parts = []
    while n:
        piece = stream.read(min(n, READ_CHUNK))
        if not piece:
            break
        parts.append(piece)
        n -= len(piece)
    return b"".join(parts)


class MemberReader:
    """The data of one member: reads stop at its end."""

    def __init__(self, stream: Any, size: int) -> None:
        self.stream = stream
        self.left = size
        self.head = b""

    def peek1(self) -> bytes:
        if not self.head and self.left:
            self.head = self.stream.read(1)
            self.left -= len(self.head)
        return self.head

    def read(self, n: int = -1) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            if n < 0 or n > 1:
                out += self.read(n - 1 if n > 0 else -1)
            return out
        want = self.left if n < 0 else min(n, self.left)
        if want <= 0:
            return b""
        data: bytes = (
            self.stream.read(min(want, READ_CHUNK)) if n >= 0 else read_exact(self.stream, want)
        )
        self.left -= len(data)
        return data

    def drain(self) -> bool:
        """Read what is left; ``False`` when the stream ended before the member did."""
        self.head = b""
        while self.left:
            if not self.read(READ_CHUNK):
                return False
        return True

    def close(self) -> None:
        """Closing is the caller's business (the archive goes on)."""


@dataclass(frozen=True)
class Member:
    name: str
    """Cleaned, relative (``a/b``); ``""`` for the root."""
    kind: int
    link: str | None
    size: int
    data: MemberReader | None


def members(stream: Any, reference: str) -> Iterator[Member]:
    """Every entry of the tar as Go's reader returns it; a regular file's ``data`` must be
    read (or not) before the next entry is asked for."""
    walker = TarWalker(lambda path: WANT_SKIP, f"{reference}: the archive's tar", "archive")
    seen = 0
    while not walker.ended:
        block = read_exact(stream, BLOCK)
        if not block:
            break
        walker.feed(block)
        if len(block) < BLOCK:
            break
        extended = walker.extended_left()
        if extended:
            walker.feed(read_exact(stream, extended))
            continue
        size = walker.detach_data()
        rows = len(walker.index)
        if rows == seen:
            continue
        seen = rows
        row = walker.index.row(rows - 1)
        reader = MemberReader(stream, size) if row.kind == li.FILE else None
        yield Member(row.path.lstrip("/"), row.kind, row.link, size, reader)
        if reader is not None:
            if not reader.drain():
                break
            padding = -size % BLOCK
            if len(read_exact(stream, padding)) < padding:
                break
    walker.finish()
    while stream.read(READ_CHUNK):  # dockerd drains the rest: a broken stream fails there
        pass


def refuse(reference: str, what: str) -> HostileImage:
    return HostileImage(
        f"{reference}: {what} in the archive; `docker load` and containerd would read "
        "different images from it, or `docker load` fails on it, so buildguard refuses it",
        hint="the archive was crafted or corrupted; save the image again with docker save",
    )


class Names:
    """Every name of the archive once, as the extraction makes it.

    ``docker load`` extracts the archive to a folder (a later member replaces an earlier one
    of that name, a member under a symlink is written through it, a link that leaves the
    folder fails the load, a hard link needs its target already there) while containerd's
    importer reads regular files only and resolves links after the whole stream: a name
    defined twice, a member under a link or file, or a hard link to nothing is refused."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        self.leaves: set[str] = set()
        self.dirs: set[str] = set()
        self.links: dict[str, str] = {}
        """Link name → the name it resolves to, relative to the archive's root."""

    def add(self, member: Member) -> None:
        name = member.name
        if not name or member.kind == li.GLOBAL:
            return
        is_dir = member.kind == li.DIR
        parents = []
        parent = posixpath.dirname(name)
        while parent:
            if parent in self.leaves:
                raise refuse(
                    self.reference,
                    f"member {name!r} lies under {parent!r}, which is a file or a link",
                )
            parents.append(parent)
            parent = posixpath.dirname(parent)
        if name in self.leaves or (not is_dir and name in self.dirs):
            raise refuse(self.reference, f"member {name!r} is defined more than once")
        if member.kind in (li.SYMLINK, li.HARDLINK):
            self.links[name] = self._target(member)
        (self.dirs if is_dir else self.leaves).add(name)
        self.dirs.update(parents)

    def _target(self, member: Member) -> str:
        """Where a link leads, scoped to the archive's root as the loader scopes it: the
        extraction runs chrooted into its folder (a link cannot leave it) and ``safePath``
        resolves links with ``FollowSymlinkInScope`` (``..`` stops at the root)."""
        link = member.link or ""
        if member.kind == li.SYMLINK:
            return clean(posixpath.join(posixpath.dirname(member.name), link))
        target = clean(link)
        if target not in self.leaves or target == member.name:
            raise refuse(
                self.reference,
                f"hard link {member.name!r} names {link!r}, which is not a file "
                "earlier in the archive",
            )
        return target

    def follow(self, name: str) -> str:
        """``name`` with links resolved (a bounded number of times)."""
        name = clean(name)
        for _ in range(40):
            if name not in self.links:
                break
            name = self.links[name]
        return name

    def kind_of(self, name: str) -> str | None:
        """``"link"``, ``"dir"``, ``"file"`` or ``None`` for a name as stored."""
        if name in self.links:
            return "link"
        if name in self.dirs:
            return "dir"
        return "file" if name in self.leaves else None


def clean(name: str) -> str:
    """A name as the loader's ``safePath`` scopes it: cleaned, never above the root."""
    return posixpath.normpath("/" + name).lstrip("/")
