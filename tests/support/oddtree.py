"""A source tree and a bundle with odd names (not UTF-8, backslashes, control characters,
glob characters), symlinks of every kind, exec bits and chunk-boundary sizes; and the plain
reference implementations of record and seal that buildguard's output must equal byte for
byte."""

from __future__ import annotations

import hashlib
import os
import random
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import magic
import pathspec

from buildguard._internal.pathescape import decode_name, escape
from buildguard.models import BundleManifest, FileEntry, Record

MIB = 1 << 20
ODD_NAMES = [
    b"plain.js",
    b"with space.txt",
    "café.js".encode(),
    b"caf\xe9.js",
    b"back\\slash.js",
    b'quote".js',
    b"new\nline.txt",
    b"ctrl\x01char",
    b"tab\tname.css",
    "emoji😀.svg".encode(),
    b"-dash",
    b"#hash",
    b"!bang",
    b"[glob].js",
    b"star*.js",
    b"q?.js",
    b"x\\xff",
    b"\xff\xfe",
    b"\xed\xa0\x80",
    b"long" * 60,
    b"UPPER.JS",
    b".hidden",
    b"trailing space ",
    b"dos\r",
    b"keep.log",
    b"drop.log",
    b"app.js.map",
    b"noext",
    b"archive.tar.gz",
]
GITIGNORE_ROOT = b"*.log\n!keep.log\nbuild/\n/only-root.txt\n\\#hash\nstar\\*.js\n"
GITIGNORE_SUB = b"*.tmp\n!important.tmp\n/local-only\n"


def _write(path: bytes, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, mode)


def make_odd_tree(root: Path, seed: int = 7) -> Path:
    """A source tree of ~700 entries: more than two hashing batches."""
    rng = random.Random(seed)
    base = os.fsencode(root)
    dirs = [b"", b"sub dir/", b"d\xff/", b"deep/a/b/c/d/e/", b"y\\xff/", b"many/", b"sub dir/in/"]
    for d in dirs:
        os.makedirs(base + b"/" + d, exist_ok=True)
    _write(base + b"/.gitignore", GITIGNORE_ROOT)
    _write(base + b"/sub dir/.gitignore", GITIGNORE_SUB)
    for d in dirs[:5]:
        for name in ODD_NAMES:
            _write(
                base + b"/" + d + name,
                rng.randbytes(rng.randrange(0, 300)),
                rng.choice([0o644, 0o755, 0o600, 0o700, 0o664, 0o4755]),
            )
    for name in (b"a.tmp", b"important.tmp", b"local-only", b"only-root.txt"):
        _write(base + b"/sub dir/" + name, name)
        _write(base + b"/sub dir/in/" + name, name)
    _write(base + b"/only-root.txt", b"ignored at the root only")
    for i in range(600):
        _write(
            base + b"/many/f%03d%s" % (i, rng.choice([b".js", b".css", b"", b".\xe9"])),
            rng.randbytes(rng.randrange(0, 2000)),
        )
    for size in (0, 1, MIB - 1, MIB, MIB + 1, 3 * MIB + 17):
        _write(base + b"/deep/a/b/c/d/e/size-%d.bin" % size, rng.randbytes(size))
    for d in (b"node_modules/x/", b".git/", b"build/"):
        os.makedirs(base + b"/" + d, exist_ok=True)
        _write(base + b"/" + d + b"excluded.js", b"never recorded")
    links = {
        b"link-rel.js": b"plain.js",
        b"link-dir": b"sub dir",
        b"link-abs": b"/etc/hostname",
        b"link-dangling": b"does/not/exist",
        b"link-\xe9": b"caf\xe9.js",
        b"link-back": b"back\\slash.js",
        b"d\xff/up": b"../x\\xff",
    }
    for name, target in links.items():
        os.symlink(target, base + b"/" + name)
    return root


def make_odd_bundle(dist: Path, build_id: str, seed: int = 9) -> Path:
    """A bundle with the canary in some files (one across the 1 MiB read boundary), files
    whose extension says nothing (libmagic decides) and symlinks."""
    rng = random.Random(seed)
    base = os.fsencode(dist)
    for d in (b"", b"assets/", b"caf\xe9/", b"sub dir/"):
        os.makedirs(base + b"/" + d, exist_ok=True)
    needle = build_id.encode()
    _write(base + b"/index.html", b"<script>id='" + needle + b"'</script>")
    _write(base + b"/assets/straddle.js", b"x" * (MIB - 3) + needle + b";")
    _write(base + b"/caf\xe9/chunk\xe9.js", b"var id='" + needle + b"';")
    _write(base + b"/assets/nocanary.mjs", b"export {}")
    _write(base + b"/assets/UPPER.CSS", needle)
    _write(base + b"/README", b"plain text with no extension\n")
    _write(base + b"/logo", b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + rng.randbytes(200))
    _write(base + b"/empty", b"")
    _write(base + b"/empty.js", b"")
    _write(base + b"/sub dir/back\\slash.woff2", rng.randbytes(3000))
    _write(base + b"/big.bin", rng.randbytes(2 * MIB + 5))
    for i in range(300):
        _write(
            base + b"/assets/c%03d%s" % (i, rng.choice([b".js", b".map", b".x", b""])),
            rng.randbytes(rng.randrange(1, 500)),
        )
    os.symlink(b"index.html", base + b"/latest.html")
    os.symlink(b"caf\xe9", base + b"/link\xe9")
    return dist


