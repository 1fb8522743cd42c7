"""Go's JSON grammar (``encoding/json/scanner.go``), for :mod:`buildguard.image.gojson`.

:func:`parse` reads one JSON value from bytes the way Go's scanner accepts it — only
space, tab, CR and LF as white space, no byte-order mark, no NaN or Infinity, Go's number
and string grammar, nothing after the value — into a tree that keeps every object key in
order, repeats included (:class:`Obj`), numbers as their literal (:class:`Number`) and
strings written with escapes marked (:class:`Escaped`). A lone surrogate escape becomes
U+FFFD as in Go's ``unquote``; invalid UTF-8 and nesting deeper than :data:`MAX_DEPTH` are
refused (``DocumentRefused``); everything Go rejects is an ``ImageReadError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from buildguard.errors import DocumentRefused, ImageReadError

MAX_DEPTH = 200
"""Nesting we read; Go reads 10000 (``scanner.go`` maxNestingDepth), we refuse beyond this."""

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_PLAIN_STRING = re.compile(r'"([^"\\\x00-\x1f]*)"')
_STRING = re.compile(r'"((?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*)"')
_ESCAPE = re.compile(
    r"\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
    r'|u([0-9a-fA-F]{4})|(["\\/bfnrt]))'
)
_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


# -- the parsed tree -----------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    """A JSON number, kept as its literal (Go converts it only for the field it lands in)."""

    text: str


class Escaped(str):
    """A string literal that was written with escapes (``time.Time`` sees the raw bytes)."""

    __slots__ = ()


@dataclass(frozen=True)
class Obj:
    """A JSON object with every key, in order, repeats included."""

    pairs: tuple[tuple[str, Any], ...]


class _Parser:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what

    def fail(self, pos: int, expected: str) -> ImageReadError:
        if pos >= len(self.text):
            found = "the end of the document"
        else:
            found = f"{self.text[pos]!r} at offset {pos}"
        return ImageReadError(
            f"{self.what} is not valid JSON: {found} where {expected} was expected "
            "(Go's decoder rejects it too)",
            hint="the image metadata is corrupt",
        )

    def value(self, pos: int, depth: int) -> tuple[Any, int]:
        text = self.text
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        char = text[pos] if pos < len(text) else ""
        if char == "{" or char == "[":
            if depth >= MAX_DEPTH:
                raise DocumentRefused(
                    f"{self.what} nests objects and arrays more than {MAX_DEPTH} deep",
                    hint="no image document nests this deep; the document is crafted",
                )
            return self.container(pos, depth + 1)
        if char == '"':
            return self.string(pos)
        if char == "t" and text.startswith("true", pos):
            return True, pos + 4
        if char == "f" and text.startswith("false", pos):
            return False, pos + 5
        if char == "n" and text.startswith("null", pos):
            return None, pos + 4
        number = _NUMBER.match(text, pos)
        if number is None:
            raise self.fail(pos, "a value")
        return Number(number.group()), number.end()

    def container(self, pos: int, depth: int) -> tuple[Any, int]:
        text = self.text
        is_obj = text[pos] == "{"
        close = "}" if is_obj else "]"
        pairs: list[tuple[str, Any]] = []
        items: list[Any] = []
        pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        if text.startswith(close, pos):
            return (Obj(()) if is_obj else []), pos + 1
        while True:
            if is_obj:
                pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
                if not text.startswith('"', pos):
                    raise self.fail(pos, "an object key")
                key, pos = self.string(pos)
                pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
                if not text.startswith(":", pos):
                    raise self.fail(pos, "':'")
                item, pos = self.value(pos + 1, depth)
                pairs.append((str(key), item))
            else:
                item, pos = self.value(pos, depth)
                items.append(item)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if text.startswith(",", pos):
                pos += 1
                continue
            if text.startswith(close, pos):
                return (Obj(tuple(pairs)) if is_obj else items), pos + 1
            raise self.fail(pos, f"',' or '{close}'")

    def string(self, pos: int) -> tuple[str, int]:
        plain = _PLAIN_STRING.match(self.text, pos)
        if plain is not None:
            return plain.group(1), plain.end()
        match = _STRING.match(self.text, pos)
        if match is None:
            raise self.fail(pos, "a string (escapes as JSON defines them, no control bytes)")
        return Escaped(_ESCAPE.sub(_unescape, match.group(1))), match.end()


def _unescape(match: re.Match[str]) -> str:
    high, low, single, simple = match.groups()
    if high is not None:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
    if single is not None:
        code = int(single, 16)
        # A surrogate that is not the first of a valid pair becomes U+FFFD (decode.go unquote).
        return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)
    return _SIMPLE[simple]


def parse(data: bytes, what: str) -> Any:
    """The one JSON value in ``data`` under Go's grammar: :class:`Obj`, ``list``, ``str``,
    :class:`Number`, ``bool`` or ``None``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentRefused(
            f"{what} holds bytes that are not UTF-8 (offset {exc.start}); Go's decoder reads "
            "them as U+FFFD, which buildguard does not reproduce",
            hint="image documents are UTF-8; the document is corrupt or crafted",
        ) from None
    parser = _Parser(text, what)
    value, pos = parser.value(0, 0)
    pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
    if pos != len(text):
        raise parser.fail(pos, "nothing more after the document's value")
    return value
