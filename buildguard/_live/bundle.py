"""The sealed bundle indexed for the live check, and the builds the site says it serves.

:class:`BundleIndex` answers "which file of this build has these bytes / this name";
:class:`ServedBuilds` collects every ``buildguard-manifest.json`` the site served (each
sample may reach another backend) to say which build some served bytes belong to.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field

from pathspec import PathSpec

from buildguard.models import BundleManifest, FileEntry

ENTRY = "index.html"


class BundleIndex:
    def __init__(self, manifest: BundleManifest, allow_changed: Sequence[str] = ()) -> None:
        self.manifest = manifest
        self.files: dict[str, FileEntry] = {f.path: f for f in manifest.files if f.type == "file"}
        self.by_digest: dict[str, list[str]] = {}
        for entry in self.files.values():
            self.by_digest.setdefault(entry.sha256, []).append(entry.path)
        self.names = frozenset(posixpath.basename(p) for p in self.files)
        self.entry = self.files.get(ENTRY)
        self.largest = max((f.size for f in self.files.values()), default=0)
        self._allowed = (
            PathSpec.from_lines("gitwildmatch", allow_changed) if allow_changed else None
        )

    @property
    def build_id(self) -> str:
        return self.manifest.build_id

    def allowed_changed(self, path: str) -> bool:
        return self._allowed is not None and self._allowed.match_file(path)

    def has_assets(self) -> bool:
        """Whether the bundle has anything besides its entry page that a page would load."""
        return any(p.endswith((".js", ".mjs", ".css")) for p in self.files)


@dataclass
class ServedBuild:
    manifest: BundleManifest
    by_digest: dict[str, list[str]] = field(default_factory=dict)
    paths: frozenset[str] = frozenset()


class ServedBuilds:
    """Every other build's manifest the site served, by build id."""

    def __init__(self, this_build: str) -> None:
        self._this = this_build
        self.builds: dict[str, ServedBuild] = {}
        self.largest = 0

    def add(self, manifest: BundleManifest) -> None:
        if manifest.build_id == self._this or manifest.build_id in self.builds:
            return
        served = ServedBuild(manifest, paths=frozenset(f.path for f in manifest.files))
        self.largest = max([self.largest, *(f.size for f in manifest.files)])
        for entry in manifest.files:
            served.by_digest.setdefault(entry.sha256, []).append(entry.path)
        self.builds[manifest.build_id] = served

    def owner_of_bytes(self, sha256: str) -> tuple[str, str] | None:
        """(build id, path) of another build's file with these bytes."""
        for build_id, served in self.builds.items():
            paths = served.by_digest.get(sha256)
            if paths:
                return build_id, paths[0]
        return None

    def owner_of_paths(self, paths: Sequence[str]) -> str | None:
        """The other build whose manifest lists all of ``paths``."""
        for build_id, served in self.builds.items():
            if paths and all(p in served.paths for p in paths):
                return build_id
        return None
