"""A tar writer for tests that writes every block itself (never through ``tarfile``).

It writes what well-formed builders write (Go's ``archive/tar`` writer as used by moby,
containerd and BuildKit; GNU tar; Python's ``tarfile``; bsdtar) and, because every field is
set by hand, also what none of them writes: any type flag, a size on a header-only type, raw
octal or base-256 fields, a wrong checksum, PAX records of any kind, zero blocks anywhere.

Three levels:

- :class:`Header` is one 512-byte header block; every field is either a number (written
  the usual way, octal or base-256 as it fits) or raw ``bytes`` (written as given, padded or
  cut to the field). The checksum is computed unless set.
- :class:`Member` is a header and its data (padded to 512). A tar is a list of members and
  :class:`Raw` pieces, joined by :func:`serialize` (which adds the end-of-archive marker).
- :class:`Entry` is one file as a builder sees it; :func:`members_for` writes it in a given
  format (``ustar``, ``pax``, ``gnu``, ``v7``) the way builders of that format do, or raises
  :class:`Unrepresentable`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

BLOCK = 512
MTIME = 1_700_000_000
USTAR_MAGIC = (b"ustar\x00", b"00")
GNU_MAGIC = (b"ustar ", b" \x00")
V7_MAGIC = (b"\x00" * 6, b"\x00\x00")
STAR_TRAILER = b"tar\x00"

Field = int | bytes
"""A numeric field: a number (encoded as builders do) or the raw bytes to write there."""

TYPEFLAG = {
    "file": b"0",
    "hardlink": b"1",
    "symlink": b"2",
    "char": b"3",
    "block": b"4",
    "dir": b"5",
    "fifo": b"6",
}
FORMATS = ("ustar", "pax", "gnu", "v7")


class Unrepresentable(ValueError):
    """The entry cannot be written in that format (a builder would pick another)."""


# ------------------------------------------------------------------------------- numbers


def octal(value: int, width: int) -> bytes:
    """``width - 1`` zero-padded octal digits and a NUL (Go's and GNU tar's way)."""
    digits = b"%0*o" % (width - 1, value)
    if value < 0 or len(digits) > width - 1:
        raise Unrepresentable(f"{value} does not fit {width - 1} octal digits")
    return digits + b"\x00"


def fits_octal(value: int, width: int) -> bool:
    return 0 <= value < 8 ** (width - 1)


def base256(value: int, width: int) -> bytes:
    """GNU binary numbers: big-endian two's complement with the top bit set."""
    if not -(1 << (8 * width - 2)) <= value < (1 << (8 * width - 2)):
        raise Unrepresentable(f"{value} does not fit base-256 in {width} bytes")
    raw = bytearray((value % (1 << (8 * width))).to_bytes(width, "big"))
    raw[0] |= 0x80
    return bytes(raw)


def number(value: Field, width: int) -> bytes:
    """Octal when it fits, else base-256; raw bytes are padded with NULs or cut."""
    if isinstance(value, bytes):
        return value[:width].ljust(width, b"\x00")
    if fits_octal(value, width):
        return octal(value, width)
    return base256(value, width)


def text(value: bytes, width: int) -> bytes:
    return value[:width].ljust(width, b"\x00")


# ------------------------------------------------------------------------------- blocks


