"""Apply layer change-sets, bottom to top, into one file-tree view.

Paths in the view are absolute POSIX paths (``/app/dist/index.js``); the root itself is not
an entry. Rules, per layer (OCI image-spec "Applying changesets"):

1. ``D/.wh..wh..opq`` (opaque directory) removes every child of ``D`` that lower layers
   made; entries of the same layer are kept, because markers apply before the layer's own
   entries.
2. ``D/.wh.NAME`` (whiteout) removes ``D/NAME`` and everything below it from lower layers.
3. Entries apply in tar order; a later duplicate of a path in the same layer wins. A
   non-directory replacing a directory removes everything under it; a directory over a
   directory merges. Missing parents are created as directories.
4. A hard link takes its target's content *as it is at that point* (a later layer that
   replaces the target does not change the link). Its target must already exist and must
   not be a directory. Symlinks are recorded, never followed.

``..`` components anywhere (entry names and hard-link targets) raise
:class:`HostileImage` naming the layer; leading ``/`` and ``./`` are normalised away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from buildguard.errors import HostileImage
from buildguard.image.tarwalk import TYPE_DIR, TYPE_FILE, TYPE_HARDLINK, TarEntry

MANIFEST_NAME = "buildguard-manifest.json"
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"

EntryType = Literal["file", "dir", "symlink", "hardlink", "other"]
WantFn = Callable[[str], int]


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
    """Hex content digest; only for files that were asked for (and their hard links)."""
    data: bytes | None = field(default=None, repr=False)
    """Raw bytes, kept for ``buildguard-manifest.json`` files only."""


def normalize(name: str, label: str, what: str = "entry") -> str | None:
    """``./a//b/`` → ``/a/b``; ``None`` for the root. ``..`` raises :class:`HostileImage`."""
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise HostileImage(
                f"{label}: {what} {name!r} contains a '..' component and would escape the "
                "image root",
                hint="the layer was crafted or corrupted; do not trust this image",
            )
        parts.append(part)
    if not parts:
        return None
    return "/" + "/".join(parts)


def _parent(path: str) -> str:
    cut = path.rfind("/")
    return path[:cut] if cut > 0 else "/"


