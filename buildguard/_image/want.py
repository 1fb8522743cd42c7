"""Which files the tar reader hashes, for a set of ``--path`` prefixes."""

from __future__ import annotations

from collections.abc import Iterable

from buildguard._image.tarwalk import normalize
from buildguard._internal.modeltypes import MANIFEST_NAME
from buildguard.errors import UsageError


def wanted(paths: Iterable[str]) -> tuple[str, ...]:
    """Normalise the ``--path`` arguments to absolute prefixes (``()`` means everything)."""
    out: list[str] = []
    for p in paths:
        norm = normalize(p.strip())  # as the checks read it (checks.normalise_root)
        if norm is None:
            raise UsageError(
                f"--path {p!r} has a '..' component",
                hint="name the folder in the image by its absolute path",
            )
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