@dataclass
class Header:
    """One header block. ``size=None`` means the length of the member's data."""

    name: bytes = b""
    mode: Field = 0o644
    uid: Field = 0
    gid: Field = 0
    size: Field | None = None
    mtime: Field = MTIME
    typeflag: bytes = b"0"
    linkname: bytes = b""
    magic: bytes = USTAR_MAGIC[0]
    version: bytes = USTAR_MAGIC[1]
    uname: bytes = b""
    gname: bytes = b""
    devmajor: Field = 0
    devminor: Field = 0
    prefix: bytes = b""
    """Bytes 345:500 (the ustar prefix; GNU keeps atime/ctime/sparse data there)."""
    trailer: bytes = b""
    """Bytes 508:512 (``tar\\0`` marks a star header)."""
    chksum: Field | None = None
    patches: tuple[tuple[int, bytes], ...] = ()
    """Raw bytes written at these offsets before the checksum is computed."""

    def block(self, data_size: int = 0) -> bytes:
        blk = bytearray(BLOCK)
        size = data_size if self.size is None else self.size
        v7 = self.magic == V7_MAGIC[0]
        blk[0:100] = text(self.name, 100)
        blk[100:108] = number(self.mode, 8)
        blk[108:116] = number(self.uid, 8)
        blk[116:124] = number(self.gid, 8)
        blk[124:136] = number(size, 12)
        blk[136:148] = number(self.mtime, 12)
        blk[156:157] = text(self.typeflag, 1)
        blk[157:257] = text(self.linkname, 100)
        blk[257:263] = text(self.magic, 6)
        blk[263:265] = text(self.version, 2)
        if not v7:
            blk[265:297] = text(self.uname, 32)
            blk[297:329] = text(self.gname, 32)
            blk[329:337] = number(self.devmajor, 8)
            blk[337:345] = number(self.devminor, 8)
        blk[345:500] = text(self.prefix, 155)
        if self.trailer:
            blk[508:512] = text(self.trailer, 4)
        for offset, raw in self.patches:
            blk[offset : offset + len(raw)] = raw
            del blk[BLOCK:]
        if self.chksum is None:
            blk[148:156] = b" " * 8
            blk[148:156] = b"%06o\x00 " % sum(blk)
        else:
            blk[148:156] = number(self.chksum, 8)
        return bytes(blk)


def checksum_ok(block: bytes) -> bytes:
    """``block`` with its checksum field recomputed (unsigned sum, Go's and GNU's form)."""
    blk = bytearray(block)
    blk[148:156] = b" " * 8
    blk[148:156] = b"%06o\x00 " % sum(blk)
    return bytes(blk)


def padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK)


@dataclass
class Member:
    """A header and its data. ``pad=False`` leaves the data unpadded (for truncations)."""

    header: Header
    data: bytes = b""
    pad: bool = True

    def bytes(self) -> bytes:
        blob = self.header.block(len(self.data)) + self.data
        return padded(blob) if self.pad else blob


@dataclass
class Raw:
    """Bytes put into the stream as they are (zero blocks, garbage, a cut header)."""

    data: bytes

    def bytes(self) -> bytes:
        return self.data


Piece = Member | Raw


def zero_blocks(n: int = 1) -> Raw:
    return Raw(bytes(BLOCK * n))


def serialize(pieces: Iterable[Piece], *, end: bool = True) -> bytes:
    """Join the pieces; ``end`` appends the two zero blocks of the end-of-archive marker."""
    out = b"".join(p.bytes() for p in pieces)
    return out + bytes(2 * BLOCK) if end else out


def pax_data(records: Iterable[tuple[bytes, bytes]]) -> bytes:
    """``"%d %s=%s\\n"`` records, the length counting itself (as every writer computes it)."""
    out = bytearray()
    for key, value in records:
        body = b" " + key + b"=" + value + b"\n"
        length = len(body) + 1
        while len(b"%d" % length) + len(body) != length:
            length = len(b"%d" % length) + len(body)
        out += b"%d" % length + body
    return bytes(out)


def pax_member(
    records: Iterable[tuple[bytes, bytes]],
    *,
    name: bytes = b"././@PaxHeader",
    typeflag: bytes = b"x",
    magic: tuple[bytes, bytes] = USTAR_MAGIC,
) -> Member:
    return Member(
        Header(name=name, typeflag=typeflag, mode=0o644, magic=magic[0], version=magic[1], mtime=0),
        pax_data(records),
    )


def gnu_long_member(kind: bytes, value: bytes) -> Member:
    """A GNU ``L`` (long name) or ``K`` (long link name) member, as GNU tar writes it."""
    return Member(
        Header(
            name=b"././@LongLink",
            typeflag=kind,
            mode=0o644,
            mtime=0,
            magic=GNU_MAGIC[0],
            version=GNU_MAGIC[1],
        ),
        value + b"\x00",
    )


