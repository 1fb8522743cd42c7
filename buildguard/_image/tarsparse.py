"""PAX-format GNU sparse files (``GNU.sparse.*`` records, formats 0.0, 0.1 and 1.0), expanded
exactly as Go 1.19's ``archive/tar`` expands them (``reader.go``: ``parsePAX``,
``readGNUSparsePAXHeaders``, ``readGNUSparseMap1x0``, ``readGNUSparseMap0x1``,
``sparseFileReader``; ``common.go``: ``validateSparseEntries``, ``invertSparseEntries``).

dockerd, containerd and umoci extract what Go's reader returns: the logical file, holes read
as zeros. The old GNU type ``S`` (map in the header) stays refused in ``tarwalk.py``: the
extractors do not handle that type. A sparse file expanding past :data:`SPARSE_LIMIT` is
refused, so hashing its holes cannot take unbounded time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from buildguard._image.tarfields import BLOCK, HeaderError, parse_int64

SPARSE_LIMIT = 1 << 30
"""Largest logical size of a sparse file buildguard expands (1 GiB)."""

MAJOR = b"GNU.sparse.major"
MINOR = b"GNU.sparse.minor"
NAME = b"GNU.sparse.name"
SIZE = b"GNU.sparse.size"
REALSIZE = b"GNU.sparse.realsize"
MAP = b"GNU.sparse.map"
NUMBLOCKS = b"GNU.sparse.numblocks"
_ZEROS = bytes(1 << 20)
_INT_MAX_HALF = 1 << 62
"""Go's ``int(2*n) < int(n)`` overflow check on a 64-bit ``int``: true from 2**62 up."""


@dataclass(frozen=True)
class SparseHeader:
    """What the PAX records say before the data is read."""

    map_in_data: bool
    """Format 1.0: the map is at the start of the entry's data."""
    name: bytes | None
    size: int | None
    """The logical size, when a record gives it."""
    entries: tuple[tuple[int, int], ...] | None
    """(offset, length) pairs for formats 0.x; ``None`` for 1.0 (read from the data)."""


def sparse_header(pax: dict[bytes, bytes]) -> SparseHeader | None:
    """Go's ``readGNUSparsePAXHeaders`` up to reading the map: ``None`` when Go does not read
    the entry as sparse (no map and no version, or a version it does not know)."""
    major, minor = pax.get(MAJOR, b""), pax.get(MINOR, b"")
    if major == b"0" and minor in (b"0", b"1"):
        in_data = False
    elif major == b"1" and minor == b"0":
        in_data = True
    elif major or minor:
        return None
    elif pax.get(MAP, b""):
        in_data = False
    else:
        return None
    size_text = pax.get(SIZE, b"") or pax.get(REALSIZE, b"")
    size = parse_int64(size_text, "GNU.sparse size") if size_text else None
    return SparseHeader(
        in_data, pax.get(NAME, b"") or None, size, None if in_data else _map_0x1(pax)
    )


def _count(text: bytes) -> int:
    n = parse_int64(text, "GNU.sparse entry count")
    if n < 0 or n >= _INT_MAX_HALF:
        raise HeaderError(f"the GNU sparse entry count {text[:40]!r} is out of range")
    return n


def _map_0x1(pax: dict[bytes, bytes]) -> tuple[tuple[int, int], ...]:
    n = _count(pax.get(NUMBLOCKS, b""))
    raw = pax.get(MAP, b"")
    fields = raw.split(b",") if raw else []
    if len(fields) != 2 * n:
        raise HeaderError("the GNU sparse map does not hold two numbers per entry")
    numbers = [parse_int64(f, "GNU.sparse.map value") for f in fields]
    return tuple(zip(numbers[::2], numbers[1::2], strict=True))


def valid_entries(entries: tuple[tuple[int, int], ...], size: int) -> bool:
    """Go's ``validateSparseEntries`` (the BSD tar checks)."""
    if size < 0:
        return False
    pre_end = 0
    for offset, length in entries:
        if offset < 0 or length < 0 or offset > (1 << 63) - 1 - length:
            return False
        if offset + length > size or pre_end > offset:
            return False
        pre_end = offset + length
    return True


class SparseFile:
    """Physical data in, logical data out (``emit``; ``None`` to check only)."""

    def __init__(
        self, header: SparseHeader, logical: int, emit: Callable[[bytes], None] | None
    ) -> None:
        if logical > SPARSE_LIMIT:
            raise HeaderError(
                f"a sparse file expanding to {logical} bytes (buildguard "
                f"expands at most {SPARSE_LIMIT})"
            )
        self.logical = logical
        self.emit = emit
        self.pos = 0
        self.fragments: list[tuple[int, int]] = []
        self.at = 0
        self.map_buf: bytearray | None = bytearray() if header.entries is None else None
        self.map_need = 1
        if header.entries is not None:
            self._set_map(header.entries)

    def _set_map(self, entries: tuple[tuple[int, int], ...]) -> None:
        if not valid_entries(entries, self.logical):
            raise HeaderError("the GNU sparse map is not valid for the file's size")
        self.fragments = [(o, n) for o, n in entries if n > 0]

    def _zeros(self, n: int) -> None:
        self.pos += n
        if self.emit is None:
            return
        while n:
            take = min(n, len(_ZEROS))
            self.emit(_ZEROS[:take])
            n -= take

    def feed(self, piece: bytes) -> None:
        if self.map_buf is not None:
            piece = self._feed_map(piece)
            if not piece:
                return
        view = memoryview(piece)
        while view:
            if self.at >= len(self.fragments):
                raise HeaderError("a sparse file holds more data than its map places")
            offset, length = self.fragments[self.at]
            if self.pos < offset:
                self._zeros(offset - self.pos)
            take = min(len(view), offset + length - self.pos)
            if self.emit is not None:
                self.emit(bytes(view[:take]))
            self.pos += take
            view = view[take:]
            if self.pos == offset + length:
                self.at += 1

    def _feed_map(self, piece: bytes) -> bytes:
        """Format 1.0: whole blocks until they hold the newlines ``readGNUSparseMap1x0``
        waits for; returns what follows the map."""
        buf = self.map_buf
        assert buf is not None
        while piece:
            take = BLOCK - len(buf) % BLOCK
            buf += piece[:take]
            piece = piece[take:]
            if len(buf) % BLOCK or buf.count(b"\n") < self.map_need:
                continue
            tokens = bytes(buf).split(b"\n")
            if self.map_need == 1:
                self.map_need = 1 + 2 * _count(tokens[0])
                if buf.count(b"\n") < self.map_need:
                    continue
            numbers = [parse_int64(t, "GNU sparse map value") for t in tokens[1 : self.map_need]]
            self.map_buf = None
            self._set_map(tuple(zip(numbers[::2], numbers[1::2], strict=True)))
            return piece
        return b""

    def finish(self) -> None:
        """At the end of the physical data: Go's ``errMissData`` / a short map, else the
        last hole."""
        if self.map_buf is not None:
            raise HeaderError("a GNU sparse 1.0 map ends before its entries")
        if self.at < len(self.fragments):
            raise HeaderError("a sparse file holds less data than its map places")
        self._zeros(self.logical - self.pos)
