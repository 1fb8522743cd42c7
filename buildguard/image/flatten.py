"""Apply layer indexes, bottom to top, in tar order, into one file-tree view — as the
container runtime's extractors (dockerd, containerd, umoci) would, or refuse.

Paths are absolute POSIX paths (``/app/dist/index.js``); the root itself is not an entry.
Per entry, in tar order (``docs/decisions.md``, "Applying a layer"):

1. ``D/.wh..wh..opq`` removes every child of ``D`` that lower layers made; ``D/.wh.NAME``
   removes ``D/NAME`` and its subtree. The extractors apply these in tar order and so also
   delete what the *same* layer wrote before them, where the OCI spec keeps it: a layer in
   which that happens is refused, so either reading gives the same tree.
2. Every existing ancestor of an entry must be a directory: under a symlink the extractors
   write through the link, under a file they fail; both are refused. Missing ancestors are
   created as directories (their attributes differ between extractors and are never judged).
3. A directory over a directory merges; anything else replaces what was there, subtree and all.
4. A hard link takes its target's content as it is at that point; the target must be a
   regular file with the same mode and owner, and must not be the link itself.
5. A PAX global header is no file, but the extractors remove whatever its name names: it is
   accepted only where that name is free.

Names with ``..``, names of the root that are not directories, whiteout-named directories
and aufs metadata (``.wh..wh.*``) are refused with :class:`HostileImage` naming the layer.

The tree keeps one small integer per path (a reference to the layer index row that wrote
it); :class:`TreeEntry` objects are made only when asked for.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from sortedcontainers import SortedList

from buildguard._internal.pathescape import escape
from buildguard.errors import HostileImage, UsageError
from buildguard.image import layerindex as li
from buildguard.image.layerindex import LayerIndex
from buildguard.image.tarwalk import normalize

MANIFEST_NAME = "buildguard-manifest.json"
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
_META = ".wh..wh."
_LAYER_SHIFT = 33
_ROW_MASK = (1 << 32) - 1

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


class FileTree:
    """The flattened file-tree view: absolute path → :class:`TreeEntry` (made on demand)."""

    def __init__(self) -> None:
        self._layers: list[LayerIndex] = []
        self._refs: dict[str, int] = {}
        """path → ``layer << 33 | row << 1 | is-a-directory``, or ``-1 - layer`` for an
        implicit directory (one small int per path; the entry itself is made on demand)."""
        self._sorted: SortedList | None = None
        self._links: dict[str, int] = {}
        """hard link path → the reference of the file row whose content it shares."""
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
        return list(self._index())

    def __iter__(self) -> Iterator[TreeEntry]:
        for path in self._index():
            yield self._entry(path, self._refs[path])

    def under_paths(self, prefix: str) -> Iterator[str]:
        """Paths at or below ``prefix`` (an absolute path), sorted."""
        root = prefix.rstrip("/") or "/"
        index = self._index()
        if root == "/":
            yield from index
            return
        if root in self._refs:
            yield root
        yield from index.irange(root + "/", root + "0", inclusive=(True, False))

    def under(self, prefix: str) -> Iterator[TreeEntry]:
        for path in self.under_paths(prefix):
            yield self._entry(path, self._refs[path])

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

    def mapping(self) -> Mapping[str, TreeEntry]:
        """A read-only mapping view (entries made on access)."""
        return _TreeMapping(self)

    # -- entries ----------------------------------------------------------------------------

    def _entry(self, path: str, ref: int) -> TreeEntry:
        if ref < 0:
            return TreeEntry(path, "dir", 0, 0o755, 0, 0, 0, -1 - ref, implicit=True)
        layer = ref >> _LAYER_SHIFT
        row = (ref >> 1) & _ROW_MASK
        idx = self._layers[layer]
        kind = idx.kind(row)
        size = idx.size(row)
        digest = data = None
        link = idx.link(row)
        if kind == li.HARDLINK:
            content = self._links[path]
            cidx = self._layers[content >> _LAYER_SHIFT]
            crow = (content >> 1) & _ROW_MASK
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
        return ref < 0 or bool(ref & 1)

    def _current(self, ref: int) -> bool:
        """Written (or created implicitly) by the layer being applied."""
        return ref == -1 - self._layer or (ref >= 0 and ref >> _LAYER_SHIFT == self._layer)

    # -- the index of paths ------------------------------------------------------------------

    def _index(self) -> SortedList:
        if self._sorted is None:
            self._sorted = SortedList(self._refs)
        return self._sorted

    def _below(self, directory: str) -> list[str]:
        """Paths strictly below ``directory``, sorted (a copy: safe to change the tree)."""
        index = self._index()
        if directory == "/":
            return list(index)
        return list(index.irange(directory + "/", directory + "0", inclusive=(True, False)))

    # -- changing ---------------------------------------------------------------------------

    def _hostile(self, what: str) -> HostileImage:
        return HostileImage(
            f"{self._label}: {what}; container runtimes would extract it differently from "
            "what buildguard reads, so buildguard refuses the layer",
            hint="the layer was crafted or corrupted; do not trust this image",
        )

    def _insert(self, path: str, ref: int) -> None:
        if path not in self._refs and self._sorted is not None:
            self._sorted.add(path)
        self._refs[path] = ref
        self._deleted.pop(path, None)

    def _pop(self, path: str, removed_by: int | None) -> None:
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

    def _ensure_dir(self, directory: str) -> None:
        """``directory`` exists as a directory afterwards (created with its missing
        ancestors), or the entry lies under a symlink or a file: refused."""
        missing: list[str] = []
        while directory != "/":
            ref = self._refs.get(directory)
            if ref is not None:
                if not self._is_dir(ref):
                    kind = self._entry(directory, ref).type
                    raise self._hostile(
                        f"an entry lies under {_show(directory)}, which is a {kind} at that "
                        "point (the runtime would "
                        + ("write through the link" if kind == "symlink" else "fail") + ")"
                    )
                break
            missing.append(directory)
            directory = _parent(directory)
        for path in reversed(missing):
            self._insert(path, -1 - self._layer)

    def apply_layer(self, layer: int, index: LayerIndex, label: str) -> None:
        """Apply one layer's entries (in tar order) on top of the tree."""
        if layer != len(self._layers):
            raise ValueError(f"layer {layer} applied out of order")
        self._layers.append(index)
        self._layer = layer
        self._label = label
        base = layer << _LAYER_SHIFT
        paths = index.paths
        for row in range(len(paths)):
            kind = index.kind(row)
            self._apply(paths[row], kind, base | row << 1 | (kind == li.DIR), index, row)

    def _apply(self, path: str, kind: int, ref: int, index: LayerIndex, row: int) -> None:
        if path == "/":
            if kind in (li.DIR, li.GLOBAL):
                return
            raise self._hostile(f"a {li.KIND_NAMES[kind]} entry names the image root")
        parent = _parent(path)
        name = path[len(parent) + (0 if parent == "/" else 1) :]
        if "/" + WHITEOUT in parent:
            raise self._hostile(f"{_show(path)} lies in a whiteout-named directory")
        if name.startswith(WHITEOUT):
            self._ensure_dir(parent)
            if name == OPAQUE:
                self._opaque(parent)
            elif name.startswith(_META) or name[len(WHITEOUT) :] in ("", ".", ".."):
                raise self._hostile(f"{_show(path)} is aufs metadata or names no path")
            else:
                self._whiteout(posixpath.join(parent, name[len(WHITEOUT) :]))
            return
        if kind == li.GLOBAL:
            self._global(path, parent)
            return
        self._ensure_dir(parent)
        old = self._refs.get(path)
        if old is not None:
            if kind == li.DIR and self._is_dir(old):
                self._insert(path, ref)  # a directory over a directory: merged
                return
            self._remove(path, replaced=True)
        if kind == li.HARDLINK:
            self._link(path, index, row)
        self._insert(path, ref)

    def _whiteout(self, target: str) -> None:
        old = self._refs.get(target)
        if old is None:
            return
        same_layer = self._current(old) or (
            self._is_dir(old) and any(self._current(self._refs[p]) for p in self._below(target))
        )
        if same_layer:
            raise self._hostile(
                f"a whiteout deletes {_show(target)}, which this same layer wrote before it"
            )
        self._remove(target)

    def _opaque(self, directory: str) -> None:
        doomed = []
        for path in self._below(directory):
            ref = self._refs[path]
            if not self._current(ref):
                doomed.append(path)
                continue
            ancestor = _parent(path)
            while ancestor != directory:
                aref = self._refs[ancestor]
                if aref < 0 or not self._current(aref):
                    raise self._hostile(
                        f"an opaque marker for {_show(directory)} follows {_show(path)} of the "
                        f"same layer, under {_show(ancestor)}, which that layer did not write"
                    )
                ancestor = _parent(ancestor)
            if ref < 0:
                raise self._hostile(
                    f"an opaque marker for {_show(directory)} follows entries of the same "
                    f"layer under {_show(path)}, which that layer did not write"
                )
        for path in doomed:
            if path in self._refs:
                self._pop(path, self._layer)

    def _global(self, path: str, parent: str) -> None:
        pref = self._refs.get(parent)
        parent_ok = parent == "/" or (pref is not None and self._is_dir(pref))
        if path in self._refs or not parent_ok:
            raise self._hostile(
                f"a PAX global header is named {_show(path)}; the extractors would delete "
                "or create paths for it"
            )

    def _link(self, path: str, index: LayerIndex, row: int) -> None:
        raw = index.link(row) or ""
        target = normalize(raw)
        if target is None or target == "/":
            raise self._hostile(f"hard link {_show(path)} points to {_show(raw)}")
        tref = self._refs.get(target)
        if tref is None or target == path:
            raise self._hostile(
                f"hard link {_show(path)} points to {_show(target)}, which "
                + ("is the link itself" if target == path else "does not exist at that point")
            )
        tentry = self._entry(target, tref)
        if tentry.type not in ("file", "hardlink"):
            raise self._hostile(
                f"hard link {_show(path)} points to {_show(target)}, which is a {tentry.type}"
            )
        if (index.mode(row), index.uid(row), index.gid(row)) != (
            tentry.mode, tentry.uid, tentry.gid
        ):
            raise self._hostile(
                f"hard link {_show(path)} has another mode or owner than its target "
                f"{_show(target)} (the extractors would change the target's)"
            )
        self._links[path] = self._links.get(target, tref)


