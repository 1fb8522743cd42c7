"""A fixed corpus of crafted images for the runtime differential (``test_layer_runtime.py``).

Each :class:`LayerCase` builds the layer tars of one image (bottom first) with
:mod:`tarcraft`, usually on top of a layer holding a bundle sealed by the real ``buildguard
seal`` (:class:`SealedBundle`). The cases are issue 8's defects aimed at that bundle (a file
hidden from verify, a sealed file replaced or deleted behind its back) and the layer-applying
cases where readers differ: whiteouts, opaque directories, hard links, symlinks in parents,
files as parents, duplicates, root entries, global headers.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tarcraft as tc
from clitools import buildguard_cli
from tarcases import sparse_tar
from tarcraft import GNU_MAGIC, Entry, Header, Member, Raw, pax_member, serialize

BUILD_ID = "B-runtime-000001"
COMMIT = "c0ffee" + "0" * 34
ROOT = b"app/v5-frontend"
INDEX_JS = ROOT + b"/assets/index.js"
EVIL = b"alert('served, never verified')\n"


@dataclass(frozen=True)
class SealedFile:
    path: str
    """Relative to the bundle root."""
    data: bytes
    mode: int
    mtime: int


@dataclass(frozen=True)
class SealedBundle:
    """A dist folder sealed by ``buildguard seal``, and the record it was sealed against."""

    files: tuple[SealedFile, ...]
    build_id: str
    commit: str
    record_path: str
    root: str = "/" + ROOT.decode()

    def entries(self) -> list[Entry]:
        out = [tc.directory(b"app"), tc.directory(ROOT), tc.directory(ROOT + b"/assets")]
        for f in self.files:
            name = ROOT + b"/" + f.path.encode("utf-8", "surrogateescape")
            out.append(tc.file(name, f.data, mode=f.mode, mtime=f.mtime))
        return out

    def layer(self) -> bytes:
        return tc.tar_of(self.entries(), "pax")

    def files_by_path(self) -> dict[str, SealedFile]:
        return {f.path: f for f in self.files}

    def verify_flags(self) -> list[str]:
        """``verify``'s expectations of this bundle: its build id, commit, record and path."""
        return [
            "--expect-build-id",
            self.build_id,
            "--expect-commit",
            self.commit,
            "--record",
            self.record_path,
            "--path",
            self.root,
        ]


def seal_small_dist(work: Path, *, extra: dict[str, bytes] | None = None) -> SealedBundle:
    """Record a tiny source tree, write a dist (``extra`` adds files), seal it: all through
    the installed CLI."""
    (work / "src").mkdir(parents=True)
    (work / "src" / "main.js").write_text("export const x = 1\n")
    record = work / "record.json"
    done = buildguard_cli(
        "record",
        "src",
        "--out",
        str(record),
        "--build-id",
        BUILD_ID,
        "--commit",
        COMMIT,
        "--env-file",
        str(work / "build.env"),
        cwd=work,
    )
    assert done.returncode == 0, done.stderr
    dist = work / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<script type="module" src="/assets/index.js"></script>\n')
    (dist / "assets" / "index.js").write_text(f"window.__BUILD__ = '{BUILD_ID}'\n")
    (dist / "assets" / "style.css").write_text("body { margin: 0 }\n")
    for rel, data in (extra or {}).items():
        (dist / rel).parent.mkdir(parents=True, exist_ok=True)
        (dist / rel).write_bytes(data)
    done = buildguard_cli("seal", "dist", "--record", str(record), cwd=work)
    assert done.returncode == 0, done.stdout + done.stderr
    files = []
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        st = path.stat()
        files.append(
            SealedFile(
                path.relative_to(dist).as_posix(),
                path.read_bytes(),
                stat.S_IMODE(st.st_mode),
                int(st.st_mtime),
            )
        )
    return SealedBundle(tuple(files), BUILD_ID, COMMIT, str(record))


@dataclass(frozen=True)
class LayerCase:
    name: str
    build: Callable[[SealedBundle], list[bytes]]
    """All layers of the image, bottom first (most start with ``bundle.layer()``)."""
    well_formed: bool = False
    """What builders write: buildguard must not refuse it."""
    note: str = ""
    explicit_dirs: tuple[str, ...] = field(default=())
    """Directories (image paths) whose attributes the case sets on purpose, compared too."""


