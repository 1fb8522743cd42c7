"""The flattened image tree: one small integer per path, entries made on demand.

:class:`TreeStore` holds the paths of the flattened image (each mapped to a reference to
the layer-index row that wrote it), answers questions about them (:meth:`TreeStore.get`,
sorted listings, subtrees, which layer deleted a path) and offers the primitive changes
flattening is made of; the rules of applying a layer live in ``flatten.py``.
"""

from __future__ import annotations

import itertools
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from buildguard._image import layerindex as li
from buildguard._image.layerindex import LayerIndex
from buildguard._image.tarwalk import normalize
from buildguard._internal.modeltypes import MANIFEST_NAME
from buildguard._internal.pathescape import escape

if TYPE_CHECKING:
    from sortedcontainers import SortedList

_DIR = 1
_IMPLICIT = 2
_LAYER_SHIFT = 2

EntryType = Literal["file", "dir", "symlink", "hardlink", "other"]


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One path of the flattened image."""

    path: str
    type: EntryType
    size: int
    mode: int
    mtime: int
    uid: int
    gid: int
    layer: int
    """0-based index (from the bottom) of the layer that wrote this entry."""
    link_target: str | None = None
    """Symlink target as written, or the normalised path a hard link points to."""
    sha256: str | None = None
    """Hex content digest; only for files that were hashed (and their hard links)."""
    data: bytes | None = field(default=None, repr=False)
    """Raw bytes, kept for ``buildguard-manifest.json`` files only."""
    implicit: bool = False
    """A directory no entry wrote: created because an entry lay under it."""


def _parent(path: str) -> str:
    cut = path.rfind("/")
    return path[:cut] if cut > 0 else "/"


def _show(path: str) -> str:
    return repr(escape(path))


class TreeStore:
    """The flattened file-tree view: absolute path → :class:`TreeEntry` (made on demand)."""

    def __init__(self) -> None:
        self._layers: list[LayerIndex] = []
        self._refs: dict[str, int] = {}
        """path → ``layer << 2 | implicit << 1 | is-a-directory``: the layer that wrote it.
        Below 64 layers these are Python's cached small ints, so a path costs no int object;
        the row is found through the layer's :class:`_RowTable` when an entry is made."""
        self._rows: dict[int, _RowTable] = {}
        self._sorted: SortedList | None = None
        self._frozen: list[str] | None = None
        self._links: dict[str, tuple[int, int]] = {}
        """hard link path → (layer, row) of the file whose content it shares."""
        self._deleted: dict[str, int] = {}
        """path of a non-directory a whiteout (or a replaced parent) removed → layer."""
        self._label = ""
        self._layer = -1

    # -- reading ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._refs)

    def __contains__(self, path: object) -> bool:
        return path in self._refs

    def __getitem__(self, path: str) -> TreeEntry:
        return self._entry(path, self._refs[path])

    def get(self, path: str) -> TreeEntry | None:
        ref = self._refs.get(path)
        return None if ref is None else self._entry(path, ref)

    def paths(self) -> list[str]:
        return list(self._listing())

    def __iter__(self) -> Iterator[TreeEntry]:
        for path in self._listing():
            yield self._entry(path, self._refs[path])

    def under_paths(self, prefix: str) -> Iterator[str]:
        """Paths at or below ``prefix`` (an absolute path), sorted."""
        root = prefix.rstrip("/") or "/"
        listing = self._listing()
        if root == "/":
            yield from listing
            return
        if root in self._refs:
            yield root
        # paths under ROOT/ sort between "ROOT/" and "ROOT0" ("0" follows "/")
        start = bisect_left(listing, root + "/")
        end = bisect_left(listing, root + "0", start)
        yield from itertools.islice(listing, start, end)

    def manifests(self) -> list[TreeEntry]:
        """Every ``buildguard-manifest.json`` file (or hard link to one), sorted by path."""
        found = []
        for path, ref in self._refs.items():
            if path.endswith(MANIFEST_NAME) and path[path.rfind("/") + 1 :] == MANIFEST_NAME:
                entry = self._entry(path, ref)
                if entry.type in ("file", "hardlink"):
                    found.append(entry)
        return sorted(found, key=lambda e: e.path)

    def deleted_by(self, path: str) -> int | None:
        """The layer whose whiteout (or replacement of a parent) removed ``path``, if one did."""
        return self._deleted.get(path)

    def deleted_paths(self) -> list[str]:
        """Every non-directory a whiteout (or a replaced parent) removed, and that no later
        layer wrote again."""
        return list(self._deleted)

    # -- entries ----------------------------------------------------------------------------

    def _row(self, layer: int, path: str) -> int:
        table = self._rows.get(layer)
        if table is None:
            table = self._rows[layer] = _RowTable(self._layers[layer].paths)
        return table.find(path)

    def _entry(self, path: str, ref: int) -> TreeEntry:
        layer = ref >> _LAYER_SHIFT
        if ref & _IMPLICIT:
            return TreeEntry(path, "dir", 0, 0o755, 0, 0, 0, layer, implicit=True)
        row = self._row(layer, path)
        idx = self._layers[layer]
        kind = idx.kind(row)
        size = idx.size(row)
        digest = data = None
        link = idx.link(row)
        if kind == li.HARDLINK:
            content_layer, crow = self._links[path]
            cidx = self._layers[content_layer]
            size = cidx.size(crow)
            digest = cidx.digest(crow)
            data = cidx.data(crow)
            link = normalize(link or "")
        elif kind == li.FILE:
            digest = idx.digest(row)
            data = idx.data(row)
        return TreeEntry(
            path,
            li.KIND_NAMES[kind],  # type: ignore[arg-type]
            size,
            idx.mode(row),
            idx.mtime(row),
            idx.uid(row),
            idx.gid(row),
            layer,
            link_target=link,
            sha256=digest.hex() if digest is not None else None,
            data=data,
        )

    @staticmethod
    def _is_dir(ref: int) -> bool:
        return bool(ref & _DIR)

    @staticmethod
    def _is_implicit(ref: int) -> bool:
        return bool(ref & _IMPLICIT)

    def _current(self, ref: int) -> bool:
        """Written (or created implicitly) by the layer being applied."""
        return ref >> _LAYER_SHIFT == self._layer

    # -- the index of paths ------------------------------------------------------------------

    def _index(self) -> SortedList:
        """The sorted paths, kept up to date as the tree changes (made when flattening
        first needs a subtree: a whiteout of a folder, an opaque marker)."""
        if self._sorted is None:
            from sortedcontainers import SortedList

            self._sorted = SortedList(self._frozen if self._frozen is not None else self._refs)
            self._frozen = None
        return self._sorted

    def _listing(self) -> Sequence[str]:
        """The sorted paths for reading: the kept-up-to-date index if there is one, else a
        plain sorted list made once (half the memory of a SortedList built from scratch)."""
        if self._sorted is not None:
            return self._sorted  # type: ignore[no-any-return]
        if self._frozen is None:
            self._frozen = sorted(self._refs)
        return self._frozen

    def _below(self, directory: str) -> list[str]:
        """Paths strictly below ``directory``, sorted (a copy: safe to change the tree)."""
        index = self._index()
        if directory == "/":
            return list(index)
        return list(index.irange(directory + "/", directory + "0", inclusive=(True, False)))

    # -- changing ---------------------------------------------------------------------------

    def _insert(self, path: str, ref: int) -> None:
        self._frozen = None
        if path not in self._refs and self._sorted is not None:
            self._sorted.add(path)
        self._refs[path] = ref
        self._deleted.pop(path, None)

    def _pop(self, path: str, removed_by: int | None) -> None:
        self._frozen = None
        ref = self._refs.pop(path)
        if self._sorted is not None:
            self._sorted.discard(path)
        self._links.pop(path, None)
        if removed_by is not None and not self._is_dir(ref):
            self._deleted[path] = removed_by

    def _remove(self, path: str, *, replaced: bool = False) -> None:
        """Remove ``path`` and everything below it, recording that this layer deleted them
        (except ``path`` itself when an entry of this layer replaces it)."""
        ref = self._refs.get(path)
        if ref is None:
            return
        if self._is_dir(ref):
            for below in self._below(path):
                self._pop(below, self._layer)
        self._pop(path, None if replaced else self._layer)

    @staticmethod
    def _ref(layer: int, kind: int) -> int:
        return layer << _LAYER_SHIFT | (_DIR if kind == li.DIR else 0)

    def _implicit_ref(self) -> int:
        return self._layer << _LAYER_SHIFT | _IMPLICIT | _DIR

    def _content(self, path: str, ref: int) -> tuple[int, int]:
        """(layer, row) of the file whose content ``path`` has (its own, or a link's)."""
        link = self._links.get(path)
        if link is not None:
            return link
        layer = ref >> _LAYER_SHIFT
        return layer, self._row(layer, path)


class _RowTable:
    """path → row of one layer index: open addressing over an ``array('i')`` (4 bytes a
    slot, two slots a row), where a dict would cost ~60 bytes a row. Names are unique in a
    layer (a layer naming a path twice is refused), so the first match is the row."""

    def __init__(self, paths: list[str]) -> None:
        self._paths = paths
        size = 1 << max(4, (2 * len(paths)).bit_length())
        self._mask = mask = size - 1
        self._slots = slots = array("i", [-1]) * size
        for row, path in enumerate(paths):
            slot = hash(path) & mask
            while slots[slot] != -1:
                slot = (slot + 1) & mask
            slots[slot] = row

    def find(self, path: str) -> int:
        slot = hash(path) & self._mask
        slots = self._slots
        paths = self._paths
        while (row := slots[slot]) != -1:
            if paths[row] == path:
                return row
            slot = (slot + 1) & self._mask
        raise KeyError(path)