# ------------------------------------------------------------------------------- entries


@dataclass
class Entry:
    """One file as a builder writes it. ``kind``: see :data:`TYPEFLAG`."""

    name: bytes
    kind: str = "file"
    data: bytes = b""
    link: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: int = MTIME
    mtime_nsec: int = 0
    """Sub-second part, written only by PAX (BuildKit writes ``mtime=SECONDS.NANOS``)."""
    uname: bytes = b""
    gname: bytes = b""
    devmajor: int = 0
    devminor: int = 0
    pax_extra: tuple[tuple[bytes, bytes], ...] = ()
    """More PAX records (xattrs, atime, comment), written in the pax format only."""


def file(name: str | bytes, data: bytes | str = b"", **kw: object) -> Entry:
    raw = data.encode() if isinstance(data, str) else data
    return Entry(_b(name), "file", raw, **kw)  # type: ignore[arg-type]


def directory(name: str | bytes, **kw: object) -> Entry:
    kw.setdefault("mode", 0o755)
    n = _b(name)
    return Entry(n if n.endswith(b"/") else n + b"/", "dir", **kw)  # type: ignore[arg-type]


def symlink(name: str | bytes, target: str | bytes, **kw: object) -> Entry:
    kw.setdefault("mode", 0o777)
    return Entry(_b(name), "symlink", link=_b(target), **kw)  # type: ignore[arg-type]


def hardlink(name: str | bytes, target: str | bytes, **kw: object) -> Entry:
    return Entry(_b(name), "hardlink", link=_b(target), **kw)  # type: ignore[arg-type]


def special(name: str | bytes, kind: str, **kw: object) -> Entry:
    """A ``fifo``, ``char`` or ``block`` entry."""
    return Entry(_b(name), kind, **kw)  # type: ignore[arg-type]


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def _split_ustar(name: bytes) -> tuple[bytes, bytes] | None:
    """(prefix, name) that fit the ustar fields, as Go's writer splits, or None."""
    if len(name) <= 100:
        return b"", name
    if len(name) > 256:
        return None
    for i in range(len(name) - 1, 0, -1):
        if name[i] == ord("/") and i <= 155 and len(name) - i - 1 <= 100 and len(name) - i > 1:
            return name[:i], name[i + 1 :]
    return None


def _ascii(raw: bytes) -> bool:
    return all(0 < b < 0x80 for b in raw)


