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
   accepted only where that name is free (never for the root: dockerd then fails).
6. A path named twice in one layer is refused (dockerd refuses the layer, containerd takes
   the last).

Names with ``..``, names of the root that are not directories, whiteout-named directories
and aufs metadata (``.wh..wh.*``) are refused with :class:`HostileImage` naming the layer.

The tree keeps one small integer per path (a reference to the layer index row that wrote
it); :class:`TreeEntry` objects are made only when asked for.
"""

from __future__ import annotations

import posixpath

from buildguard._image import layerindex as li
from buildguard._image.layerindex import LayerIndex
from buildguard._image.tarwalk import normalize
from buildguard._image.tree import TreeEntry, TreeStore, _parent, _show
from buildguard._image.want import PathWant, make_want, wanted
from buildguard.errors import HostileImage

__all__ = ["FileTree", "PathWant", "TreeEntry", "make_want", "wanted"]

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
_META = ".wh..wh."


class FileTree(TreeStore):
    """A :class:`TreeStore` that layers are applied to, by the extractors' rules."""

    def _hostile(self, what: str) -> HostileImage:
        return HostileImage(
            f"{self._label}: {what}; container runtimes would extract it differently from "
            "what buildguard reads, so buildguard refuses the layer",
            hint="the layer was crafted or corrupted; do not trust this image",
        )

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
                        + ("write through the link" if kind == "symlink" else "fail")
                        + ")"
                    )
                break
            missing.append(directory)
            directory = _parent(directory)
        for path in reversed(missing):
            self._insert(path, self._implicit_ref())

    def apply_layer(self, layer: int, index: LayerIndex, label: str) -> None:
        """Apply one layer's entries (in tar order) on top of the tree."""
        if layer != len(self._layers):
            raise ValueError(f"layer {layer} applied out of order")
        self._layers.append(index)
        self._layer = layer
        self._label = label
        self._special_names: set[str] = set()
        paths = index.paths
        for row in range(len(paths)):
            kind = index.kind(row)
            self._apply(paths[row], kind, self._ref(layer, kind), index, row)

    def _apply(self, path: str, kind: int, ref: int, index: LayerIndex, row: int) -> None:
        if path == "/":
            if kind != li.DIR:  # a 'g' header too: dockerd RemoveAll()s what it names
                raise self._hostile(f"a {li.KIND_NAMES[kind]} entry names the image root")
            if not index.mode(row) & 0o001:  # dockerd chmods the root to it, containerd not
                raise self._hostile(
                    f"the image root's entry has mode {index.mode(row) & 0o7777:04o}: others "
                    "cannot enter it (dockerd applies it to the container's root, containerd "
                    "ignores it)"
                )
            self._once(path)
            return
        parent = _parent(path)
        name = path[len(parent) + (0 if parent == "/" else 1) :]
        if "/" + WHITEOUT in parent:
            raise self._hostile(f"{_show(path)} lies in a whiteout-named directory")
        if name.startswith(WHITEOUT):
            self._once(path)
            self._ensure_dir(parent)
            if name == OPAQUE:
                self._opaque(parent)
            elif name.startswith(_META) or name[len(WHITEOUT) :] in ("", ".", ".."):
                raise self._hostile(f"{_show(path)} is aufs metadata or names no path")
            else:
                self._whiteout(posixpath.join(parent, name[len(WHITEOUT) :]))
            return
        if kind == li.GLOBAL:
            self._once(path)
            self._global(path, parent)
            return
        self._ensure_dir(parent)
        old = self._refs.get(path)
        if old is not None:
            if not self._is_implicit(old) and self._current(old):
                raise self._duplicate(path)
            if kind == li.DIR and self._is_dir(old):
                self._insert(path, ref)  # a directory over a directory: merged
                return
            self._remove(path, replaced=True)
        if kind == li.HARDLINK:
            self._link(path, index, row)
        self._insert(path, ref)

    def _once(self, path: str) -> None:
        """Names that are not kept in the tree (the root, whiteouts, global headers) must
        not repeat in a layer either."""
        if path in self._special_names:
            raise self._duplicate(path)
        self._special_names.add(path)

    def _duplicate(self, path: str) -> HostileImage:
        return self._hostile(
            f"{_show(path)} appears twice in the layer (dockerd refuses such a layer: "
            '"duplicates of file paths not supported"; containerd applies the last)'
        )

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
                if self._is_implicit(aref) or not self._current(aref):
                    raise self._hostile(
                        f"an opaque marker for {_show(directory)} follows {_show(path)} of the "
                        f"same layer, under {_show(ancestor)}, which that layer did not write"
                    )
                ancestor = _parent(ancestor)
            if self._is_implicit(ref):
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
            tentry.mode,
            tentry.uid,
            tentry.gid,
        ):
            raise self._hostile(
                f"hard link {_show(path)} has another mode or owner than its target "
                f"{_show(target)} (the extractors would change the target's)"
            )
        self._links[path] = self._content(target, tref)
