"""A minimal, push-fed tar header walker for layer tars.

It understands what image layers contain: ustar and GNU headers, GNU long names and long
link names (``L``/``K``), PAX extended headers (``x``: path, linkpath, size, mtime, uid, gid;
global ``g`` headers are read and ignored), base-256 numeric fields, and it verifies every
header's checksum. File data is skipped without copying unless the caller wants the file, in
which case it is hashed (and, for a few files, kept). It is fed chunks of any size, so it
runs on the consumer side of the two-thread layer pipeline (``layers.py``), several times
faster than ``tarfile`` (numbers in ``docs/decisions-reader.md``).

Errors: a bad checksum or a malformed field is :class:`HostileImage`; a stream that ends in
the middle of an entry is :class:`ImageReadError` (raised by :meth:`TarWalker.finish`).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from typing import Any

from buildguard.errors import HostileImage, ImageReadError

BLOCK = 512
_ZERO_BLOCK = bytes(BLOCK)
_EXT_HEADER_LIMIT = 1 << 20
KEEP_LIMIT = 64 << 20
"""Largest file whose bytes are kept when asked (``buildguard-manifest.json``)."""

WANT_SKIP = 0
WANT_HASH = 1
WANT_KEEP = 2

TYPE_FILE = "file"
TYPE_DIR = "dir"
TYPE_SYMLINK = "symlink"
TYPE_HARDLINK = "hardlink"
TYPE_OTHER = "other"

_TYPES: dict[bytes, str] = {
    b"0": TYPE_FILE,
    b"\x00": TYPE_FILE,
    b"7": TYPE_FILE,
    b"1": TYPE_HARDLINK,
    b"2": TYPE_SYMLINK,
    b"5": TYPE_DIR,
    b"3": TYPE_OTHER,
    b"4": TYPE_OTHER,
    b"6": TYPE_OTHER,
}


class TarEntry:
    """One member of a layer tar, as its headers describe it."""

    __slots__ = (
        "data", "gid", "linkname", "mode", "mtime", "name", "sha256", "size", "type", "uid",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        type_: str,
        size: int,
        mode: int,
        mtime: int,
        uid: int,
        gid: int,
        linkname: str,
    ) -> None:
        self.name = name
        self.type = type_
        self.size = size
        self.mode = mode
        self.mtime = mtime
        self.uid = uid
        self.gid = gid
        self.linkname = linkname
        self.sha256: str | None = None
        self.data: bytes | None = None

    def __repr__(self) -> str:
        return f"TarEntry({self.name!r}, {self.type}, size={self.size})"


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _cstr(raw: bytes) -> bytes:
    end = raw.find(b"\x00")
    return raw if end < 0 else raw[:end]


class TarWalker:
    """Feed it the uncompressed bytes of one tar, in order; read :attr:`entries` after
    :meth:`finish`.

    ``want(name)`` is asked for every regular file (with the name as written in the tar,
    after long-name/PAX overrides) and answers :data:`WANT_SKIP`, :data:`WANT_HASH` or
    :data:`WANT_KEEP` (hash and keep the bytes). ``label`` names the layer in errors.
    """

    def __init__(self, want: Callable[[str], int], label: str) -> None:
        self.want = want
        self._relevant: Callable[[str], bool] | None = getattr(want, "relevant", None)
        self.label = label
        self.entries: list[TarEntry] = []
        self.ended = False
        self._hdr = bytearray()
        self._data_left = 0
        self._pad_left = 0
        self._hash: Any = None
        self._keep: list[bytes] | None = None
        self._current: TarEntry | None = None
        self._ext_kind = b""
        self._longname: str | None = None
        self._longlink: str | None = None
        self._pax: dict[bytes, bytes] = {}
        self._offset = 0

    # -- feeding ----------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        n = len(chunk)
        pos = 0
        while pos < n:
            if self._data_left:
                take = min(self._data_left, n - pos)
                if self._hash is not None or self._keep is not None:
                    piece = memoryview(chunk)[pos : pos + take]
                    if self._hash is not None:
                        self._hash.update(piece)
                    if self._keep is not None:
                        self._keep.append(bytes(piece))
                pos += take
                self._data_left -= take
                if not self._data_left:
                    self._end_data()
                continue
            if self._pad_left:
                take = min(self._pad_left, n - pos)
                pos += take
                self._pad_left -= take
                continue
            if self.ended:
                break
            if self._hdr or n - pos < BLOCK:
                take = min(BLOCK - len(self._hdr), n - pos)
                self._hdr += chunk[pos : pos + take]
                pos += take
                if len(self._hdr) < BLOCK:
                    continue
                header = bytes(self._hdr)
                self._hdr.clear()
            else:
                header = chunk[pos : pos + BLOCK]
                pos += BLOCK
            self._header(header)
        self._offset += n

    def finish(self) -> None:
        """Call at the end of the stream: raises when it ended inside an entry."""
        if self._data_left or self._pad_left or self._hdr:
            raise ImageReadError(
                f"{self.label}: the layer tar ends in the middle of an entry "
                f"(truncated after {self._offset} bytes)",
                hint="the blob is incomplete or corrupt; rebuild and push the image again",
            )
        if self._ext_kind or self._longname is not None or self._longlink is not None or self._pax:
            raise ImageReadError(
                f"{self.label}: the layer tar ends after an extended header with no entry",
                hint="the blob is incomplete or corrupt; rebuild and push the image again",
            )

    # -- headers ----------------------------------------------------------------------------

    def _hostile(self, what: str) -> HostileImage:
        return HostileImage(
            f"{self.label}: malformed tar header near byte {self._offset}: {what}",
            hint="the layer was not written by a normal image builder; do not trust this image",
        )

    def _num(self, field: bytes, what: str) -> int:
        if field and field[0] & 0x80:
            value = 0
            for byte in field[1:]:
                value = (value << 8) | byte
            if field[0] == 0xFF:
                value = -(256 ** (len(field) - 1) - value)
            return value
        try:  # fast path: digits padded with NULs or spaces
            return int(field.rstrip(b"\x00 ") or b"0", 8)
        except ValueError:
            pass
        text = _cstr(field).strip()
        if not text:
            return 0
        try:
            return int(text, 8)
        except ValueError:
            raise self._hostile(f"{what} field {text!r} is not an octal number") from None

    def _pax_number(self, pax: dict[bytes, bytes], key: bytes, default: int) -> int:
        raw = pax.get(key)
        if raw is None:
            return default
        try:
            return int(float(raw)) if key == b"mtime" else int(raw)
        except (ValueError, OverflowError):
            raise self._hostile(f"the PAX {key.decode()} value is not a number") from None

    def _header(self, header: bytes) -> None:
        if header == _ZERO_BLOCK:
            if self._ext_kind or self._longname is not None or self._pax:
                raise self._hostile("end-of-archive marker right after an extended header")
            self.ended = True
            return
        stored = self._num(header[148:156], "checksum")
        field_sum = sum(header[148:156])
        # The unsigned checksum is the byte sum with the checksum field read as 8 spaces.
        # adler32's low half is (1 + byte sum) mod 65521, computed in C: ~10x faster than
        # sum(); a 512-byte block sums to at most 130560, so the sum is one of two values.
        low = (zlib.adler32(header) & 0xFFFF) - 1
        total = stored + field_sum - 8 * 32
        calc = stored if total in (low, low + 65521) else sum(header) - field_sum + 8 * 32
        if stored != calc:
            signed = calc - 256 * sum(1 for b in header if b > 127)
            signed += 256 * sum(1 for b in header[148:156] if b > 127)
            if stored != signed:
                raise self._hostile(
                    f"checksum {stored} does not match the header's bytes ({calc})"
                )
        flag = header[156:157]
        size = self._num(header[124:136], "size")
        if size < 0:
            raise self._hostile(f"negative size {size}")

        if flag in (b"L", b"K", b"x", b"g"):
            if size > _EXT_HEADER_LIMIT:
                raise self._hostile(f"extended header of {size} bytes")
            self._ext_kind = flag
            self._keep = []
            self._hash = None
            self._start_data(size)
            return

        kind = _TYPES.get(flag)
        if kind is None:
            raise self._hostile(f"unsupported entry type {flag!r}")

        pax = self._pax
        if self._longname is not None:
            name = self._longname
        elif b"path" in pax:
            name = _decode(pax[b"path"])
        else:
            raw = _cstr(header[0:100])
            if header[257:263] == b"ustar\x00":
                prefix = _cstr(header[345:500])
                if prefix:
                    raw = prefix + b"/" + raw
            name = _decode(raw)
        if pax:
            size = self._pax_number(pax, b"size", size)
            if size < 0:
                raise self._hostile(f"negative PAX size {size}")
        if self._relevant is not None and not self._relevant(name):
            # cannot matter to the paths asked: skip its data, record nothing
            self._pax = {}
            self._longname = None
            self._longlink = None
            self._current = None
            self._keep = None
            self._hash = None
            self._start_data(size if kind in (TYPE_FILE, TYPE_OTHER) else 0)
            return
        if self._longlink is not None:
            linkname = self._longlink
        elif b"linkpath" in pax:
            linkname = _decode(pax[b"linkpath"])
        else:
            linkname = _decode(_cstr(header[157:257]))
        mode = self._num(header[100:108], "mode")
        uid = self._num(header[108:116], "uid")
        gid = self._num(header[116:124], "gid")
        mtime = self._num(header[136:148], "mtime")
        if pax:
            mtime = self._pax_number(pax, b"mtime", mtime)
            uid = self._pax_number(pax, b"uid", uid)
            gid = self._pax_number(pax, b"gid", gid)
            self._pax = {}
        self._longname = None
        self._longlink = None

        if kind != TYPE_FILE and kind != TYPE_OTHER:
            size = 0  # links and directories carry no data (as tarfile reads them)
        entry = TarEntry(name, kind, size, mode & 0o7777, mtime, uid, gid, linkname)
        self._current = entry
        self._keep = None
        self._hash = None
        if kind == TYPE_FILE:
            level = self.want(name)
            if level:
                self._hash = hashlib.sha256()
                if level == WANT_KEEP and size <= KEEP_LIMIT:
                    self._keep = []
        self._start_data(size)

    def _start_data(self, size: int) -> None:
        self._data_left = size
        self._pad_left = -size % BLOCK
        if not size:
            self._end_data()

    def _end_data(self) -> None:
        if self._ext_kind:
            kind = self._ext_kind
            data = b"".join(self._keep or ())
            self._ext_kind = b""
            self._keep = None
            if kind == b"L":
                self._longname = _decode(_cstr(data))
            elif kind == b"K":
                self._longlink = _decode(_cstr(data))
            elif kind == b"x":
                self._pax = self._parse_pax(data)
            return
        entry = self._current
        if entry is None:  # an entry skipped as irrelevant
            return
        if self._hash is not None:
            entry.sha256 = self._hash.hexdigest()
        if self._keep is not None:
            entry.data = b"".join(self._keep)
        self._hash = None
        self._keep = None
        self._current = None
        self.entries.append(entry)

    def _parse_pax(self, data: bytes) -> dict[bytes, bytes]:
        records: dict[bytes, bytes] = {}
        pos = 0
        while pos < len(data):
            if data[pos] == 0:
                break
            space = data.find(b" ", pos)
            if space < 0:
                raise self._hostile("PAX record without a length")
            try:
                length = int(data[pos:space])
            except ValueError:
                raise self._hostile("PAX record length is not a number") from None
            if length <= space - pos or pos + length > len(data):
                raise self._hostile("PAX record length out of range")
            record = data[space + 1 : pos + length]
            if not record.endswith(b"\n") or b"=" not in record:
                raise self._hostile("PAX record is not KEY=VALUE")
            key, _, value = record[:-1].partition(b"=")
            records[key] = value
            pos += length
        return records
