"""The index of one layer: every tar entry, in tar order, as compact columns.

One row per entry the tar reader returns (Go's ``archive/tar`` ``Next()``, see
``tarwalk.py``): the normalised absolute path (``/app/a.js``; ``/`` for the root), the kind,
size, mode, mtime, uid, gid, link target, and — for the files that were hashed — the sha256
(and the bytes of ``buildguard-manifest.json`` files). Whiteouts and opaque markers are rows
like any other; flattening (``flatten.py``) interprets them.

Rows are columns of :mod:`array` values plus one list of path strings, not one Python object
per entry: a layer of a million entries costs about 140 bytes an entry here, where a
``TarEntry`` object with hex strings cost ~350. The same index is what the layer-index cache
stores, keyed by the layer's compressed digest.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass

FILE = 0
DIR = 1
SYMLINK = 2
HARDLINK = 3
OTHER = 4
"""A character or block device or a fifo."""
GLOBAL = 5
"""A PAX global header: no file, but its name still matters to the extractors."""

KIND_NAMES = ("file", "dir", "symlink", "hardlink", "other", "global")
EMPTY_SHA256 = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
EMPTY_AT = -2
"""``hash_at`` of a file hashed and found empty (its digest is :data:`EMPTY_SHA256`)."""
_U32 = 1 << 32


def _int_column(kind: str) -> array[int]:
    return array(kind)


@dataclass(frozen=True)
class Columns:
    """The raw columns of an index (for the cache codec)."""

    kind: array[int]
    size: array[int]
    mode: array[int]
    mtime: array[int]
    uid: array[int]
    gid: array[int]
    hash_at: array[int]
    digests: bytearray
    links: dict[int, str]
    data: dict[int, bytes]


@dataclass(frozen=True, slots=True)
class Row:
    """One entry of a layer, as read (a view made on demand; the index keeps columns)."""

    path: str
    kind: int
    size: int
    mode: int
    mtime: int
    uid: int
    gid: int
    link: str | None
    sha256: bytes | None
    data: bytes | None

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]


class LayerIndex:
    """Every entry of one layer tar, in tar order. Append while reading; read after."""

    __slots__ = (
        "_data",
        "_digests",
        "_gid",
        "_hash_at",
        "_kind",
        "_links",
        "_mode",
        "_mtime",
        "_size",
        "_uid",
        "complete",
        "paths",
    )

    def __init__(self) -> None:
        self.paths: list[str] = []
        self._kind = _int_column("B")
        self._size = _int_column("I")
        self._mode = _int_column("H")
        self._mtime = _int_column("I")
        self._uid = _int_column("I")
        self._gid = _int_column("I")
        self._hash_at = _int_column("i")
        """Per row: the position of its digest in ``_digests``, or -1."""
        self._digests = bytearray()
        self._links: dict[int, str] = {}
        self._data: dict[int, bytes] = {}
        self.complete = True
        """False when some file's content was not hashed (not every ``--path`` is answered)."""

    def __len__(self) -> int:
        return len(self.paths)

    # -- writing -----------------------------------------------------------------------------

    def append(
        self,
        path: str,
        kind: int,
        size: int,
        mode: int,
        mtime: int,
        uid: int,
        gid: int,
        link: str | None = None,
    ) -> int:
        """Add one row; returns its number."""
        row = len(self.paths)
        self.paths.append(path)
        self._kind.append(kind)
        self._mode.append(mode & 0o7777)
        if 0 <= uid < _U32 and 0 <= gid < _U32 and 0 <= size < _U32 and 0 <= mtime < _U32:
            self._size.append(size)
            self._mtime.append(mtime)
            self._uid.append(uid)
            self._gid.append(gid)
        else:  # a big file, a time before 1970 or after 2106, a huge id: widen that column
            self._size = self._put_id(self._size, size)
            self._mtime = self._put_id(self._mtime, mtime)
            self._uid = self._put_id(self._uid, uid)
            self._gid = self._put_id(self._gid, gid)
        self._hash_at.append(-1)
        if link is not None:
            self._links[row] = link
        return row

    @staticmethod
    def _put_id(column: array[int], value: int) -> array[int]:
        """Append to a column of 32-bit unsigned values, widened to 64-bit signed once a
        value needs it (sizes, times and ids are mostly small: half the memory)."""
        if column.typecode == "I" and not 0 <= value < _U32:
            column = array("q", column)  # a negative or huge id: widen once, keep going
        column.append(value)
        return column

    def set_digest(self, row: int, digest: bytes) -> None:
        if digest == EMPTY_SHA256:  # known without storing it: empty files are common
            self._hash_at[row] = EMPTY_AT
            return
        self._hash_at[row] = len(self._digests) // 32
        self._digests += digest

    def set_data(self, row: int, data: bytes) -> None:
        self._data[row] = data

    def columns(self) -> Columns:
        return Columns(
            self._kind,
            self._size,
            self._mode,
            self._mtime,
            self._uid,
            self._gid,
            self._hash_at,
            self._digests,
            self._links,
            self._data,
        )

    @classmethod
    def from_columns(
        cls,
        paths: list[str],
        kind: array[int],
        size: array[int],
        mode: array[int],
        mtime: array[int],
        uid: array[int],
        gid: array[int],
        hash_at: array[int],
        digests: bytearray,
        links: dict[int, str],
        data: dict[int, bytes],
        complete: bool,
    ) -> LayerIndex:
        """An index from columns read back (the cache); every column has one value a row."""
        n = len(paths)
        if any(len(c) != n for c in (kind, size, mode, mtime, uid, gid, hash_at)):
            raise ValueError("columns of different lengths")
        index = cls()
        index.paths = paths
        index._kind, index._size, index._mode, index._mtime = kind, size, mode, mtime
        index._uid, index._gid, index._hash_at = uid, gid, hash_at
        index._digests, index._links, index._data = digests, links, data
        index.complete = complete
        return index

    # -- reading -----------------------------------------------------------------------------

    def kind(self, row: int) -> int:
        return self._kind[row]

    def size(self, row: int) -> int:
        return self._size[row]

    def mode(self, row: int) -> int:
        return self._mode[row]

    def mtime(self, row: int) -> int:
        return self._mtime[row]

    def uid(self, row: int) -> int:
        return self._uid[row]

    def gid(self, row: int) -> int:
        return self._gid[row]

    def link(self, row: int) -> str | None:
        return self._links.get(row)

    def digest(self, row: int) -> bytes | None:
        at = self._hash_at[row]
        if at == EMPTY_AT:
            return EMPTY_SHA256
        return None if at < 0 else bytes(self._digests[at * 32 : at * 32 + 32])

    def data(self, row: int) -> bytes | None:
        return self._data.get(row)

    def row(self, row: int) -> Row:
        return Row(
            self.paths[row],
            self._kind[row],
            self._size[row],
            self._mode[row],
            self._mtime[row],
            self._uid[row],
            self._gid[row],
            self._links.get(row),
            self.digest(row),
            self._data.get(row),
        )

    def rows(self) -> Iterator[Row]:
        for row in range(len(self.paths)):
            yield self.row(row)