def members_for(entry: Entry, fmt: str) -> list[Member]:
    """The members a builder of format ``fmt`` writes for ``entry``."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    flag = TYPEFLAG[entry.kind]
    data = entry.data if entry.kind == "file" else b""
    base = Header(
        name=entry.name,
        mode=entry.mode,
        uid=entry.uid,
        gid=entry.gid,
        mtime=entry.mtime,
        typeflag=flag,
        linkname=entry.link,
        uname=entry.uname,
        gname=entry.gname,
        devmajor=entry.devmajor,
        devminor=entry.devminor,
    )
    numbers_fit = (
        fits_octal(entry.uid, 8)
        and fits_octal(entry.gid, 8)
        and fits_octal(len(data), 12)
        and fits_octal(entry.mtime, 12)
        and fits_octal(entry.mode, 8)
    )
    if fmt == "v7":
        if len(entry.name) > 99 or len(entry.link) > 99 or not numbers_fit:
            raise Unrepresentable("v7 holds short names and small numbers only")
        if entry.kind not in ("file", "dir", "symlink", "hardlink"):
            raise Unrepresentable("v7 has no device or fifo entries")
        v7flag = b"\x00" if entry.kind in ("file", "dir") else flag
        return [
            Member(
                replace(
                    base,
                    typeflag=v7flag,
                    magic=V7_MAGIC[0],
                    version=V7_MAGIC[1],
                    uname=b"",
                    gname=b"",
                ),
                data,
            )
        ]
    if fmt == "ustar":
        split = _split_ustar(entry.name)
        if split is None or len(entry.link) > 100 or not numbers_fit:
            raise Unrepresentable("does not fit ustar")
        if not fits_octal(entry.devmajor, 8) or not fits_octal(entry.devminor, 8):
            raise Unrepresentable("device numbers do not fit ustar")
        prefix, name = split
        return [Member(replace(base, name=name, prefix=prefix), data)]
    if fmt == "gnu":
        out = []
        if len(entry.link) > 100:
            out.append(gnu_long_member(b"K", entry.link))
        if len(entry.name) > 100:
            out.append(gnu_long_member(b"L", entry.name))
        if not -(1 << 62) <= entry.mtime < (1 << 62):
            raise Unrepresentable("mtime beyond base-256")
        out.append(
            Member(
                replace(
                    base,
                    name=entry.name[:100],
                    linkname=entry.link[:100],
                    magic=GNU_MAGIC[0],
                    version=GNU_MAGIC[1],
                ),
                data,
            )
        )
        return out
    # pax: a ustar header, with an 'x' member first for what does not fit (Go's writer).
    records: list[tuple[bytes, bytes]] = []
    header = replace(base)
    split = _split_ustar(entry.name) if _ascii(entry.name) else None
    if split is None:
        records.append((b"path", entry.name))
        header.name = bytes(b for b in entry.name if 0 < b < 0x80)[:100]
    else:
        header.prefix, header.name = split
    if len(entry.link) > 100 or not _ascii(entry.link):
        records.append((b"linkpath", entry.link))
        header.linkname = bytes(b for b in entry.link if 0 < b < 0x80)[:100]
    for key, value, width in (
        (b"uid", entry.uid, 8),
        (b"gid", entry.gid, 8),
        (b"size", len(data), 12),
    ):
        if not fits_octal(value, width):
            records.append((key, b"%d" % value))
            setattr(header, key.decode(), 0)
    if entry.mtime_nsec or not fits_octal(entry.mtime, 12):
        records.append((b"mtime", _pax_time(entry.mtime, entry.mtime_nsec)))
        header.mtime = entry.mtime if fits_octal(entry.mtime, 12) else 0
    records.extend(entry.pax_extra)
    out = []
    if records:
        tail = entry.name.rstrip(b"/").rsplit(b"/", 1)[-1]
        xname = b"PaxHeaders.0/" + bytes(b for b in tail if 0 < b < 0x80)[:80]
        out.append(pax_member(records, name=xname))
    out.append(Member(header, data))
    return out


def _pax_time(seconds: int, nsec: int) -> bytes:
    if not nsec:
        return b"%d" % seconds
    frac = (b"%09d" % nsec).rstrip(b"0")
    if seconds < 0:  # -1.5 means 1.5 s before the epoch: whole part rounds toward zero
        whole = seconds + 1
        frac = (b"%09d" % (10**9 - nsec)).rstrip(b"0")
        return (b"-%d" % -whole if whole else b"-0") + b"." + frac
    return b"%d.%s" % (seconds, frac)


def tar_of(entries: Sequence[Entry], fmt: str = "pax", *, end: bool = True) -> bytes:
    """A whole tar of ``entries`` in one format."""
    pieces: list[Piece] = []
    for e in entries:
        pieces.extend(members_for(e, fmt))
    return serialize(pieces, end=end)


def members_of(entries: Sequence[Entry], formats: Sequence[str]) -> list[Piece]:
    """Each entry in its own format (builders mix them within one archive)."""
    pieces: list[Piece] = []
    for e, fmt in zip(entries, formats, strict=True):
        pieces.extend(members_for(e, fmt))
    return pieces


__all__ = [
    "BLOCK",
    "FORMATS",
    "GNU_MAGIC",
    "MTIME",
    "STAR_TRAILER",
    "USTAR_MAGIC",
    "V7_MAGIC",
    "Entry",
    "Header",
    "Member",
    "Raw",
    "Unrepresentable",
    "base256",
    "checksum_ok",
    "directory",
    "file",
    "gnu_long_member",
    "hardlink",
    "members_for",
    "members_of",
    "number",
    "octal",
    "pax_data",
    "pax_member",
    "serialize",
    "special",
    "symlink",
    "tar_of",
    "zero_blocks",
]
