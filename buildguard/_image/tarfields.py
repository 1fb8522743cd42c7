"""Tar header fields read exactly as Go 1.19's ``archive/tar`` reads them.

The functions here mirror ``strconv.go`` (``parseNumeric``, ``parseOctal``,
``parsePAXTime``, ``parsePAXRecord``, ``validPAXRecord``) and ``format.go``
(``getFormat``): where Go reports ``ErrHeader``, they raise :class:`HeaderError`; where Go
accepts a field, they return the same value. Python's ``int()`` is more liberal than Go
(it takes ``_``, ``0o``, inner whitespace, signs in octal), so every number is checked
against Go's grammar before it is converted. The rules and their sources are listed in
``docs/decisions.md`` ("One tar semantics: the runtime's").
"""

from __future__ import annotations

import re
import zlib

BLOCK = 512
EXT_LIMIT = 1 << 20
"""Go's ``maxSpecialFileSize``: PAX and GNU long-name data larger than this is refused."""


class HeaderError(Exception):
    """A header Go's reader rejects (``ErrHeader``); the walker adds where it was."""


FORMAT_V7 = "v7"
FORMAT_USTAR = "ustar"
FORMAT_GNU = "gnu"
FORMAT_STAR = "star"

_OCTAL_DIGITS = b"01234567"
_DECIMAL = re.compile(rb"[+-]?[0-9]+")
_DIGITS = re.compile(rb"[0-9]*")
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

PAX_PATH = b"path"
PAX_LINKPATH = b"linkpath"
PAX_SIZE = b"size"
PAX_UID = b"uid"
PAX_GID = b"gid"
PAX_MTIME = b"mtime"
PAX_ATIME = b"atime"
PAX_CTIME = b"ctime"
PAX_UNAME = b"uname"
PAX_GNAME = b"gname"
PAX_SPARSE_PREFIX = b"GNU.sparse."
_SPARSE_PAIR = (b"GNU.sparse.offset", b"GNU.sparse.numbytes")
_NO_NUL_VALUES = frozenset({PAX_PATH, PAX_LINKPATH, PAX_UNAME, PAX_GNAME})


def cstring(raw: bytes) -> bytes:
    """Go's ``parseString``: the bytes up to the first NUL."""
    end = raw.find(b"\x00")
    return raw if end < 0 else raw[:end]


def parse_octal(field: bytes) -> int:
    """Go's ``parseOctal``: trim spaces and NULs, cut at a NUL, octal digits only."""
    text = field.strip(b" \x00")
    if not text:
        return 0
    end = text.find(b"\x00")
    if end >= 0:
        text = text[:end]
    if text.translate(None, _OCTAL_DIGITS):
        raise HeaderError(f"{text!r} is not an octal number")
    return int(text, 8)


def parse_numeric(field: bytes) -> int:
    """Go's ``parseNumeric``: base-256 (two's complement) when the top bit is set."""
    if not field or not field[0] & 0x80:
        return parse_octal(field)
    invert = 0xFF if field[0] & 0x40 else 0
    value = 0
    for i, byte in enumerate(field):
        byte ^= invert
        if i == 0:
            byte &= 0x7F
        if value >> 56:
            raise HeaderError("base-256 number overflows 64 bits")
        value = (value << 8) | byte
    if value >> 63:
        raise HeaderError("base-256 number overflows 64 bits")
    return ~value if invert else value


def parse_int64(text: bytes, what: str) -> int:
    """Go's ``strconv.ParseInt(s, 10, 64)``: an optional sign, decimal digits, int64 range."""
    if not _DECIMAL.fullmatch(text):
        raise HeaderError(f"the PAX {what} {text[:40]!r} is not a decimal integer")
    value = int(text)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise HeaderError(f"the PAX {what} {text[:40]!r} is out of range")
    return value


def parse_pax_time(text: bytes, what: str) -> int:
    """Go's ``parsePAXTime`` reduced to whole seconds (rounded down, as ``Unix()`` gives)."""
    seconds, dot, fraction = text.partition(b".")
    whole = parse_int64(seconds, what)
    if not dot or not fraction:
        return whole
    if not _DIGITS.fullmatch(fraction):
        raise HeaderError(f"the PAX {what} {text[:40]!r} is not a time")
    if seconds.startswith(b"-") and fraction.strip(b"0"):
        return whole - 1  # Go: time.Unix(secs, -nsecs); Unix() floors
    return whole


