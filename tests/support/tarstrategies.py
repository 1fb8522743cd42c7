"""hypothesis strategies for layer tars: well-formed ones and mutations of them.

:func:`well_formed_tars` draws archives of what builders write (every entry kind, ustar /
pax / gnu / v7 headers mixed as writers mix them, long and non-UTF-8 names, big ids,
sub-second and negative times, xattrs, a leading global header, the end marker in its
variants). :func:`mutated_tars` starts from one of those and applies field-level mutations
(checksum recomputed), random type flags and sizes, inserted zero blocks, PAX / GNU records,
dropped members, byte flips and truncation. Both return a :class:`Drawn`: the bytes, the
chunk sizes to feed the walker, and a short description for failure messages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import tarcraft as tc
from hypothesis import strategies as st
from tarcraft import Entry, Member, Piece, Raw

COMPONENT_ALPHABET = [bytes([c]) for c in b"abcdefghijklmnopqrstuvwxyzABCXYZ0123456789._- +=@~"] + [
    "é".encode(),
    "☃".encode(),
    "字".encode(),
    b"\xe9",
    b"\xff",
    b"\x80",
    b"\\",
]


@dataclass(frozen=True)
class Drawn:
    data: bytes
    chunks: tuple[int, ...]
    describe: str


def _component() -> st.SearchStrategy[bytes]:
    short = st.lists(st.sampled_from(COMPONENT_ALPHABET), min_size=1, max_size=12)
    long = st.lists(st.sampled_from(COMPONENT_ALPHABET[:40]), min_size=40, max_size=120)
    return (
        st.one_of(short, short, short, long).map(b"".join).filter(lambda c: c not in (b".", b".."))
    )


names = st.lists(_component(), min_size=1, max_size=6).map(b"/".join)
prefixed_names = st.tuples(st.sampled_from([b"", b"", b"", b"./", b"/"]), names).map(
    lambda t: t[0] + t[1]
)
modes = st.one_of(
    st.sampled_from([0o644, 0o755, 0o600, 0o777, 0o4755, 0o1777, 0o444]), st.integers(0, 0o7777)
)
ids = st.one_of(
    st.sampled_from([0, 0, 1000, 65534]), st.integers(0, 2**21 - 1), st.integers(2**21, 2**40)
)
mtimes = st.one_of(
    st.sampled_from([0, 1, 1_700_000_000, 315_532_800]),
    st.integers(0, 2**33 - 1),
    st.integers(2**33, 2**40),
    st.integers(-(2**31), -1),
)
nsecs = st.one_of(st.just(0), st.just(0), st.integers(0, 999_999_999))
data_strategy = st.one_of(
    st.binary(max_size=64),
    st.binary(max_size=1500),
    st.integers(0, 70_000).map(lambda n: bytes(range(256)) * (n // 256)),
)
pax_extra = st.lists(
    st.one_of(
        st.tuples(st.just(b"SCHILY.xattr.user.k"), st.binary(max_size=20)),
        st.tuples(st.just(b"SCHILY.xattr.security.capability"), st.binary(min_size=1, max_size=20)),
        st.tuples(
            st.sampled_from([b"atime", b"ctime"]),
            st.integers(0, 2**33).map(lambda n: b"%d.%d" % (n, n % 1000)),
        ),
        st.tuples(
            st.sampled_from([b"comment", b"uname", b"gname", b"LIBARCHIVE.creationtime"]),
            st.binary(max_size=20).filter(lambda v: b"\x00" not in v),
        ),
    ),
    max_size=3,
).map(tuple)


@st.composite
def entries(draw: Any) -> list[Entry]:
    out: list[Entry] = []
    files: list[bytes] = []
    for _ in range(draw(st.integers(1, 7))):
        kind = draw(
            st.sampled_from(
                ["file", "file", "file", "dir", "symlink", "hardlink", "fifo", "char", "block"]
            )
        )
        if kind == "hardlink" and not files:
            kind = "file"
        name = draw(prefixed_names)
        common = dict(
            mode=draw(modes),
            uid=draw(ids),
            gid=draw(ids),
            mtime=draw(mtimes),
            mtime_nsec=draw(nsecs),
            pax_extra=draw(pax_extra),
        )
        if kind == "file":
            e = Entry(name, "file", draw(data_strategy), **common)
            files.append(name)
        elif kind == "dir":
            e = Entry(name.rstrip(b"/") + b"/", "dir", **common)
        elif kind == "symlink":
            e = Entry(name, "symlink", link=draw(prefixed_names), **common)
        elif kind == "hardlink":
            e = Entry(name, "hardlink", link=draw(st.sampled_from(files)), **common)
        else:
            e = Entry(
                name,
                kind,
                devmajor=draw(st.integers(0, 300)),
                devminor=draw(st.integers(0, 2**20)),
                **common,
            )
        out.append(e)
    return out


def _write(entry: Entry, preferred: str) -> tuple[list[Piece], str]:
    for fmt in (preferred, "pax", "gnu"):
        try:
            return list(tc.members_for(entry, fmt)), fmt
        except tc.Unrepresentable:
            continue
    raise AssertionError(f"no format holds {entry}")


@st.composite
def well_formed_pieces(draw: Any) -> tuple[list[Piece], str, str]:
    """(pieces, end style, description)."""
    es = draw(entries())
    style = draw(st.sampled_from(["one-format", "mixed"]))
    fmt = draw(st.sampled_from(tc.FORMATS))
    pieces: list[Piece] = []
    if draw(st.integers(0, 9)) == 0:
        pieces.append(
            tc.pax_member(
                [(b"comment", b"%d" % draw(st.integers(0, 2**40)))],
                name=b"pax_global_header",
                typeflag=b"g",
            )
        )
    formats = []
    for e in es:
        written, used = _write(
            e, fmt if style == "one-format" else draw(st.sampled_from(tc.FORMATS))
        )
        formats.append(used)
        pieces.extend(written)
    end = draw(
        st.sampled_from(
            ["two-zero", "two-zero", "two-zero", "one-zero", "none", "many-zero", "garbage-after"]
        )
    )
    describe = f"{len(es)} entries as {','.join(formats)}, end {end}"
    return pieces, end, describe


def _end(data: bytes, end: str) -> bytes:
    if end == "two-zero":
        return data + bytes(1024)
    if end == "one-zero":
        return data + bytes(512)
    if end == "many-zero":
        return data + bytes(512 * 5)
    if end == "garbage-after":
        return data + bytes(1024) + b"\x5a" * 777
    return data


chunk_sizes = st.one_of(
    st.just(()),
    st.lists(
        st.one_of(st.integers(1, 600), st.sampled_from([511, 512, 513, 4096])),
        min_size=1,
        max_size=4,
    ).map(tuple),
)


@st.composite
def well_formed_tars(draw: Any) -> Drawn:
    pieces, end, describe = draw(well_formed_pieces())
    data = _end(tc.serialize(pieces, end=False), end)
    return Drawn(data, draw(chunk_sizes), describe)


# ------------------------------------------------------------------------------ mutations

raw_numeric = st.one_of(
    st.integers(0, 2**36).map(lambda n: b"%o" % n),
    st.integers(0, 2**20).map(lambda n: b" %o \x00" % n),
    st.integers(0, 2**20).map(lambda n: b"\x00%o" % n),
    st.integers(0, 2**20).map(lambda n: b"%o\x00%o" % (n, n)),
    st.sampled_from(
        [
            b"",
            b" ",
            b"\x00",
            b"+7",
            b"-7",
            b"0o7",
            b"7_7",
            b"\t7",
            b"8",
            b"zz",
            b"\x80",
            b"\xff" * 12,
            b"\xc0" + bytes(11),
            b"\x81" + bytes(11),
            b"\xbf" + b"\xff" * 11,
            b"\x80" + bytes(10) + b"\x01",
        ]
    ),
    st.binary(min_size=1, max_size=12),
)
numeric_value = st.one_of(st.integers(-(2**40), 2**40), raw_numeric)
TEXT_FIELDS = ("name", "linkname", "uname", "gname", "prefix")
NUMERIC_FIELDS = ("mode", "uid", "gid", "size", "mtime", "devmajor", "devminor")
PAX_KEYS = [
    b"path",
    b"linkpath",
    b"size",
    b"mtime",
    b"uid",
    b"gid",
    b"atime",
    b"ctime",
    b"uname",
    b"gname",
    b"comment",
    b"GNU.sparse.name",
    b"GNU.sparse.major",
    b"GNU.sparse.minor",
    b"GNU.sparse.size",
    b"GNU.sparse.realsize",
    b"GNU.sparse.map",
    b"GNU.sparse.numblocks",
    b"GNU.sparse.offset",
    b"GNU.sparse.numbytes",
    b"SCHILY.xattr.a",
    b"hdrcharset",
]
pax_values = st.one_of(
    st.integers(-(2**40), 2**40).map(lambda n: b"%d" % n),
    st.sampled_from(
        [
            b"",
            b"1.5",
            b"-1.5",
            b"1e3",
            b" 1",
            b"1_0",
            b"+1",
            b"0x10",
            b"nan",
            b"inf",
            b"1700000000.999999999",
            b"99999999999999999999",
            b"1..2",
            b"a\x00b",
            b"assets/index.js",
            b"GNUSparseFile.0/x",
        ]
    ),
    prefixed_names,
    st.binary(max_size=30),
)
pax_record = st.tuples(
    st.one_of(st.sampled_from(PAX_KEYS), st.binary(min_size=1, max_size=8)), pax_values
)


def _members(pieces: list[Piece]) -> list[int]:
    return [i for i, p in enumerate(pieces) if isinstance(p, Member)]


@st.composite
def mutation(draw: Any, pieces: list[Piece]) -> str:
    """Mutate ``pieces`` in place; return what was done."""
    members = _members(pieces)
    kind = draw(
        st.sampled_from(
            [
                "field",
                "field",
                "typeflag",
                "size",
                "checksum",
                "magic",
                "zero-blocks",
                "pax",
                "gnu-long",
                "global",
                "drop",
                "data",
            ]
        )
    )
    at = draw(st.integers(0, len(pieces)))
    if kind in ("field", "typeflag", "size", "checksum", "magic", "drop", "data") and members:
        i = draw(st.sampled_from(members))
        m = pieces[i]
        assert isinstance(m, Member)
        hdr = replace(m.header)
        if kind == "field":
            name = draw(st.sampled_from(TEXT_FIELDS + NUMERIC_FIELDS))
            if name in TEXT_FIELDS:
                value: Any = draw(st.one_of(prefixed_names, st.binary(max_size=160)))
            else:
                value = draw(numeric_value)
                if isinstance(value, int):
                    try:
                        tc.number(value, 12 if name in ("size", "mtime") else 8)
                    except tc.Unrepresentable:
                        value = 0
            setattr(hdr, name, value)
            what = f"{name}={value!r:.40}"
        elif kind == "typeflag":
            hdr.typeflag = draw(
                st.one_of(
                    st.sampled_from(list(b"\x0001234567gxLKSVMDNA")).map(lambda c: bytes([c])),
                    st.binary(min_size=1, max_size=1),
                )
            )
            what = f"typeflag={hdr.typeflag!r}"
        elif kind == "size":
            hdr.size = draw(
                st.one_of(
                    st.integers(0, 3000),
                    st.integers(-5, -1).map(lambda n: tc.base256(n, 12)),
                    st.sampled_from([511, 512, 513, 1024]),
                )
            )
            what = f"size={hdr.size!r:.30}"
        elif kind == "checksum":
            hdr.chksum = draw(st.one_of(st.integers(0, 200_000), raw_numeric))
            what = f"chksum={hdr.chksum!r:.30}"
        elif kind == "magic":
            hdr.magic, hdr.version = draw(
                st.sampled_from(
                    [
                        tc.USTAR_MAGIC,
                        tc.GNU_MAGIC,
                        tc.V7_MAGIC,
                        (b"ustar ", b"00"),
                        (b"ustar\x00", b" \x00"),
                        (b"USTAR\x00", b"00"),
                    ]
                )
            )
            hdr.trailer = draw(st.sampled_from([b"", b"", tc.STAR_TRAILER]))
            what = f"magic={hdr.magic!r}{hdr.trailer!r}"
        elif kind == "drop":
            del pieces[i]
            return f"drop piece {i}"
        else:
            pieces[i] = Member(hdr, draw(st.binary(max_size=1200)), m.pad)
            return f"data of piece {i} replaced"
        pieces[i] = Member(hdr, m.data, m.pad)
        return f"piece {i}: {what}"
    if kind == "zero-blocks":
        n = draw(st.integers(1, 2))
        pieces.insert(at, tc.zero_blocks(n))
        return f"{n} zero block(s) at {at}"
    if kind == "pax":
        records = draw(st.lists(pax_record, min_size=1, max_size=4))
        flag = draw(st.sampled_from([b"x", b"x", b"g"]))
        pieces.insert(at, tc.pax_member(records, typeflag=flag))
        return f"{flag!r} records {records!r:.120} at {at}"
    if kind == "gnu-long":
        flag = draw(st.sampled_from([b"L", b"K"]))
        pieces.insert(
            at, tc.gnu_long_member(flag, draw(st.one_of(prefixed_names, st.binary(max_size=40))))
        )
        return f"GNU {flag!r} at {at}"
    if kind == "global":
        pieces.insert(
            at, tc.pax_member([(b"comment", b"x")], name=draw(prefixed_names), typeflag=b"g")
        )
        return f"global header at {at}"
    pieces.insert(at, Raw(draw(st.binary(min_size=1, max_size=600))))
    return f"raw bytes at {at}"


@st.composite
def mutated_tars(draw: Any) -> Drawn:
    pieces, end, describe = draw(well_formed_pieces())
    done = [draw(mutation(pieces)) for _ in range(draw(st.integers(1, 3)))]
    data = _end(tc.serialize(pieces, end=False), end)
    if draw(st.integers(0, 4)) == 0 and data:
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            pos = draw(st.integers(0, len(data) - 1))
            data[pos] ^= draw(st.integers(1, 255))
        data = bytes(data)
        done.append("byte flips")
    if draw(st.integers(0, 5)) == 0 and data:
        cut = draw(st.integers(0, len(data)))
        data = data[:cut]
        done.append(f"truncated at {cut}")
    return Drawn(data, draw(chunk_sizes), f"{describe}; mutations: {'; '.join(done)}")