class FileTree:
    """The flattened file-tree view: absolute path → :class:`TreeEntry`."""

    def __init__(self, prefixes: tuple[str, ...] = ()) -> None:
        self._entries: dict[str, TreeEntry] = {}
        self._children: dict[str, set[str]] = {"/": set()}
        self._prefixes = prefixes
        """When set, the walker recorded only entries relevant to these prefixes."""

    # -- reading ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, path: object) -> bool:
        return path in self._entries

    def __getitem__(self, path: str) -> TreeEntry:
        return self._entries[path]

    def get(self, path: str) -> TreeEntry | None:
        return self._entries.get(path)

    def mapping(self) -> Mapping[str, TreeEntry]:
        """A read-only view: absolute path → entry (unordered; nothing is copied)."""
        return MappingProxyType(self._entries)

    def paths(self) -> list[str]:
        return sorted(self._entries)

    def __iter__(self) -> Iterator[TreeEntry]:
        for path in sorted(self._entries):
            yield self._entries[path]

    def under(self, prefix: str) -> Iterator[TreeEntry]:
        """Entries at or below ``prefix`` (an absolute path), sorted."""
        root = prefix.rstrip("/") or "/"
        for path in sorted(self._entries):
            if root == "/" or path == root or path.startswith(root + "/"):
                yield self._entries[path]

    def manifests(self) -> list[TreeEntry]:
        """Every ``buildguard-manifest.json`` file (or hard link to one), sorted by path."""
        return [
            e
            for e in self
            if e.path.rsplit("/", 1)[-1] == MANIFEST_NAME and e.type in ("file", "hardlink")
        ]

    # -- changing ---------------------------------------------------------------------------

    def _remove(self, path: str) -> None:
        entry = self._entries.pop(path, None)
        if entry is None:
            return
        self._children.get(_parent(path), set()).discard(path)
        if entry.type == TYPE_DIR:
            self._clear(path)
            self._children.pop(path, None)

    def _clear(self, directory: str) -> None:
        stack = list(self._children.get(directory, ()))
        self._children[directory] = set()
        while stack:
            path = stack.pop()
            entry = self._entries.pop(path, None)
            if entry is not None and entry.type == TYPE_DIR:
                stack.extend(self._children.pop(path, ()))

    def _ensure_parent(self, path: str, layer: int) -> None:
        parent = _parent(path)
        if parent == "/":
            return
        existing = self._entries.get(parent)
        if existing is not None and existing.type == TYPE_DIR:
            return
        self._ensure_parent(parent, layer)
        if existing is not None:
            self._remove(parent)
        self._put(TreeEntry(parent, "dir", 0, 0o755, 0, 0, 0, layer))

    def _put(self, entry: TreeEntry) -> None:
        path = entry.path
        old = self._entries.get(path)
        if old is not None and old.type == TYPE_DIR and entry.type != TYPE_DIR:
            self._clear(path)
            self._children.pop(path, None)
        self._entries[path] = entry
        self._children.setdefault(_parent(path), set()).add(path)
        if entry.type == TYPE_DIR:
            self._children.setdefault(path, set())

    def apply_layer(self, index: int, entries: Iterable[TarEntry], label: str) -> None:
        """Apply one layer's tar entries (in tar order) on top of the tree."""
        opaque: list[str] = []
        whiteouts: list[str] = []
        regular: list[tuple[str, TarEntry]] = []
        for raw in entries:
            path = normalize(raw.name, label)
            if path is None:
                continue  # the root directory itself
            base = path[path.rfind("/") + 1 :]
            if base.startswith(WHITEOUT):
                parent = _parent(path)
                if base == OPAQUE:
                    opaque.append(parent)
                elif not base.startswith(WHITEOUT + WHITEOUT):  # other .wh..wh.* are aufs internals
                    target = base[len(WHITEOUT) :]
                    if target in ("", ".", ".."):
                        raise HostileImage(
                            f"{label}: whiteout {raw.name!r} names no valid path",
                            hint="the layer was crafted or corrupted; do not trust this image",
                        )
                    whiteouts.append(("" if parent == "/" else parent) + "/" + target)
                continue
            regular.append((path, raw))
        for directory in opaque:
            if directory == "/" or self._entries.get(directory, None) is not None:
                self._clear(directory)
        for path in whiteouts:
            self._remove(path)
        for path, raw in regular:
            self._apply_entry(index, path, raw, label)

    def _pruned_away(self, path: str) -> bool:
        if not self._prefixes:
            return False
        return not any(path == p or path.startswith(p + "/") for p in self._prefixes)

    def _apply_entry(self, index: int, path: str, raw: TarEntry, label: str) -> None:
        self._ensure_parent(path, index)
        kind = raw.type
        if kind == TYPE_HARDLINK:
            target = normalize(raw.linkname, label, "hard link target")
            linked = self._entries.get(target) if target is not None else None
            if target is not None and linked is None and self._pruned_away(target):
                # its target lies outside the paths read, so it was not recorded: the link
                # is kept, its content unknown (never taken for a match)
                self._put(TreeEntry(path, "hardlink", 0, raw.mode, raw.mtime, raw.uid,
                                    raw.gid, index, link_target=target))
                return
            if target is None or linked is None or linked.type == TYPE_DIR:
                raise HostileImage(
                    f"{label}: hard link {raw.name!r} points to {raw.linkname!r}, which "
                    + ("is a directory" if linked is not None else "does not exist")
                    + " in the image at that layer",
                    hint="the layer was crafted or corrupted; do not trust this image",
                )
            if target == path:
                return  # a link to itself changes nothing
            entry = TreeEntry(
                path,
                "hardlink",
                linked.size,
                raw.mode,
                raw.mtime,
                raw.uid,
                raw.gid,
                index,
                link_target=target,
                sha256=linked.sha256,
                data=linked.data,
            )
        elif kind == TYPE_FILE:
            entry = TreeEntry(
                path, "file", raw.size, raw.mode, raw.mtime, raw.uid, raw.gid, index,
                sha256=raw.sha256, data=raw.data,
            )
        elif kind == TYPE_DIR:
            entry = TreeEntry(path, "dir", 0, raw.mode, raw.mtime, raw.uid, raw.gid, index)
        elif kind == "symlink":
            entry = TreeEntry(
                path, "symlink", 0, raw.mode, raw.mtime, raw.uid, raw.gid, index,
                link_target=raw.linkname,
            )
        else:
            entry = TreeEntry(path, "other", 0, raw.mode, raw.mtime, raw.uid, raw.gid, index)
        self._put(entry)