def parse_pax(data: bytes) -> dict[bytes, bytes]:
    """Go's ``parsePAX``: ``"%d %s=%s\\n"`` records until the data ends, strictly."""
    records: dict[bytes, bytes] = {}
    sparse_map: list[bytes] = []
    pos = 0
    end = len(data)
    while pos < end:
        space = data.find(b" ", pos)
        if space < 0:
            raise HeaderError("a PAX record has no length")
        length_text = data[pos:space]
        if not _DECIMAL.fullmatch(length_text):
            raise HeaderError("a PAX record length is not a number")
        length = int(length_text)
        if length < 5 or length > end - pos:
            raise HeaderError("a PAX record length is out of range")
        body = length - (space - pos + 1)
        if body <= 0:
            raise HeaderError("a PAX record length is out of range")
        record_end = space + 1 + body
        if data[record_end - 1 : record_end] != b"\n":
            raise HeaderError("a PAX record does not end in a newline")
        key, eq, value = data[space + 1 : record_end - 1].partition(b"=")
        if not eq or not key:
            raise HeaderError("a PAX record is not KEY=VALUE")
        if key in _NO_NUL_VALUES:
            if b"\x00" in value:
                raise HeaderError(f"the PAX {key.decode()} holds a NUL byte")
        elif b"\x00" in key:
            raise HeaderError("a PAX key holds a NUL byte")
        pos = record_end
        if key in _SPARSE_PAIR:
            # GNU sparse 0.0: offset/numbytes records, strictly alternating, become one
            # GNU.sparse.map value (Go's parsePAX converts 0.0 to 0.1 this way).
            if key != _SPARSE_PAIR[len(sparse_map) % 2] or b"," in value:
                raise HeaderError("GNU sparse offset/numbytes records out of order")
            sparse_map.append(value)
            continue
        records[key] = value
    if sparse_map:
        records[b"GNU.sparse.map"] = b",".join(sparse_map)
    return records


def checksum_ok(header: bytes) -> bool:
    """Go's ``getFormat`` check: the stored checksum (octal) equals the unsigned or signed
    sum of the header with the checksum field read as eight spaces."""
    field = header[148:156]
    plain = _PLAIN.fullmatch(field)
    if plain is not None:
        stored = int(plain[1], 8)
    else:
        try:
            stored = parse_octal(field)
        except HeaderError:
            return False
    unsigned = byte_sum(header) - sum(field) + 8 * 32
    if stored == unsigned:
        return True
    signed = unsigned - 256 * sum(1 for b in header if b > 127)
    signed += 256 * sum(1 for b in field if b > 127)
    return stored == signed


def byte_sum(block: bytes) -> int:
    """The sum of a 512-byte block's bytes, in C: adler32's low half is (1 + sum) mod 65521,
    and each 256-byte half sums to at most 65280, so it is exact there (~10x ``sum()``)."""
    view = memoryview(block)
    return (zlib.adler32(view[:256]) & 0xFFFF) + (zlib.adler32(view[256:]) & 0xFFFF) - 2


def header_format(header: bytes) -> str:
    magic = header[257:263]
    if magic == b"ustar\x00":
        return FORMAT_STAR if header[508:512] == b"tar\x00" else FORMAT_USTAR
    if magic == b"ustar " and header[263:265] == b" \x00":
        return FORMAT_GNU
    return FORMAT_V7


def _is_ascii(raw: bytes) -> bool:
    return raw.isascii()


def header_name(header: bytes, fmt: str) -> bytes:
    """The name with the prefix Go adds for this format (``readHeader``)."""
    name = cstring(header[0:100])
    prefix = b""
    if header[345] == 0 and fmt != FORMAT_GNU:  # the usual case: no prefix at all
        return name
    if fmt == FORMAT_USTAR:
        prefix = cstring(header[345:500])
    elif fmt == FORMAT_STAR:
        prefix = cstring(header[345:476])
    elif fmt == FORMAT_GNU and _gnu_times_invalid(header):
        # Go's fallback for archives of pre-1.8 Go writers: a GNU header whose atime/ctime
        # do not parse carries a USTAR prefix there (golang.org/issue/12594).
        candidate = cstring(header[345:500])
        if _is_ascii(candidate):
            prefix = candidate
    return prefix + b"/" + name if prefix else name


def _gnu_times_invalid(header: bytes) -> bool:
    for field in (header[345:357], header[357:369]):
        if field[0] != 0:
            try:
                parse_numeric(field)
            except HeaderError:
                return True
    return False


_PLAIN = re.compile(rb"[ \x00]*([0-7]+)[ \x00]*")
"""A numeric field as every common writer puts it: octal digits between spaces and NULs.
A full match is exactly what Go's ``parseOctal`` reads (its trim, then digits); anything
else (a NUL inside, base-256, stray bytes) takes the full path."""
_PLAIN_DEVICES = frozenset(
    {bytes(16), b"0000000\x000000000\x00", b"0000000 0000000 ", b"       \x00       \x00"}
)


def fast_octal(field: bytes) -> int:
    """:func:`parse_numeric`, with one compiled match for the usual case."""
    plain = _PLAIN.fullmatch(field)
    return int(plain[1], 8) if plain is not None else parse_numeric(field)


def header_numbers(header: bytes, fmt: str) -> tuple[int, int, int, int, int]:
    """(size, mode, uid, gid, mtime), checking every numeric field Go parses."""
    if fmt == FORMAT_V7 or (fmt != FORMAT_STAR and header[329:345] in _PLAIN_DEVICES):
        return (
            fast_octal(header[124:136]),
            fast_octal(header[100:108]),
            fast_octal(header[108:116]),
            fast_octal(header[116:124]),
            fast_octal(header[136:148]),
        )
    size = parse_numeric(header[124:136])
    mode = parse_numeric(header[100:108])
    uid = parse_numeric(header[108:116])
    gid = parse_numeric(header[116:124])
    mtime = parse_numeric(header[136:148])
    if fmt != FORMAT_V7:
        parse_numeric(header[329:337])  # devmajor
        parse_numeric(header[337:345])  # devminor
        if fmt == FORMAT_STAR:
            parse_numeric(header[476:488])  # atime
            parse_numeric(header[488:500])  # ctime
    return size, mode, uid, gid, mtime
