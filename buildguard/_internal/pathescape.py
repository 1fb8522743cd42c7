"""One reversible escape for file names that are not valid UTF-8.

File names are bytes on disk and in layer tars; the models and reports are JSON, which holds
text only. Inside buildguard a name is a ``str`` decoded with ``surrogateescape`` (what
``os.fsdecode`` and :func:`decode_name` give): every byte that is not part of valid UTF-8
becomes a lone surrogate ``U+DC80`` to ``U+DCFF``. At the model boundary (records, manifests,
reports) :func:`escape` writes each such byte as ``\\xNN`` (two lowercase hex digits) and the
escape character itself as ``\\\\``; everything else is kept as it is. :func:`unescape` is its
exact inverse, so two names compare equal in the models exactly when their bytes are equal.

Examples: ``b"caf\\xe9.js"`` → ``caf\\xe9.js``; ``a\\b.js`` → ``a\\\\b.js``; ``café.js`` stays.
"""

from __future__ import annotations

import re

_NEEDS_ESCAPE = re.compile("[\\\\\udc80-\udcff]")
_ANY_BACKSLASH = re.compile(r"\\(\\|x[0-9a-f]{2})?")


def decode_name(raw: bytes) -> str:
    """Bytes of a file name → the internal ``str`` (``surrogateescape``)."""
    return raw.decode("utf-8", "surrogateescape")


def encode_name(name: str) -> bytes:
    """The internal ``str`` → the file name's bytes."""
    return name.encode("utf-8", "surrogateescape")


def _escape_one(match: re.Match[str]) -> str:
    char = match.group(0)
    return "\\\\" if char == "\\" else f"\\x{ord(char) - 0xDC00:02x}"


def escape(name: str) -> str:
    """Internal name → the name as written in models (valid UTF-8 text, reversible)."""
    if not _NEEDS_ESCAPE.search(name):
        return name
    return _NEEDS_ESCAPE.sub(_escape_one, name)


def _unescape_one(match: re.Match[str]) -> str:
    code = match.group(1)
    if code is None:
        raise ValueError("a backslash that is not an escape")
    if code == "\\":
        return "\\"
    value = int(code[1:], 16)
    if value < 0x80:
        raise ValueError(f"\\x{value:02x} is not an escaped byte")
    return chr(0xDC00 + value)


def unescape(text: str) -> str:
    """A name as written in models → the internal name.

    Raises :class:`ValueError` for anything :func:`escape` never writes (a backslash that is
    not one of the two escapes, ``\\xNN`` below ``\\x80``, upper-case hex, a lone
    surrogate), so a damaged name is never read as another one.
    """
    if "\\" not in text and not _NEEDS_ESCAPE.search(text):
        return text
    try:
        result = _ANY_BACKSLASH.sub(_unescape_one, text)
    except ValueError as exc:
        raise ValueError(f"name {text!r}: {exc}") from None
    if escape(result) != text:
        raise ValueError(f"name {text!r} is not in the escaped form")
    return result
