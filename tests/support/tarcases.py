"""A fixed corpus of layer tars, written afresh with :mod:`tarcraft`.

Each :class:`TarCase` is one uncompressed tar: the defects of issue 8 (headers the old walker
read differently from Go's ``archive/tar``), the kinds of case Go's own reader tests cover
(``/usr/lib/go-1.19/src/archive/tar/reader_test.go``; bytes written here, not copied), and
well-formed archives of every builder's format. ``well_formed`` cases must never be refused;
the others must be listed exactly as Go lists them, or refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import tarcraft as tc
from tarcraft import GNU_MAGIC, Header, Member, Raw, pax_member, serialize

EVIL = b"alert('served, never verified')\n"


@dataclass(frozen=True)
class TarCase:
    name: str
    data: bytes
    well_formed: bool = False
    note: str = ""


def evil(name: bytes = b"assets/evil.js") -> Member:
    return Member(Header(name=name), EVIL)


def _hidden_after(header: Header) -> bytes:
    """``header`` claims as data exactly the bytes of the ``evil`` member that follows."""
    hidden = evil().bytes()
    header.size = len(hidden)
    return serialize([Member(header), Raw(hidden), Member(Header(name=b"assets/after.js"), b"1")])


def _star(name: bytes, prefix: bytes, atime: bytes) -> bytes:
    hdr = Header(name=name, trailer=tc.STAR_TRAILER, prefix=prefix[:131])
    hdr.patches = ((476, atime.ljust(12, b"\x00")), (488, atime.ljust(12, b"\x00")))
    return serialize([Member(hdr, b"star data")])


def _sparse_old_gnu() -> bytes:
    # GNU 'S': sparse map in the header (offset 386, 4 entries of 2x12 bytes), real size at 483.
    hdr = Header(name=b"assets/index.js", typeflag=b"S", magic=GNU_MAGIC[0], version=GNU_MAGIC[1])
    hdr.patches = (
        (386, tc.octal(0, 12)),
        (398, tc.octal(len(EVIL), 12)),
        (483, tc.octal(len(EVIL) + 512, 12)),
    )
    return serialize([Member(hdr, EVIL)])


def _pax_sparse(version: tuple[bytes, bytes] | None) -> bytes:
    """PAX sparse entry whose real name hides behind ``GNUSparseFile.0/``."""
    records = [
        (b"GNU.sparse.name", b"assets/index.js"),
        (b"GNU.sparse.realsize", b"%d" % len(EVIL)),
    ]
    data = EVIL
    if version == (b"1", b"0"):
        records += [(b"GNU.sparse.major", b"1"), (b"GNU.sparse.minor", b"0")]
        data = tc.padded(b"1\n0\n%d\n" % len(EVIL)) + EVIL
    elif version == (b"0", b"1"):
        records += [
            (b"GNU.sparse.major", b"0"),
            (b"GNU.sparse.minor", b"1"),
            (b"GNU.sparse.numblocks", b"1"),
            (b"GNU.sparse.map", b"0,%d" % len(EVIL)),
        ]
    else:  # 0.0: repeated offset/numbytes records
        records += [
            (b"GNU.sparse.numblocks", b"1"),
            (b"GNU.sparse.offset", b"0"),
            (b"GNU.sparse.numbytes", b"%d" % len(EVIL)),
        ]
    return serialize([pax_member(records), Member(Header(name=b"GNUSparseFile.0/index.js"), data)])


SPARSE_FRAGMENTS = ((0, b"A" * 100), (4096, b"B" * 600), (10_000, b"C" * 5))


def sparse_tar(
    version: tuple[bytes, bytes] | None,
    fragments: tuple[tuple[int, bytes], ...] = SPARSE_FRAGMENTS,
    logical: int = 20_000,
    *,
    name: bytes = b"app/sparse.bin",
    entries: tuple[tuple[int, int], ...] | None = None,
    extra: bytes = b"",
    drop: int = 0,
    records: tuple[tuple[bytes, bytes], ...] = (),
    typeflag: bytes = b"0",
) -> bytes:
    """A PAX-format GNU sparse file as GNU tar writes it (``--format=pax``): the data
    fragments back to back, the map in records (0.0, 0.1) or in front of the data (1.0)."""
    spans = entries if entries is not None else tuple((o, len(d)) for o, d in fragments)
    recs = [(b"GNU.sparse.name", name), (b"GNU.sparse.realsize", b"%d" % logical)]
    dense = b"".join(d for _, d in fragments) + extra
    if version == (b"1", b"0"):
        recs += [(b"GNU.sparse.major", b"1"), (b"GNU.sparse.minor", b"0")]
        text = b"%d\n" % len(spans) + b"".join(b"%d\n%d\n" % span for span in spans)
        dense = tc.padded(text) + dense
    elif version is not None:
        recs += [
            (b"GNU.sparse.major", version[0]),
            (b"GNU.sparse.minor", version[1]),
            (b"GNU.sparse.numblocks", b"%d" % len(spans)),
            (b"GNU.sparse.map", b",".join(b"%d,%d" % span for span in spans)),
        ]
    else:
        recs.append((b"GNU.sparse.numblocks", b"%d" % len(spans)))
        for offset, length in spans:
            recs += [
                (b"GNU.sparse.offset", b"%d" % offset),
                (b"GNU.sparse.numbytes", b"%d" % length),
            ]
    dense = dense[: len(dense) - drop]
    hdr = Header(name=b"GNUSparseFile.0/" + name.rsplit(b"/", 1)[-1], typeflag=typeflag)
    if typeflag != b"0":
        hdr.size = 0
        dense = b""
    return serialize(
        [
            Member(Header(name=b"app/", typeflag=b"5", mode=0o755)),
            pax_member([*recs, *records]),
            Member(hdr, dense),
            Member(Header(name=b"app/after.js"), b"after"),
        ]
    )


def _sparse_cases() -> list[TarCase]:
    v10, v01 = (b"1", b"0"), (b"0", b"1")
    many = tuple((i * 1024, b"%03d" % i) for i in range(80))
    return [
        TarCase("sparse-1.0-holes", sparse_tar(v10), True, note="issue 25: Go expands it"),
        TarCase("sparse-0.1-holes", sparse_tar(v01), True),
        TarCase("sparse-0.0-holes", sparse_tar(None), True),
        TarCase(
            "sparse-1.0-map-spans-blocks",
            sparse_tar(v10, many, 90_000),
            True,
            note="the 1.0 map takes two blocks",
        ),
        TarCase("sparse-1.0-all-hole", sparse_tar(v10, (), 5000), True),
        TarCase("sparse-0.1-all-hole", sparse_tar(v01, (), 5000), True),
        TarCase("sparse-1.0-data-to-the-end", sparse_tar(v10, ((0, b"x" * 700),), 700), True),
        TarCase(
            "sparse-unreferenced-data",
            sparse_tar(v10, extra=b"X" * 10),
            note="Go: errUnrefData when the entry is read",
        ),
        TarCase("sparse-missing-data", sparse_tar(v01, drop=3), note="Go: errMissData"),
        TarCase("sparse-overlapping", sparse_tar(v01, ((0, b"a" * 10), (5, b"b" * 10)))),
        TarCase("sparse-beyond-size", sparse_tar(v01, ((0, b"a" * 10),), 5)),
        TarCase(
            "sparse-unknown-version",
            sparse_tar((b"2", b"0")),
            note="Go: not sparse; a regular file under its header name",
        ),
        TarCase(
            "sparse-0.0-out-of-order", sparse_tar(None, records=((b"GNU.sparse.numbytes", b"1"),))
        ),
        TarCase(
            "sparse-on-symlink",
            sparse_tar(v01, typeflag=b"2"),
            note="Go: ErrHeader (a header-only type with a sparse map)",
        ),
        TarCase(
            "sparse-1.0-negative-count",
            serialize(
                [
                    pax_member([(b"GNU.sparse.major", b"1"), (b"GNU.sparse.minor", b"0")]),
                    Member(Header(name=b"s"), tc.padded(b"-1\n")),
                ]
            ),
        ),
        TarCase(
            "sparse-1.0-short-map",
            serialize(
                [
                    pax_member([(b"GNU.sparse.major", b"1"), (b"GNU.sparse.minor", b"0")]),
                    Member(Header(name=b"s"), b"3\n0\n"),
                ]
            ),
        ),
        TarCase(
            "sparse-0.1-count-mismatch", sparse_tar(v01, records=((b"GNU.sparse.numblocks", b"7"),))
        ),
        TarCase(
            "sparse-60-gb",
            sparse_tar(v10, ((0, b"x"),), 60 << 30),
            note="bounded by design: holes past 1 GiB are not expanded",
        ),
    ]


def _nested(*pieces: tc.Piece) -> bytes:
    return serialize(list(pieces))


def _with_numeric(field: str, raw: bytes, data: bytes = b"0123456789") -> bytes:
    hdr = Header(name=b"app/f.js")
    setattr(hdr, field, raw)
    return serialize([Member(hdr, data), Member(Header(name=b"app/next.js"), b"next")])


def _checksum_base256() -> bytes:
    hdr = Header(name=b"app/f.js")
    blk = bytearray(hdr.block(3))
    total = sum(blk[:148]) + 8 * 32 + sum(blk[156:])
    blk[148:156] = tc.base256(total, 8)
    return bytes(blk) + tc.padded(b"abc") + bytes(1024)


def _signed_checksum() -> bytes:
    hdr = Header(name=b"app/\xff\xfe.js")
    blk = bytearray(hdr.block(3))
    blk[148:156] = b" " * 8
    signed = sum(b - 256 if b > 127 else b for b in blk)
    blk[148:156] = b"%06o\x00 " % signed
    return bytes(blk) + tc.padded(b"abc") + bytes(1024)


def _well_formed() -> list[TarCase]:
    long_dir = b"app/" + b"/".join([b"d" * 40] * 5)
    entries = [
        tc.directory("app"),
        tc.file("app/index.html", "<script src=a.js></script>"),
        tc.file("app/empty.js", b""),
        tc.file("app/big.bin", bytes(range(256)) * 300, mode=0o755),
        tc.directory(long_dir),
        tc.file(long_dir + b"/" + b"n" * 150 + b".js", "long name"),
        tc.symlink("app/link.js", "index.html"),
        tc.symlink("app/longlink", b"/" + b"t" * 200),
        tc.hardlink("app/hard.html", "app/index.html"),
        tc.file("app/caf\u00e9 \u2603.js", "utf-8 name"),
        tc.file(b"app/latin1-\xe9.js", "not utf-8"),
        tc.file("app/bigid", "x", uid=3_000_000, gid=4_000_000),
        tc.file("app/future", "y", mtime=2**33 + 5),
        tc.file("app/nanos.js", "z", mtime=1_700_000_000, mtime_nsec=999_999_999),
        tc.file("app/.wh.deleted.js", b""),
        tc.file("app/sub/.wh..wh..opq", b""),
        tc.special("app/fifo", "fifo"),
        tc.special("app/null", "char", devmajor=1, devminor=3),
        tc.special("app/sda", "block", devmajor=8, devminor=0),
    ]
    cases = []
    for fmt in tc.FORMATS:
        pieces: list[tc.Piece] = []
        for e in entries:
            try:
                pieces.extend(tc.members_for(e, fmt))
            except tc.Unrepresentable:
                continue
        cases.append(
            TarCase(f"well-formed-{fmt}", serialize(pieces), True, f"every entry {fmt} can hold")
        )
    xattr = tc.file(
        "usr/bin/ping",
        "ping",
        pax_extra=(
            (b"SCHILY.xattr.security.capability", b"\x01\x00\x00\x02\x00\x20\x00\x00"),
            (b"atime", b"1700000000.5"),
            (b"ctime", b"1700000001.25"),
            (b"comment", b"hi"),
        ),
    )
    cases.append(TarCase("well-formed-pax-xattrs", tc.tar_of([xattr], "pax"), True))
    git_archive = serialize(
        [
            pax_member(
                [(b"comment", b"0123456789abcdef")], name=b"pax_global_header", typeflag=b"g"
            ),
            *tc.members_for(tc.file("app/a.js", "a"), "pax"),
        ]
    )
    cases.append(
        TarCase(
            "well-formed-global-header",
            git_archive,
            True,
            "git archive writes a pax_global_header first",
        )
    )
    cases.append(
        TarCase(
            "well-formed-one-zero-block-end",
            tc.tar_of([tc.file("a", "a")], "ustar", end=False) + bytes(512),
            True,
            "Go: EOF after exactly one zero block",
        )
    )
    cases.append(
        TarCase(
            "well-formed-no-end-marker", tc.tar_of([tc.file("a", "a")], "ustar", end=False), True
        )
    )
    cases.append(
        TarCase(
            "well-formed-trailing-garbage-after-end",
            tc.tar_of([tc.file("a", "a")], "ustar") + b"\x01" * 700,
            True,
            "nothing after the end marker is read",
        )
    )
    cases.append(
        TarCase(
            "well-formed-signed-checksum",
            _signed_checksum(),
            True,
            "old Sun tar: checksum as a signed byte sum",
        )
    )
    cases.append(
        TarCase(
            "well-formed-negative-mtime-gnu",
            tc.tar_of([tc.file("a", "a", mtime=-1000)], "gnu"),
            True,
        )
    )
    cases.append(
        TarCase(
            "well-formed-negative-mtime-pax",
            tc.tar_of([tc.file("a", "a", mtime=-2, mtime_nsec=500_000_000)], "pax"),
            True,
        )
    )
    cases.append(
        TarCase(
            "well-formed-ustar-prefix",
            tc.tar_of([tc.file(b"p" * 150 + b"/" + b"n" * 99, "x")], "ustar"),
            True,
        )
    )
    return cases


def _defects() -> list[TarCase]:
    cases = [
        TarCase(
            "fifo-size-hides-evil",
            _hidden_after(Header(name=b"app/fifo", typeflag=b"6")),
            note="issue 8: header-only types carry no data whatever the size says",
        ),
        TarCase("char-size-hides-evil", _hidden_after(Header(name=b"dev/c", typeflag=b"3"))),
        TarCase("block-size-hides-evil", _hidden_after(Header(name=b"dev/b", typeflag=b"4"))),
        TarCase("dir-size-hides-evil", _hidden_after(Header(name=b"app/d/", typeflag=b"5"))),
        TarCase(
            "symlink-size-hides-evil",
            _hidden_after(Header(name=b"app/s", typeflag=b"2", linkname=b"x")),
        ),
        TarCase(
            "hardlink-size-hides-evil",
            _hidden_after(Header(name=b"app/h", typeflag=b"1", linkname=b"assets/after.js")),
        ),
        TarCase(
            "nul-type-slash-size-hides-evil",
            _hidden_after(Header(name=b"app/olddir/", typeflag=b"\x00")),
            note="issue 8: type NUL with a trailing / is a directory (header-only)",
        ),
        TarCase(
            "pax-size-on-fifo-hides-evil",
            serialize(
                [
                    pax_member([(b"size", b"%d" % len(evil().bytes()))]),
                    Member(Header(name=b"app/fifo", typeflag=b"6", size=0)),
                    evil(),
                ]
            ),
            note="a PAX size on a header-only type changes nothing",
        ),
        TarCase(
            "pax-sparse-1.0",
            _pax_sparse((b"1", b"0")),
            note="issue 8: Go restores GNU.sparse.name (read as Go reads it since issue 25)",
        ),
        TarCase("pax-sparse-0.1", _pax_sparse((b"0", b"1"))),
        TarCase("pax-sparse-0.0", _pax_sparse(None)),
        TarCase("gnu-old-sparse-S", _sparse_old_gnu(), note="dockerd: unhandled type 83"),
        TarCase(
            "type-7-contiguous",
            serialize([Member(Header(name=b"app/c.js", typeflag=b"7"), EVIL)]),
            note="dockerd: unhandled tar header type 55",
        ),
        TarCase("type-V-volume", serialize([Member(Header(name=b"vol", typeflag=b"V"))])),
        TarCase(
            "type-D-gnu-dumpdir",
            serialize(
                [
                    Member(
                        Header(name=b"d/", typeflag=b"D", magic=GNU_MAGIC[0], version=GNU_MAGIC[1]),
                        b"Yx\0\0",
                    )
                ]
            ),
        ),
        TarCase("type-lowercase-z", serialize([Member(Header(name=b"z", typeflag=b"z"), b"z")])),
        TarCase("hdr-only-like", _hdr_only()),
        TarCase(
            "invalid-go17-gnu-prefix",
            _invalid_go17(),
            note="Go < 1.8 wrote a prefix into GNU atime/ctime; Go reads prefix/foo",
        ),
        TarCase(
            "one-zero-block-then-data",
            serialize([Member(Header(name=b"a"), b"a"), Raw(bytes(512)), evil()]),
            note="Go: archive/tar: invalid tar header",
        ),
        TarCase(
            "nul-in-pax-path",
            serialize(
                [
                    pax_member([(b"path", b"assets/index.js\x00.png")]),
                    Member(Header(name=b"x"), b"x"),
                ]
            ),
        ),
        TarCase(
            "nul-in-pax-linkpath",
            serialize(
                [
                    pax_member([(b"linkpath", b"a\x00b")]),
                    Member(Header(name=b"l", typeflag=b"2", linkname=b"c")),
                ]
            ),
        ),
        TarCase(
            "nul-in-pax-key",
            serialize([pax_member([(b"comm\x00ent", b"x")]), Member(Header(name=b"x"), b"x")]),
        ),
        TarCase(
            "nul-padding-after-pax-records",
            serialize(
                [
                    Member(
                        Header(name=b"././@PaxHeader", typeflag=b"x"),
                        tc.pax_data([(b"path", b"real.js")]) + b"\x00" * 20,
                    ),
                    Member(Header(name=b"x"), b"x"),
                ]
            ),
            note="Go refuses trailing NULs in PAX data; the old walker stopped at them",
        ),
        TarCase(
            "pax-empty-path",
            serialize([pax_member([(b"path", b"")]), Member(Header(name=b"ustar-name.js"), b"x")]),
            note="Go ignores an empty PAX value (keeps the ustar name)",
        ),
        TarCase(
            "pax-empty-linkpath",
            serialize(
                [
                    pax_member([(b"linkpath", b"")]),
                    Member(Header(name=b"l", typeflag=b"2", linkname=b"ustar-target")),
                ]
            ),
        ),
        TarCase(
            "pax-empty-size",
            serialize([pax_member([(b"size", b"")]), Member(Header(name=b"f"), b"data")]),
        ),
        TarCase(
            "pax-empty-mtime",
            serialize([pax_member([(b"mtime", b"")]), Member(Header(name=b"f"), b"data")]),
        ),
        TarCase(
            "gnu-empty-longname",
            serialize(
                [
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
                        Header(name=b"header-name.js", magic=GNU_MAGIC[0], version=GNU_MAGIC[1]),
                        b"x",
                    ),
                ]
            ),
            note="Go ignores an empty GNU long name",
        ),
        TarCase(
            "pax-then-global-drops-pax",
            serialize(
                [
                    pax_member([(b"path", b"assets/index.js")]),
                    pax_member([(b"comment", b"g")], name=b"pax_global_header", typeflag=b"g"),
                    Member(Header(name=b"harmless.txt"), EVIL),
                ]
            ),
            note="Go: the g header ends the pending x records; the file is harmless.txt",
        ),
        TarCase(
            "longname-then-global-drops-longname",
            serialize(
                [
                    tc.gnu_long_member(b"L", b"assets/index.js"),
                    pax_member([(b"comment", b"g")], name=b"pax_global_header", typeflag=b"g"),
                    Member(Header(name=b"harmless.txt"), EVIL),
                ]
            ),
        ),
        TarCase(
            "pax-mtime-float-rounding",
            serialize(
                [pax_member([(b"mtime", b"1700000000.999999999")]), Member(Header(name=b"f"), b"f")]
            ),
            note="Go: 1700000000 (s) + 999999999 ns; float() rounds up to ...001",
        ),
        TarCase(
            "pax-mtime-exponent",
            serialize([pax_member([(b"mtime", b"1e9")]), Member(Header(name=b"f"), b"f")]),
        ),
        TarCase(
            "pax-mtime-negative-fraction",
            serialize([pax_member([(b"mtime", b"-1.5")]), Member(Header(name=b"f"), b"f")]),
            note="Go: time.Unix(-1, -5e8).Unix() == -2",
        ),
        TarCase(
            "pax-mtime-huge",
            serialize(
                [pax_member([(b"mtime", b"99999999999999")]), Member(Header(name=b"f"), b"f")]
            ),
            note="issue 8: out of datetime's range; Go accepts it",
        ),
        TarCase(
            "pax-mtime-inf",
            serialize([pax_member([(b"mtime", b"inf")]), Member(Header(name=b"f"), b"f")]),
        ),
        TarCase(
            "pax-mtime-nan",
            serialize([pax_member([(b"mtime", b"nan")]), Member(Header(name=b"f"), b"f")]),
        ),
        TarCase(
            "pax-uid-spaces",
            serialize([pax_member([(b"uid", b" 12")]), Member(Header(name=b"f"), b"f")]),
        ),
        TarCase(
            "pax-uid-underscore",
            serialize([pax_member([(b"uid", b"1_000")]), Member(Header(name=b"f"), b"f")]),
        ),
        TarCase(
            "pax-size-underscore-hides-evil",
            serialize([pax_member([(b"size", b"0_0")]), Member(Header(name=b"f", size=0)), evil()]),
        ),
        TarCase(
            "pax-size-plus",
            serialize([pax_member([(b"size", b"+4")]), Member(Header(name=b"f", size=0), b"four")]),
        ),
        TarCase(
            "pax-size-negative",
            serialize([pax_member([(b"size", b"-1")]), Member(Header(name=b"f"), b"f")]),
        ),
        TarCase(
            "pax-size-on-dir",
            serialize(
                [
                    pax_member([(b"size", b"512")]),
                    Member(Header(name=b"d/", typeflag=b"5", size=0)),
                    evil(),
                ]
            ),
        ),
        TarCase(
            "pax-record-length-tab",
            serialize(
                [
                    Member(Header(name=b"././@PaxHeader", typeflag=b"x"), b"\t19 path=evil.js\n"),
                    Member(Header(name=b"f"), b"f"),
                ]
            ),
        ),
        TarCase(
            "pax-record-length-underscore",
            serialize(
                [
                    Member(Header(name=b"././@PaxHeader", typeflag=b"x"), b"1_8 path=evil.js\n"),
                    Member(Header(name=b"f"), b"f"),
                ]
            ),
        ),
        TarCase(
            "pax-record-short",
            serialize(
                [
                    Member(Header(name=b"././@PaxHeader", typeflag=b"x"), b"4 a=\n"),
                    Member(Header(name=b"f"), b"f"),
                ]
            ),
        ),
        TarCase(
            "size-leading-nul-octal",
            _with_numeric("size", b"\x00%010o" % len(evil().bytes()), evil().bytes()),
            note="Go trims NULs on both sides: the decoy member is data, not an entry",
        ),
        TarCase("size-0o-prefix", _with_numeric("size", b"0o12\x00", b"x" * 10)),
        TarCase("size-tab", _with_numeric("size", b"\t12\x00", b"x" * 10)),
        TarCase("size-underscore", _with_numeric("size", b"1_2\x00", b"x" * 10)),
        TarCase("size-plus", _with_numeric("size", b"+12\x00", b"x" * 10)),
        TarCase("size-spaces-both-sides", _with_numeric("size", b"  12  \x00", b"x" * 10)),
        TarCase("size-nul-inside", _with_numeric("size", b"12\x0077\x00", b"x" * 10)),
        TarCase("size-base256-0x81", _with_numeric("size", b"\x81" + bytes(11))),
        TarCase("size-base256-0xc0-negative", _with_numeric("size", b"\xc0" + b"\xff" * 11)),
        TarCase("size-base256-overflow", _with_numeric("size", b"\x80\x80" + bytes(10))),
        TarCase("mtime-base256-0xfe", _with_numeric("mtime", b"\xfe" + b"\xff" * 11)),
        TarCase("mtime-base256-negative", _with_numeric("mtime", tc.base256(-5, 12))),
        TarCase("uid-base256-huge", _with_numeric("uid", b"\xbf" + b"\xff" * 7)),
        TarCase("mode-garbage", _with_numeric("mode", b"rw-r--r-")),
        TarCase("devmajor-garbage", _with_numeric("devmajor", b"zz\x00")),
        TarCase("devminor-base256", _with_numeric("devminor", b"\x80" + bytes(6) + b"\x07")),
        TarCase("checksum-base256", _checksum_base256()),
        TarCase(
            "checksum-garbage", serialize([Member(Header(name=b"f", chksum=b"abcdefg\x00"), b"f")])
        ),
        TarCase(
            "neg-size-on-file", serialize([Member(Header(name=b"f", size=tc.base256(-1, 12)))])
        ),
        TarCase(
            "neg-size-on-dir",
            serialize([Member(Header(name=b"d/", typeflag=b"5", size=tc.base256(-1, 12)))]),
            note="Go checks the data length: a header-only type has none",
        ),
        TarCase("star-prefix-131", _star(b"name.js", b"p" * 131, b"12345670123")),
        TarCase("star-bad-atime", _star(b"name.js", b"pre", b"zzz")),
        TarCase(
            "ustar-magic-gnu-version",
            serialize(
                [Member(Header(name=b"n.js", prefix=b"pre", magic=b"ustar ", version=b"00"), b"x")]
            ),
            note="neither ustar nor GNU: V7, no prefix",
        ),
        TarCase(
            "v7-with-prefix-bytes",
            serialize(
                [
                    Member(
                        Header(
                            name=b"n.js",
                            prefix=b"pre",
                            magic=tc.V7_MAGIC[0],
                            version=tc.V7_MAGIC[1],
                        ),
                        b"x",
                    )
                ]
            ),
        ),
        TarCase(
            "truncated-in-data", tc.tar_of([tc.file("a", b"x" * 600)], "ustar", end=False)[:700]
        ),
        TarCase(
            "truncated-in-header",
            tc.tar_of([tc.file("a", b"x"), tc.file("b", "y")], "ustar", end=False)[:1100],
        ),
        TarCase(
            "truncated-in-padding", tc.tar_of([tc.file("a", b"x" * 10)], "ustar", end=False)[:600]
        ),
        TarCase("pending-pax-at-end", serialize([pax_member([(b"path", b"x")])], end=False)),
        TarCase("pending-pax-then-end-marker", serialize([pax_member([(b"path", b"x")])])),
        TarCase(
            "pax-over-1mib",
            serialize(
                [
                    Member(
                        Header(name=b"././@PaxHeader", typeflag=b"x"),
                        tc.pax_data([(b"comment", b"c" * (1 << 20))]),
                    ),
                    Member(Header(name=b"f"), b"f"),
                ]
            ),
        ),
        TarCase(
            "double-pax-replaces",
            serialize(
                [
                    pax_member([(b"path", b"first.js"), (b"uid", b"7")]),
                    pax_member([(b"mtime", b"5")]),
                    Member(Header(name=b"f"), b"f"),
                ]
            ),
            note="a later x header replaces the pending records wholesale",
        ),
        TarCase(
            "longname-and-pax-path",
            serialize(
                [
                    pax_member([(b"path", b"pax.js")]),
                    tc.gnu_long_member(b"L", b"gnu.js"),
                    Member(Header(name=b"hdr.js"), b"x"),
                ]
            ),
            note="Go: the GNU long name wins over the PAX path",
        ),
        TarCase(
            "longname-with-nul-inside",
            serialize(
                [
                    tc.gnu_long_member(b"L", b"short\x00hidden-tail.js"),
                    Member(Header(name=b"h"), b"x"),
                ]
            ),
        ),
        TarCase(
            "non-utf8-names",
            serialize(
                [
                    Member(Header(name=b"app/\xff\xfe.js"), b"x"),
                    pax_member([(b"path", b"app/\xc3\x28.js"), (b"linkpath", b"\xe9")]),
                    Member(Header(name=b"l", typeflag=b"2", linkname=b"t")),
                ]
            ),
        ),
        TarCase(
            "ustar-prefix-with-slash-name",
            serialize([Member(Header(name=b"/abs.js", prefix=b"dir"), b"x")]),
        ),
        TarCase("empty-name", serialize([Member(Header(name=b""), b"x")])),
        TarCase(
            "longname-slash-on-nul-type",
            serialize(
                [
                    tc.gnu_long_member(b"L", b"d/" * 60 + b"olddir/"),
                    Member(Header(name=b"short", typeflag=b"\x00", size=0)),
                    evil(),
                ]
            ),
            note="the NUL-type directory test applies to the merged name",
        ),
        TarCase(
            "pax-path-slash-on-nul-type",
            serialize(
                [
                    pax_member([(b"path", b"app/paxdir/")]),
                    Member(Header(name=b"f", typeflag=b"\x00", size=0)),
                    evil(),
                ]
            ),
        ),
        TarCase(
            "type-0-with-trailing-slash",
            serialize([Member(Header(name=b"app/not-a-dir/", typeflag=b"0"), b"data")]),
            note="only type NUL becomes a directory",
        ),
        TarCase(
            "pax-duplicate-keys",
            serialize(
                [
                    Member(
                        Header(name=b"././@PaxHeader", typeflag=b"x"),
                        tc.pax_data([(b"path", b"first.js"), (b"path", b"second.js")]),
                    ),
                    Member(Header(name=b"f"), b"f"),
                ]
            ),
            note="Go keeps the last record",
        ),
        TarCase(
            "pax-then-longname-then-global",
            serialize(
                [
                    pax_member([(b"uid", b"77")]),
                    tc.gnu_long_member(b"L", b"long.js"),
                    pax_member([(b"comment", b"g")], name=b"pax_global_header", typeflag=b"g"),
                    Member(Header(name=b"plain.js"), b"x"),
                ]
            ),
        ),
        TarCase(
            "global-header-with-path-and-size",
            serialize(
                [
                    pax_member(
                        [(b"path", b"app/g"), (b"size", b"1024")],
                        name=b"pax_global_header",
                        typeflag=b"g",
                    ),
                    Member(Header(name=b"f"), b"x"),
                ]
            ),
            note="a g header's records never set a size",
        ),
        TarCase(
            "root-entries",
            serialize(
                [
                    Member(Header(name=b"./", typeflag=b"5", mode=0o755)),
                    Member(Header(name=b"/", typeflag=b"5")),
                    Member(Header(name=b"."), b"file at root"),
                ]
            ),
        ),
    ]
    return cases


def _hdr_only() -> bytes:
    """Go's hdr-only.tar, written afresh: every type once with size 0, then with size 5."""
    pieces: list[tc.Piece] = []
    for size in (None, 5):
        for name, flag, link in (
            (b"dir/", b"5", b""),
            (b"fifo", b"6", b""),
            (b"file", b"0", b""),
            (b"hardlink", b"1", b"file"),
            (b"null", b"3", b""),
            (b"sda", b"4", b""),
            (b"symlink", b"2", b"file"),
            (b"badlink", b"2", b"missing"),
        ):
            hdr = Header(
                name=name,
                typeflag=flag,
                linkname=link,
                magic=GNU_MAGIC[0],
                version=GNU_MAGIC[1],
                uname=b"dsnet",
                gname=b"eng",
            )
            if flag == b"0":
                pieces.append(Member(hdr, b"The quick brown fox jumped over the lazy dog!\n"))
            else:
                hdr.size = 0 if size is None else size
                pieces.append(Member(hdr))
    return serialize(pieces)


def _invalid_go17() -> bytes:
    hdr = Header(
        name=b"foo",
        typeflag=b"\x00",
        uid=0o10000000,
        mtime=0,
        magic=GNU_MAGIC[0],
        version=GNU_MAGIC[1],
        prefix=b"a" * 99,
        size=0,
    )
    return serialize([Member(hdr)])


CASES: list[TarCase] = _well_formed() + _defects() + _sparse_cases()
BY_NAME = {c.name: c for c in CASES}
assert len(BY_NAME) == len(CASES), "duplicate case names"