class _TreeMapping(Mapping[str, TreeEntry]):
    def __init__(self, tree: FileTree) -> None:
        self._tree = tree

    def __getitem__(self, path: str) -> TreeEntry:
        return self._tree[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tree.paths())

    def __len__(self) -> int:
        return len(self._tree)

    def __contains__(self, path: object) -> bool:
        return path in self._tree


def wanted(paths: Iterable[str]) -> tuple[str, ...]:
    """Normalise the ``--path`` arguments to absolute prefixes (``()`` means everything)."""
    out: list[str] = []
    for p in paths:
        norm = normalize(p)
        if norm is None:
            raise UsageError(f"--path {p!r} has a '..' component",
                             hint="name the folder in the image by its absolute path")
        if norm == "/":
            return ()
        out.append(norm)
    return tuple(out)


class PathWant:
    """Which files the tar reader hashes for one set of ``--path`` prefixes: files under the
    prefixes (every file when there are none) are hashed, and every
    ``buildguard-manifest.json`` is hashed and kept."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        self.prefixes = prefixes
        self._dirs = tuple(p + "/" for p in prefixes)

    def __call__(self, path: str) -> int:
        if path.endswith(MANIFEST_NAME) and path[path.rfind("/") + 1 :] == MANIFEST_NAME:
            return 2
        if not self.prefixes:
            return 1
        return 1 if path in self.prefixes or path.startswith(self._dirs) else 0


def make_want(prefixes: tuple[str, ...]) -> PathWant:
    return PathWant(prefixes)
