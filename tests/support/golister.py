"""Go's ``archive/tar`` as an oracle: build ``tests/support/golister`` and ask it to list tars.

``build_golister(dir)`` runs ``go build`` offline (GOCACHE/GOPATH inside ``dir``,
``GOPROXY=off``: the program uses the standard library only). :class:`GoLister` keeps one
process running and sends it one tar at a time (length-prefixed on stdin); each answer is
the list of entries ``Reader.Next()`` returned and the error that ended the walk.

:func:`runtime_view` then applies what the layer extractors of moby 20.10 and containerd
do with each header (their type switch), so a test compares buildguard with the runtime's
reading, not with Go's alone.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goprogram import GoProcess, build_go_program

from buildguard._image.tarsparse import SPARSE_LIMIT

SOURCE = Path(__file__).resolve().parent / "golister"

# Type flags the extractors' createTarFile switch handles (moby 20.10 pkg/archive/archive.go,
# containerd pkg/archive/tar.go); Go has already turned NUL into '0' or '5'.
ACCEPTED_TYPES = frozenset(b"0123456g")
GO_KIND = {
    ord("0"): "file",
    ord("1"): "hardlink",
    ord("2"): "symlink",
    ord("3"): "other",
    ord("4"): "other",
    ord("5"): "dir",
    ord("6"): "other",
}


class GoListerError(RuntimeError):
    pass


def build_golister(work: Path) -> Path:
    """``go build`` the lister into ``work`` and return the binary's path."""
    return build_go_program(SOURCE, work, GoListerError)


@dataclass(frozen=True)
class GoEntry:
    """One header as Go's ``Reader.Next()`` returned it (names as raw bytes)."""

    name: bytes
    linkname: bytes
    typeflag: int
    size: int
    copied: int
    mode: int
    uid: int
    gid: int
    mtime: int
    mtime_nsec: int
    format: str
    pax: dict[bytes, bytes]
    sha256: str
    copy_error: str | None
    sparse: bool
    """A GNU sparse file (type S or GNU.sparse.* records); its expanded data is copied up
    to buildguard's bound."""


@dataclass(frozen=True)
class GoListing:
    entries: list[GoEntry]
    error: str
    """``"EOF"`` for a clean end, else Go's error text."""

    @property
    def clean(self) -> bool:
        return self.error == "EOF" and not any(e.copy_error for e in self.entries)


def _entry(raw: dict[str, Any]) -> GoEntry:
    def b(key: str) -> bytes:
        return base64.b64decode(str(raw[key]))

    return GoEntry(
        name=b("name"),
        linkname=b("linkname"),
        typeflag=int(raw["typeflag"]),
        size=int(raw["size"]),
        copied=int(raw["copied"]),
        mode=int(raw["mode"]),
        uid=int(raw["uid"]),
        gid=int(raw["gid"]),
        mtime=int(raw["mtime"]),
        mtime_nsec=int(raw["mtime_nsec"]),
        format=str(raw["format"]),
        pax={base64.b64decode(k): base64.b64decode(v) for k, v in raw["pax"].items()},
        sha256=str(raw["sha256"]),
        copy_error=raw["copy_error"] if isinstance(raw["copy_error"], str) else None,
        sparse=bool(raw["sparse"]),
    )


class GoLister(GoProcess):
    """One running ``golister``; :meth:`list` is one round trip."""

    def list(self, data: bytes) -> GoListing:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(struct.pack(">Q", len(data)) + data)
        self.proc.stdin.flush()
        self.calls += 1
        entries = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise GoListerError(f"golister stopped: {self.stderr_text()}")
            raw = json.loads(line)
            if raw.get("end"):
                return GoListing(entries, str(raw["error"]))
            entries.append(_entry(raw))


@dataclass(frozen=True)
class Listed:
    """An entry in the terms both readers can be compared in."""

    name: bytes | None
    """The path the entry is written to (``/a/b``), raw bytes; ``None``: see
    :func:`runtime_path`."""
    kind: str
    size: int
    """Bytes of data the entry carries (what ``io.Copy`` reads; 0 for header-only types)."""
    mode: int
    uid: int
    gid: int
    mtime: int
    linkname: bytes | None
    """For hard links and symlinks only."""
    sha256: str | None
    """For regular files only."""


@dataclass
class RuntimeView:
    """What the runtimes make of a tar: its entries, or why they refuse it."""

    entries: list[Listed] = field(default_factory=list)
    refused: str | None = None
    globals_: list[bytes] = field(default_factory=list)
    """Names of the PAX global headers (``g``): entries for Go, ignored as files."""


def runtime_path(name: bytes) -> bytes | None:
    """Where the extractors put an entry: ``/`` + the name's components without empty and
    ``.`` ones (``filepath.Clean`` joined to the root); ``None`` when a ``..`` component
    makes that depend on more than the name (buildguard refuses those)."""
    parts = [p for p in name.split(b"/") if p not in (b"", b".")]
    if b".." in parts:
        return None
    return b"/" + b"/".join(parts)


def runtime_view(listing: GoListing) -> RuntimeView:
    """Go's listing, then the extractors' type switch; a PAX sparse file expanding past
    buildguard's bound is refused by design (type ``S`` is refused by the type switch).

    Names become the paths the extractors write (:func:`runtime_path`); a PAX global header
    (``g``) is listed as kind ``global`` with its name only (the extractors create no file
    for it, but act on its path)."""
    view = RuntimeView()
    for e in listing.entries:
        if e.copy_error:
            view.refused = f"reading the data of {e.name!r} failed: {e.copy_error}"
            return view
        if e.typeflag not in ACCEPTED_TYPES:
            view.refused = f"unhandled tar header type {e.typeflag} ({e.name!r})"
            return view
        path = runtime_path(e.name)
        if e.typeflag == ord("g"):  # no file, whatever its records say
            view.globals_.append(e.name)
            view.entries.append(Listed(path, "global", 0, 0, 0, 0, 0, None, None))
            continue
        if e.sparse and e.size > SPARSE_LIMIT:
            view.refused = f"a sparse file of {e.size} bytes on {e.name!r} (bounded by design)"
            return view
        kind = GO_KIND[e.typeflag]
        view.entries.append(
            Listed(
                name=path,
                kind=kind,
                size=e.copied,
                mode=e.mode & 0o7777,
                uid=e.uid,
                gid=e.gid,
                mtime=e.mtime,
                linkname=e.linkname if kind in ("hardlink", "symlink") else None,
                sha256=e.sha256 if kind == "file" else None,
            )
        )
    if listing.error != "EOF":
        view.refused = f"archive/tar: {listing.error}"
    return view