def flatten(layers: Iterable[tuple[Iterable[TarEntry], str]]) -> FileTree:
    """Flatten ``(entries, label)`` pairs given bottom layer first."""
    tree = FileTree()
    for index, (entries, label) in enumerate(layers):
        tree.apply_layer(index, entries, label)
    return tree


def wanted(paths: Iterable[str]) -> tuple[str, ...]:
    """Normalise the ``--path`` arguments to absolute prefixes (``()`` means everything)."""
    out: list[str] = []
    for p in paths:
        norm = normalize(p, "--path", "path")
        if norm is None:
            return ()
        out.append(norm)
    return tuple(out)


def _strip(name: str) -> str | None:
    """A tar name as a relative path (``./a//b/`` → ``a/b``); ``None`` if it has ``..``."""
    stripped = name
    while stripped.startswith(("./", "/")):
        stripped = stripped[1:] if stripped[0] == "/" else stripped[2:]
    if "//" in stripped or "/./" in stripped or ".." in stripped:
        parts = [p for p in stripped.split("/") if p not in ("", ".")]
        if ".." in parts:
            return None
        stripped = "/".join(parts)
    return stripped.rstrip("/")


class Want:
    """The tar walker's questions for one set of ``--path`` prefixes.

    ``want(name)``: hash files under the prefixes (all files when there are none), hash
    and keep every ``buildguard-manifest.json``. ``relevant(name)``: whether an entry can
    matter to the view under the prefixes at all; the walker records only those (with no
    prefixes, every entry is relevant and ``relevant`` is ``None``). Relevant are entries
    under a prefix, ancestors of a prefix (a folder replaced by a file), manifests,
    whiteouts, and names with ``..`` (so that flattening rejects them).
    """

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        self.prefixes = prefixes
        self._rel = tuple(p.lstrip("/") for p in prefixes)
        self._rel_dirs = tuple(p + "/" for p in self._rel)
        self.relevant: Callable[[str], bool] | None = self._relevant if prefixes else None

    def __call__(self, name: str) -> int:
        if name.endswith(MANIFEST_NAME) and _is_manifest(name):
            return 2
        if not self._rel:
            return 1
        stripped = _strip(name)
        if stripped is None:
            return 0  # rejected with the layer's name when the layer is applied
        return 1 if stripped in self._rel or stripped.startswith(self._rel_dirs) else 0

    def _relevant(self, name: str) -> bool:
        stripped = _strip(name)
        if stripped is None or not stripped:
            return True
        if stripped in self._rel or stripped.startswith(self._rel_dirs):
            return True
        base = stripped[stripped.rfind("/") + 1 :]
        if base.startswith(WHITEOUT) or base == MANIFEST_NAME:
            return True
        ancestor = stripped + "/"
        return any(r.startswith(ancestor) for r in self._rel)


def make_want(prefixes: tuple[str, ...]) -> Want:
    """The tar walker's ``want`` (and ``relevant``) for these prefixes."""
    return Want(prefixes)


def _is_manifest(name: str) -> bool:
    return name.rstrip("/").rsplit("/", 1)[-1] == MANIFEST_NAME

