"""A push-fed tar reader for layer tars that returns what the container runtime extracts.

What it returns is what Go 1.19's ``archive/tar`` ``Reader.Next()`` returns (the reader under
dockerd, containerd and umoci), restricted to the entry types their extractors handle; what
Go rejects, or the extractors refuse or treat specially, is refused here as
:class:`HostileImage` instead of being read some other way:

- headers: checksum, format (V7, USTAR/PAX, GNU, STAR), numbers and names exactly as Go
  parses them (``tarfields.py``); a zero block must be followed by a second one or the end;
- ``x`` PAX records (strict), ``L``/``K`` GNU long names, ``g`` global headers (an entry of
  their own: pending ``x``/``L``/``K`` state is dropped, as Go does);
- header-only types (hard link, symlink, char, block, dir, fifo) carry no data whatever
  their size field says; type NUL with a trailing ``/`` is a directory;
- PAX-format GNU sparse files (``GNU.sparse.*`` records, 0.0/0.1/1.0) are expanded as Go
  expands them (``tarsparse.py``: holes as zeros, bounded); the old GNU type ``S``, type
  ``7`` and any other type the extractors do not handle are refused.

Every entry becomes a row of a :class:`~buildguard._image.layerindex.LayerIndex` with its
normalised absolute path; files the caller wants are hashed (and, for a few, kept) as their
data streams past. It is fed chunks of any size, on the consumer side of the layer pipeline
(``layers.py``). The stream ending inside a header or a file's data is
:class:`ImageReadError` (raised by :meth:`TarWalker.finish`).
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from buildguard._image import layerindex as li
from buildguard._image.tarfields import (
    BLOCK,
    EXT_LIMIT,
    PAX_ATIME,
    PAX_CTIME,
    PAX_GID,
    PAX_LINKPATH,
    PAX_MTIME,
    PAX_PATH,
    PAX_SIZE,
    PAX_SPARSE_PREFIX,
    PAX_UID,
    HeaderError,
    checksum_ok,
    cstring,
    header_format,
    header_name,
    header_numbers,
    parse_int64,
    parse_pax,
    parse_pax_time,
)
from buildguard._image.tarsparse import SparseFile, sparse_header
from buildguard._internal.pathescape import escape
from buildguard.errors import HostileImage, ImageReadError

_ZERO_BLOCK = bytes(BLOCK)
KEEP_LIMIT = 32 << 20
"""Largest file whose bytes are kept when asked (``buildguard-manifest.json``; the bundle
manifest cap): a larger one is hashed only, and verify reports it as over the cap."""

WANT_SKIP = 0
WANT_HASH = 1
WANT_KEEP = 2

_HEADER_ONLY = frozenset({b"1", b"2", b"3", b"4", b"5", b"6"})
_KINDS = {
    b"0": li.FILE,
    b"1": li.HARDLINK,
    b"2": li.SYMLINK,
    b"3": li.OTHER,
    b"4": li.OTHER,
    b"5": li.DIR,
    b"6": li.OTHER,
}
"""The types dockerd's and containerd's ``createTarFile`` handle (plus ``g``, ignored)."""
_TYPE_NAMES = {
    b"7": "contiguous file (type 7)",
    b"S": "GNU sparse file (type S)",
    b"V": "GNU volume header",
    b"M": "GNU multi-volume continuation",
    b"D": "GNU directory dump",
    b"N": "GNU old long name",
}


class Want(Protocol):
    """Which regular files the reader hashes: ``want(path)`` → WANT_SKIP/HASH/KEEP, asked
    with each file's normalised absolute path."""

    def __call__(self, path: str) -> int: ...


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def normalize(name: str) -> str | None:
    """``./a//b/`` → ``/a/b``; ``/`` for the root; ``None`` when a component is ``..``."""
    if (
        ".." not in name
        and "//" not in name
        and "/./" not in name
        and not name.startswith("./")
        and not name.endswith("/.")
        and name != "."
    ):
        return "/" + name.strip("/")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        return None
    return "/" + "/".join(parts)