def _evil(name: bytes = ROOT + b"/assets/evil.js", data: bytes = EVIL) -> Member:
    return Member(Header(name=name), data)


def _hide(header: Header, hidden: Member) -> bytes:
    """A layer where ``header`` claims the ``hidden`` member as its data."""
    raw = hidden.bytes()
    header.size = len(raw)
    return serialize([Member(header), Raw(raw), Member(Header(name=b"srv/after.txt"), b"ok")])


def _one(*pieces: tc.Piece) -> bytes:
    return serialize(list(pieces))


def _f(name: bytes, data: bytes = b"x", **kw: object) -> Member:
    return Member(Header(name=name, **kw), data)  # type: ignore[arg-type]


def _d(name: bytes, **kw: object) -> Member:
    kw.setdefault("mode", 0o755)
    return Member(Header(name=name, typeflag=b"5", **kw))  # type: ignore[arg-type]


def _sym(name: bytes, target: bytes) -> Member:
    return Member(Header(name=name, typeflag=b"2", linkname=target, mode=0o777))


def _link(name: bytes, target: bytes, **kw: object) -> Member:
    return Member(Header(name=name, typeflag=b"1", linkname=target, **kw))  # type: ignore[arg-type]


def _pax_sparse_replacing(target: bytes) -> bytes:
    records = [
        (b"GNU.sparse.major", b"1"),
        (b"GNU.sparse.minor", b"0"),
        (b"GNU.sparse.name", target),
        (b"GNU.sparse.realsize", b"%d" % len(EVIL)),
    ]
    data = tc.padded(b"1\n0\n%d\n" % len(EVIL)) + EVIL
    return _one(pax_member(records), Member(Header(name=b"GNUSparseFile.0/index.js"), data))


def _invalid_go17(prefix: bytes, name: bytes) -> bytes:
    hdr = Header(
        name=name, typeflag=b"\x00", magic=GNU_MAGIC[0], version=GNU_MAGIC[1], prefix=prefix
    )
    return _one(Member(hdr, EVIL))


def _with(extra: Callable[[SealedBundle], bytes]) -> Callable[[SealedBundle], list[bytes]]:
    return lambda b: [b.layer(), extra(b)]