# ------------------------------------------------------------------ reference implementations


def _walk(root: bytes, keep: Any) -> list[tuple[str, bytes]]:
    """Depth first from a stack, each folder sorted by name: the documented file order."""
    found = []
    stack: list[tuple[str, bytes, Any]] = [("", root, None)]
    while stack:
        rel_dir, directory, ctx = stack.pop()
        ctx = keep.enter(rel_dir, directory, ctx)
        for name in sorted(os.listdir(directory), key=decode_name):
            path = directory + b"/" + name
            rel = rel_dir + decode_name(name)
            st = os.lstat(path)
            if keep.skip(rel, stat.S_ISDIR(st.st_mode), ctx):
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append((rel + "/", path, ctx))
            elif stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                found.append((rel, path))
    return found


class _GitRules:
    def __init__(self, excludes: list[str]) -> None:
        self.excludes = pathspec.GitIgnoreSpec.from_lines(excludes, backend="simple")

    def enter(self, rel_dir: str, directory: bytes, specs: Any) -> Any:
        specs = specs or ()
        path = directory + b"/.gitignore"
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as handle:
                lines = handle.read().decode("utf-8", "replace").splitlines()
            specs = (*specs, (rel_dir, pathspec.GitIgnoreSpec.from_lines(lines, backend="simple")))
        return specs

    def skip(self, rel: str, is_dir: bool, specs: Any) -> bool:
        verdict = None
        for base, spec in (*specs, ("", self.excludes)):
            result = spec.check_file(rel[len(base) :] + ("/" if is_dir else ""))
            if result.include is not None:
                verdict = result.include
        return bool(verdict)


class _Everything:
    def enter(self, rel_dir: str, directory: bytes, ctx: Any) -> Any:
        return None

    def skip(self, rel: str, is_dir: bool, ctx: Any) -> bool:
        return rel == "buildguard-manifest.json"


def _entry(rel: str, path: bytes, media: Any) -> dict[str, Any]:
    st = os.lstat(path)
    mtime = datetime.fromtimestamp(st.st_mtime, UTC)
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(path)
        return {
            "path": escape(rel),
            "type": "symlink",
            "sha256": hashlib.sha256(target).hexdigest(),
            "size": len(target),
            "mode": stat.S_IMODE(st.st_mode),
            "mtime": mtime,
            "media_type": media(rel, None),
            "link_target": escape(decode_name(target)),
        }
    with open(path, "rb") as handle:
        data = handle.read()
    return {
        "path": escape(rel),
        "type": "file",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "mode": stat.S_IMODE(st.st_mode),
        "mtime": mtime,
        "media_type": media(rel, data),
        "link_target": None,
    }


def reference_record_json(root: Path, produced: Record) -> bytes:
    """The record file for ``root`` as the straightforward algorithm writes it, with the
    header fields (start time, commit, excludes...) taken from ``produced``."""
    prefix = len(os.fsencode(root)) + 1
    found = _walk(os.fsencode(root), _GitRules(list(produced.excludes)))
    files = [FileEntry(**_entry(rel, path, lambda rel, data: None)) for rel, path in found]
    digest = hashlib.sha256(b"buildguard-source-digest-v1\n")
    for (_, path), entry in sorted(zip(found, files, strict=True), key=lambda p: p[0][1]):
        executable = entry.type == "file" and bool(entry.mode & 0o111)
        digest.update(
            b"%s\0%s\0%s\0%s\n"
            % (
                entry.type.encode(),
                path[prefix:],
                b"x" if executable else b"-",
                entry.sha256.encode(),
            )
        )
    header = produced.model_dump(exclude={"files", "source_digest"})
    rec = Record(**header, files=tuple(files), source_digest=f"sha256:{digest.hexdigest()}")
    return (rec.model_dump_json(indent=2) + "\n").encode("utf-8")


_TABLE = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".map": "application/json",
    ".woff2": "font/woff2",
    ".gz": "application/gzip",
}


def _reference_media(rel: str, data: bytes | None) -> str | None:
    if data is None:
        return "inode/symlink"
    base = rel.rsplit("/", 1)[-1]
    ext = os.path.splitext(base)[1].lower()
    if ext in _TABLE:
        return _TABLE[ext]
    if not data:
        return "inode/x-empty"
    return str(magic.Magic(mime=True).from_buffer(data[:4096]))


def reference_manifest_json(dist: Path, produced: BundleManifest, build_id: str) -> bytes:
    found = _walk(os.fsencode(dist), _Everything())
    files = [_entry(rel, path, _reference_media) for rel, path in found]
    needle = build_id.encode()
    canary = []
    for (rel, path), f in zip(found, files, strict=True):
        if f["type"] == "file" and rel.lower().endswith((".js", ".mjs", ".html", ".css")):
            with open(path, "rb") as handle:
                if needle in handle.read():
                    canary.append(escape(rel))
    header = produced.model_dump(exclude={"files", "canary_files"})
    doc = BundleManifest(
        **header, files=tuple(FileEntry(**f) for f in files), canary_files=tuple(canary)
    )
    return (doc.model_dump_json(indent=2) + "\n").encode("utf-8")