class TarWalker:
    """Feed it the uncompressed bytes of one tar, in order; read :attr:`index` after
    :meth:`finish`. ``label`` names the layer in errors."""

    def __init__(self, want: Want, label: str, what: str = "layer") -> None:
        self.want = want
        self.label = label
        self.what = what
        """What the tar is, in messages ("layer", "archive")."""
        self.index = li.LayerIndex()
        self.ended = False
        self._hdr = bytearray()
        self._data_left = 0
        self._pad_left = 0
        self._zero_seen = False
        self._hash: Any = None
        self._keep: list[bytes] | None = None
        self._row = -1
        self._ext_kind = b""
        self._ext_header = b""
        self._ext_data: list[bytes] = []
        self._pax: dict[bytes, bytes] | None = None
        self._longname = b""
        self._longlink = b""
        self._offset = 0
        self._at = 0
        self._sparse: SparseFile | None = None

    # -- feeding ----------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        n = len(chunk)
        pos = 0
        while pos < n:
            if self._data_left:
                take = min(self._data_left, n - pos)
                if self._sparse is not None:
                    try:
                        self._sparse.feed(chunk[pos : pos + take])
                    except HeaderError as exc:
                        raise self._hostile(str(exc)) from None
                elif self._hash is not None or self._keep is not None:
                    piece = memoryview(chunk)[pos : pos + take]
                    if self._hash is not None:
                        self._hash.update(piece)
                    if self._keep is not None:
                        self._keep.append(bytes(piece))
                pos += take
                self._data_left -= take
                if not self._data_left:
                    self._end_data()
                continue
            if self._pad_left:
                take = min(self._pad_left, n - pos)
                pos += take
                self._pad_left -= take
                continue
            if self.ended:
                break
            if self._hdr or n - pos < BLOCK:
                take = min(BLOCK - len(self._hdr), n - pos)
                self._hdr += chunk[pos : pos + take]
                pos += take
                if len(self._hdr) < BLOCK:
                    continue
                header = bytes(self._hdr)
                self._hdr.clear()
            else:
                header = chunk[pos : pos + BLOCK]
                pos += BLOCK
            self._at = self._offset + pos - BLOCK
            self._header(header)
        self._offset += n

    def extended_left(self) -> int:
        """Bytes (data and padding) of an extended header still to feed after its block."""
        return self._data_left + self._pad_left if self._ext_kind else 0

    def detach_data(self) -> int:
        """After a header block was fed: when a regular file's data follows, hand it to the
        caller and return its size (0 otherwise). The caller reads those bytes and their
        padding (``-size % BLOCK``) from the stream itself and feeds only the next header
        (the ``docker save`` archive, whose members are layers read on their own)."""
        if self._sparse is not None:
            raise self._hostile("a GNU sparse member")
        if self._ext_kind or self._row < 0 or not self._data_left:
            return 0
        size = self._data_left
        self._offset += size + self._pad_left
        self._data_left = self._pad_left = 0
        self._end_data()
        return size

    def finish(self) -> None:
        """Call at the end of the stream: raises when it ended inside a header or data.

        Ending inside the padding after the last entry, after a single zero block, or after an
        extended header with no entry is a normal end, as it is for Go's reader.
        """
        if self.ended:
            return
        if self._data_left or self._hdr:
            raise ImageReadError(
                f"{self.label}: the tar ends in the middle of an entry "
                f"(truncated after {self._offset} bytes)",
                hint="the blob is incomplete or corrupt; rebuild and push the image again",
            )
        self.ended = True

    # -- headers ----------------------------------------------------------------------------

    def _hostile(self, what: str) -> HostileImage:
        return HostileImage(
            f"{self.label}: the tar header at byte {max(self._at, 0)}: {what}; container runtimes "
            f"reject or read it differently, so buildguard refuses the {self.what}",
            hint="the layer was not written by a normal image builder; do not trust this image",
        )

    def _header(self, header: bytes) -> None:
        if self._zero_seen:
            if header == _ZERO_BLOCK:
                self.ended = True
                return
            raise self._hostile("a zero block is followed by data, not by a second zero block")
        if header == _ZERO_BLOCK:
            self._zero_seen = True
            return
        if not checksum_ok(header):
            raise self._hostile("the header checksum does not match (not a tar header)")
        fmt = header_format(header)
        flag = header[156:157]
        try:
            size, mode, uid, gid, mtime = header_numbers(header, fmt)
        except HeaderError as exc:
            raise self._hostile(str(exc)) from None
        if size < 0 and flag not in _HEADER_ONLY:
            raise self._hostile(f"negative size {size}")
        if flag in (b"x", b"g", b"L", b"K"):
            if size > EXT_LIMIT:
                raise self._hostile(f"an extended header of {size} bytes")
            self._ext_kind = flag
            self._ext_header = header
            self._ext_data = []
            self._keep = self._ext_data
            self._hash = None
            self._row = -1
            self._start_data(size)
            return
        self._entry(header, fmt, flag, size, mode, uid, gid, mtime)

    def _entry(
        self,
        header: bytes,
        fmt: str,
        flag: bytes,
        size: int,
        mode: int,
        uid: int,
        gid: int,
        mtime: int,
    ) -> None:
        name = header_name(header, fmt)
        link = cstring(header[157:257])
        pax, self._pax = self._pax, None
        sparse = None
        if pax:
            try:
                if any(key.startswith(PAX_SPARSE_PREFIX) for key in pax):
                    sparse = sparse_header(pax)
                name, link, size, uid, gid, mtime = _merge_pax(
                    pax, name, link, size, uid, gid, mtime
                )
            except HeaderError as exc:
                raise self._hostile(str(exc)) from None
        if self._longname:
            name = self._longname
        if self._longlink:
            link = self._longlink
        self._longname = self._longlink = b""
        if flag == b"\x00":
            flag = b"5" if name.endswith(b"/") else b"0"
        kind = _KINDS.get(flag)
        if kind is None:
            what = _TYPE_NAMES.get(flag, f"entry type {flag!r}")
            raise self._hostile(f"a {what}, which the extractors do not handle")
        if size < 0 and flag not in _HEADER_ONLY:
            raise self._hostile(f"negative size {size}")
        logical = size
        if sparse is not None:  # Go: after the NUL-type check, before the data
            if kind != li.FILE:
                raise self._hostile(f"GNU sparse records on a {li.KIND_NAMES[kind]}")
            if sparse.name:
                name = sparse.name
            if sparse.size is not None:
                logical = sparse.size
        path = normalize(_decode(name))
        if path is None:
            raise self._hostile(
                f"the name {escape(_decode(name))!r} has a '..' component and "
                "would escape the image root"
            )
        data = size if kind == li.FILE else 0
        row = self.index.append(
            path,
            kind,
            logical if kind == li.FILE else 0,
            mode,
            mtime,
            uid,
            gid,
            _decode(link) if kind in (li.SYMLINK, li.HARDLINK) else None,
        )
        self._row = row
        self._hash = None
        self._keep = None
        if kind == li.FILE:
            level = self.want(path)
            if level:
                self._hash = hashlib.sha256()
                if level == WANT_KEEP and logical <= KEEP_LIMIT:
                    self._keep = []
            else:
                self.index.complete = False
        if sparse is not None:
            try:
                self._sparse = SparseFile(sparse, logical, self._emit if self._hash else None)
            except HeaderError as exc:
                raise self._hostile(str(exc)) from None
        self._start_data(data)

    def _emit(self, piece: bytes) -> None:
        """A sparse file's logical bytes (holes as zeros)."""
        self._hash.update(piece)
        if self._keep is not None:
            self._keep.append(piece)

    def _start_data(self, size: int) -> None:
        self._data_left = size
        self._pad_left = -size % BLOCK
        if not size:
            self._end_data()

    def _end_data(self) -> None:
        if self._ext_kind:
            self._end_extended()
            return
        if self._sparse is not None:
            sparse, self._sparse = self._sparse, None
            try:
                sparse.finish()
            except HeaderError as exc:
                raise self._hostile(str(exc)) from None
        row = self._row
        if row >= 0:
            if self._hash is not None:
                self.index.set_digest(row, self._hash.digest())
            if self._keep is not None:
                self.index.set_data(row, b"".join(self._keep))
        self._hash = None
        self._keep = None
        self._row = -1

    def _end_extended(self) -> None:
        kind, self._ext_kind = self._ext_kind, b""
        data = b"".join(self._ext_data)
        self._ext_data = []
        self._keep = None
        if kind in (b"L", b"K"):
            value = cstring(data)
            if kind == b"L":
                self._longname = value
            else:
                self._longlink = value
            return
        try:
            records = parse_pax(data)
        except HeaderError as exc:
            raise self._hostile(str(exc)) from None
        if kind == b"x":
            self._pax = records
            return
        self._global(records)

    def _global(self, records: dict[bytes, bytes]) -> None:
        """A PAX global header: Go returns it as an entry of its own (dropping pending
        state); the extractors ignore it as a file but still act on its name."""
        self._pax = None
        self._longname = self._longlink = b""
        header = self._ext_header
        fmt = header_format(header)
        name = header_name(header, fmt)
        try:
            name, *_ = _merge_pax(records, name, b"", 0, 0, 0, 0)
        except HeaderError as exc:  # Go stops merging at a bad value, in map order: unclear
            raise self._hostile(f"a PAX global header with {exc}") from None
        path = normalize(_decode(name))
        if path is None:
            raise self._hostile(f"the name {escape(_decode(name))!r} has a '..' component")
        self.index.append(path, li.GLOBAL, 0, 0, 0, 0, 0)


def _merge_pax(
    pax: dict[bytes, bytes],
    name: bytes,
    link: bytes,
    size: int,
    uid: int,
    gid: int,
    mtime: int,
) -> tuple[bytes, bytes, int, int, int, int]:
    """Go's ``mergePAX``: records with an empty value are ignored."""
    for key, value in pax.items():
        if not value:
            continue
        if key == PAX_PATH:
            name = value
        elif key == PAX_LINKPATH:
            link = value
        elif key == PAX_SIZE:
            size = parse_int64(value, "size")
        elif key == PAX_UID:
            uid = parse_int64(value, "uid")
        elif key == PAX_GID:
            gid = parse_int64(value, "gid")
        elif key == PAX_MTIME:
            mtime = parse_pax_time(value, "mtime")
        elif key in (PAX_ATIME, PAX_CTIME):
            parse_pax_time(value, key.decode())
    return name, link, size, uid, gid, mtime