CASES: list[LayerCase] = [
    # ---- well-formed: what builders write (must agree, never be refused)
    LayerCase("sealed-bundle", lambda b: [b.layer()], True, "the baseline: verify passes"),
    LayerCase(
        "whiteout-deletes-sealed-file",
        _with(lambda b: _one(_f(ROOT + b"/assets/.wh.index.js", b""))),
        True,
        "verify: FILE_MISSING naming the deleting layer",
    ),
    LayerCase(
        "opaque-dir-replaces-assets",
        _with(
            lambda b: _one(
                _d(ROOT + b"/assets/"),
                _f(ROOT + b"/assets/.wh..wh..opq", b""),
                _f(ROOT + b"/assets/new.js", b"new"),
            )
        ),
        True,
    ),
    LayerCase(
        "whiteout-whole-bundle", _with(lambda b: _one(_f(b"app/.wh.v5-frontend", b""))), True
    ),
    LayerCase(
        "hardlink-in-bundle",
        _with(lambda b: _one(_link(ROOT + b"/assets/copy.js", INDEX_JS))),
        True,
        "an extra file: FILE_EXTRA",
    ),
    LayerCase(
        "hardlink-same-layer",
        lambda b: [
            tc.tar_of([*b.entries(), tc.hardlink(ROOT + b"/assets/copy.js", INDEX_JS)], "pax")
        ],
        True,
    ),
    LayerCase(
        "symlink-replaces-sealed-file", _with(lambda b: _one(_sym(INDEX_JS, b"/etc/passwd"))), True
    ),
    LayerCase("file-replaces-sealed-file", _with(lambda b: _one(_f(INDEX_JS, EVIL))), True),
    LayerCase(
        "chmod-600-sealed-file",
        _with(lambda b: _one(_f(INDEX_JS, b.files_by_path()["assets/index.js"].data, mode=0o600))),
        True,
        "issue 8: a mode that loses read permission for others is a finding",
    ),
    LayerCase(
        "absolute-and-dot-names",
        _with(
            lambda b: _one(
                _f(b"/" + ROOT + b"/assets/abs.js", b"abs"),
                _f(b"./" + ROOT + b"/assets/dot.js", b"dot"),
                _d(b"./srv/"),
                _f(b"srv//a", b"a"),
            )
        ),
        True,
    ),
    LayerCase(
        "duplicate-entry-later-wins",
        _with(
            lambda b: _one(
                _f(ROOT + b"/extra.js", b"first"), _f(ROOT + b"/extra.js", b"second wins")
            )
        ),
        True,
    ),
    LayerCase(
        "dir-then-file-same-path",
        _with(lambda b: _one(_d(b"srv/x/"), _f(b"srv/x/inner", b"i"), _f(b"srv/x", b"now a file"))),
        True,
    ),
    LayerCase(
        "devices-and-fifo",
        lambda b: [
            tc.tar_of(
                [
                    tc.directory("dev2"),
                    tc.special("dev2/null", "char", devmajor=1, devminor=3),
                    tc.special("dev2/sda", "block", devmajor=8, devminor=0),
                    tc.special("dev2/fifo", "fifo"),
                ],
                "pax",
            )
        ],
        True,
    ),
    LayerCase(
        "git-archive-global-header",
        lambda b: [
            serialize(
                [
                    pax_member(
                        [(b"comment", b"0123abcd")], name=b"pax_global_header", typeflag=b"g"
                    ),
                    *[m for e in b.entries() for m in tc.members_for(e, "pax")],
                ]
            )
        ],
        True,
    ),
    LayerCase(
        "non-utf8-name-in-bundle",
        _with(lambda b: _one(_f(ROOT + b"/assets/caf\xe9.js", b"latin-1 name"))),
        True,
    ),
    LayerCase(
        "gnu-long-names",
        lambda b: [
            b.layer(),
            tc.tar_of(
                [
                    tc.file(b"srv/" + b"d" * 120 + b"/" + b"n" * 120, "long"),
                    tc.symlink(b"srv/l", b"/" + b"t" * 150),
                ],
                "gnu",
            ),
        ],
        True,
    ),
    LayerCase(
        "v7-directory-entry",
        _with(lambda b: tc.tar_of([tc.directory("srv"), tc.file("srv/a", "a")], "v7")),
        True,
        "type NUL with a trailing / is a directory",
    ),
    # ---- issue 8's defects, aimed at the sealed bundle
    LayerCase(
        "fifo-size-hides-evil",
        _with(lambda b: _hide(Header(name=b"srv/pipe", typeflag=b"6"), _evil())),
        note="dockerd serves assets/evil.js; verify must not pass",
    ),
    LayerCase(
        "char-size-hides-evil",
        _with(
            lambda b: _hide(Header(name=b"dev2/c", typeflag=b"3", devmajor=1, devminor=3), _evil())
        ),
    ),
    LayerCase(
        "block-size-hides-evil",
        _with(lambda b: _hide(Header(name=b"dev2/b", typeflag=b"4", devmajor=8), _evil())),
    ),
    LayerCase(
        "fifo-size-hides-replacement",
        _with(lambda b: _hide(Header(name=b"srv/pipe", typeflag=b"6"), _evil(INDEX_JS))),
        note="the sealed index.js is replaced behind verify's back",
    ),
    LayerCase(
        "nul-type-slash-size-hides-evil",
        _with(lambda b: _hide(Header(name=b"srv/olddir/", typeflag=b"\x00"), _evil())),
    ),
    LayerCase(
        "pax-sparse-replaces-sealed-file",
        _with(lambda b: _pax_sparse_replacing(INDEX_JS)),
        note="dockerd restores GNU.sparse.name; so does buildguard (issue 25): verify fails",
    ),
    LayerCase(
        "pax-sparse-1.0-holes",
        _with(lambda b: sparse_tar((b"1", b"0"), name=b"srv/s.bin")),
        well_formed=True,
        note="issue 25: holes read as zeros, as dockerd writes them",
    ),
    LayerCase(
        "pax-sparse-0.1-holes",
        _with(lambda b: sparse_tar((b"0", b"1"), name=b"srv/s.bin")),
        well_formed=True,
    ),
    LayerCase(
        "pax-sparse-0.0-holes",
        _with(lambda b: sparse_tar(None, name=b"srv/s.bin")),
        well_formed=True,
    ),
    LayerCase(
        "pax-sparse-unreferenced-data",
        _with(lambda b: sparse_tar((b"1", b"0"), name=b"srv/s.bin", extra=b"X" * 10)),
        note="Go: errUnrefData",
    ),
    LayerCase(
        "gnu-old-sparse-S",
        _with(
            lambda b: _one(
                Member(
                    Header(name=INDEX_JS, typeflag=b"S", magic=GNU_MAGIC[0], version=GNU_MAGIC[1]),
                    EVIL,
                )
            )
        ),
    ),
    LayerCase(
        "type-7-contiguous",
        _with(lambda b: _one(Member(Header(name=ROOT + b"/assets/c.js", typeflag=b"7"), EVIL))),
        note="dockerd: unhandled type 55",
    ),
    LayerCase(
        "hdr-only-sizes",
        _with(
            lambda b: _one(
                Member(Header(name=b"srv/", typeflag=b"5", size=5)),
                Member(Header(name=b"srv/fifo", typeflag=b"6", size=5)),
                _f(b"srv/file", b"file"),
                Member(Header(name=b"srv/sym", typeflag=b"2", linkname=b"file", size=5)),
                Member(Header(name=b"srv/hard", typeflag=b"1", linkname=b"srv/file", size=5)),
            )
        ),
    ),
    LayerCase(
        "invalid-go17-prefix",
        _with(lambda b: _invalid_go17(ROOT + b"/assets", b"go17.js")),
        note="dockerd writes PREFIX/go17.js",
    ),
    LayerCase(
        "one-zero-block-then-data",
        _with(lambda b: _one(_f(b"srv/a", b"a"), Raw(bytes(512)), _evil())),
    ),
    LayerCase(
        "nul-in-pax-path",
        _with(lambda b: _one(pax_member([(b"path", INDEX_JS + b"\x00.png")]), _f(b"srv/x", EVIL))),
    ),
    LayerCase(
        "pax-empty-path",
        _with(
            lambda b: _one(pax_member([(b"path", b"")]), _f(ROOT + b"/assets/ustar-name.js", b"u"))
        ),
    ),
    LayerCase(
        "gnu-empty-longname",
        _with(
            lambda b: _one(
                Member(
                    Header(
                        name=b"././@LongLink",
                        typeflag=b"L",
                        magic=GNU_MAGIC[0],
                        version=GNU_MAGIC[1],
                    ),
                    b"\x00",
                ),
                Member(
                    Header(name=ROOT + b"/assets/hdr.js", magic=GNU_MAGIC[0], version=GNU_MAGIC[1]),
                    b"h",
                ),
            )
        ),
    ),
    LayerCase(
        "pax-then-global-header",
        _with(
            lambda b: _one(
                pax_member([(b"path", INDEX_JS)]),
                pax_member([(b"comment", b"g")], name=b"pax_global_header", typeflag=b"g"),
                _f(b"srv/harmless.txt", EVIL),
            )
        ),
        note="Go drops the pending x records at the g header: the bundle is intact",
    ),
    LayerCase(
        "global-header-named-sealed-file",
        _with(lambda b: _one(pax_member([(b"comment", b"g")], name=INDEX_JS, typeflag=b"g"))),
        note="moby RemoveAll()s the path of a g header before ignoring it",
    ),
    LayerCase(
        "global-header-named-root",
        _with(
            lambda b: _one(
                pax_member([(b"comment", b"g")], name=b"./", typeflag=b"g"), _f(b"srv/a", b"a")
            )
        ),
        note="moby RemoveAll()s the path of a g header: here the root itself",
    ),
    LayerCase(
        "global-header-empty-name",
        _with(
            lambda b: _one(
                pax_member([(b"comment", b"g")], name=b"", typeflag=b"g"), _f(b"srv/a", b"a")
            )
        ),
    ),
    LayerCase(
        "global-header-free-path-in-bundle",
        _with(
            lambda b: _one(
                pax_member([(b"comment", b"g")], name=ROOT + b"/assets/free.js", typeflag=b"g")
            )
        ),
    ),
    LayerCase(
        "whiteout-of-nothing-in-bundle",
        _with(lambda b: _one(_f(ROOT + b"/assets/.wh.never-there.js", b""))),
        True,
        "a whiteout of nothing: harmless",
    ),
    LayerCase(
        "global-header-path-record",
        _with(
            lambda b: _one(
                pax_member([(b"path", INDEX_JS)], name=b"pax_global_header", typeflag=b"g")
            )
        ),
    ),
    LayerCase(
        "pax-mtime-out-of-range-on-sealed-file",
        _with(
            lambda b: _one(
                pax_member([(b"mtime", b"99999999999999")]),
                _f(INDEX_JS, b.files_by_path()["assets/index.js"].data),
            )
        ),
        note="content unchanged: the time is never looked at",
    ),
    LayerCase(
        "pax-mtime-out-of-range-on-changed-file",
        _with(lambda b: _one(pax_member([(b"mtime", b"99999999999999")]), _f(INDEX_JS, EVIL))),
        note="issue 8: verify crashed converting the time of a failing file (exit 1 or 3)",
    ),
    LayerCase(
        "pax-mtime-negative-out-of-range-on-changed-file",
        _with(lambda b: _one(pax_member([(b"mtime", b"-99999999999999")]), _f(INDEX_JS, EVIL))),
    ),
    # ---- applying a layer: where readers differ
    LayerCase(
        "parent-is-symlink-lower-layer",
        lambda b: [
            b.layer(),
            _one(_sym(ROOT + b"/lnk", b"assets")),
            _one(_f(ROOT + b"/lnk/index.js", EVIL)),
        ],
        note="the runtimes write through the symlink: the sealed index.js is replaced",
    ),
    LayerCase(
        "parent-is-absolute-symlink-same-layer",
        _with(lambda b: _one(_sym(b"srv", b"/" + ROOT + b"/assets"), _f(b"srv/index.js", EVIL))),
    ),
    LayerCase(
        "parent-is-file",
        _with(lambda b: _one(_f(ROOT + b"/index.html/x.js", b"x"))),
        note="dockerd fails: not a directory",
    ),
    LayerCase("dotdot-component", _with(lambda b: _one(_f(b"srv/../" + INDEX_JS, EVIL)))),
    LayerCase("root-dir-entry", _with(lambda b: _one(_d(b"./", mode=0o700), _f(b"srv/r", b"r")))),
    LayerCase("root-file-entry", _with(lambda b: _one(_f(b".", b"a file at the root")))),
    LayerCase(
        "opaque-after-same-layer-entry",
        _with(
            lambda b: _one(
                _f(ROOT + b"/assets/new.js", b"new"), _f(ROOT + b"/assets/.wh..wh..opq", b"")
            )
        ),
    ),
    LayerCase(
        "opaque-after-implicit-subdir",
        _with(
            lambda b: _one(
                _f(ROOT + b"/assets/sub/x.js", b"x"), _f(ROOT + b"/assets/.wh..wh..opq", b"")
            )
        ),
    ),
    LayerCase(
        "whiteout-after-same-layer-entry",
        _with(
            lambda b: _one(
                _f(ROOT + b"/assets/new.js", b"new"), _f(ROOT + b"/assets/.wh.new.js", b"")
            )
        ),
    ),
    LayerCase("whiteout-missing-parent", _with(lambda b: _one(_f(b"nowhere/.wh.x", b"")))),
    LayerCase(
        "aufs-plnk-metadata",
        _with(lambda b: _one(_d(b".wh..wh.plnk/"), _f(b".wh..wh.plnk/123.456", b"p"))),
    ),
    LayerCase("hardlink-to-missing", _with(lambda b: _one(_link(b"srv/h", b"srv/none")))),
    LayerCase("hardlink-to-directory", _with(lambda b: _one(_link(b"srv-h", ROOT + b"/assets")))),
    LayerCase(
        "hardlink-changes-mode",
        _with(lambda b: _one(_link(ROOT + b"/assets/copy.js", INDEX_JS, mode=0o600))),
        note="the link header chmods the shared inode: the sealed index.js becomes 0600",
    ),
    LayerCase(
        "hardlink-to-symlink",
        _with(lambda b: _one(_sym(b"srv-s", b"/" + INDEX_JS), _link(b"srv-h", b"srv-s"))),
    ),
]

BY_NAME = {c.name: c for c in CASES}
assert len(BY_NAME) == len(CASES)
