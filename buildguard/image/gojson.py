"""Decode JSON as Go's ``encoding/json`` fills a struct, or refuse where we could differ.

dockerd, containerd, skopeo and umoci read image documents with Go's ``encoding/json``
(``json.Unmarshal`` into the image-spec, distribution and moby structs). Its rules are not a
Python ``dict`` lookup: an object key binds to a field by exact name first and then
*case-insensitively* (with Unicode folds such as U+212A KELVIN SIGN for ``k``); a repeated
key decodes again into the same field (scalars: the later wins; structs, maps and even slice
elements: the later one merges into the earlier); ``null`` leaves a scalar alone; invalid
UTF-8 turns into U+FFFD; numbers into ``int64`` fields must be plain integers.

:func:`parse` reads bytes with Go's grammar (``scanner.go``) into a tree that keeps every
key in order (:class:`Obj`); :func:`bind` walks that tree with a struct description
(:class:`Struct` and friends) and returns what Go would fill, as plain Python values, or
raises:

- :class:`~buildguard.errors.ImageReadError` where Go's ``Unmarshal`` returns an error
  (syntax, a JSON type that does not fit the field, an ``int64`` that is a float or
  overflows, a time that is not RFC 3339) — the runtime refuses such a document;
- :class:`~buildguard.errors.DocumentRefused` where Go reads the document but our reading
  could differ: a key that matches a field only case-insensitively, a field given twice, a
  map key given twice, invalid UTF-8, nesting deeper than :data:`MAX_DEPTH`.

The rules and their Go sources are listed in docs/decisions.md ("JSON as Go reads it").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from buildguard.errors import DocumentRefused, ImageReadError

MAX_DEPTH = 200
"""Nesting we read; Go reads 10000 (``scanner.go`` maxNestingDepth), we refuse beyond this."""

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_PLAIN_STRING = re.compile(r'"([^"\\\x00-\x1f]*)"')
_STRING = re.compile(r'"((?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*)"')
_ESCAPE = re.compile(
    r"\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
    r'|u([0-9a-fA-F]{4})|(["\\/bfnrt]))'
)
_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,18})")
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?(Z|[+-](\d\d):(\d\d))"
)
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")

# Non-ASCII runes whose Unicode simple case fold lands on an ASCII letter: Go 1.19's
# equalFoldRight accepts U+212A for k and U+017F for s (fold.go); Go 1.21+'s foldName
# (ToUpper(ToLower(r))) also takes U+0130 and U+0131 for i.
_FOLD_TO_ASCII = {"\u212a": "K", "\u017f": "S", "\u0130": "I", "\u0131": "I"}


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


def fold(name: str) -> str:
    """The key as any Go version compares it case-insensitively with an ASCII field name."""
    return "".join(_FOLD_TO_ASCII.get(c, c.upper() if c.isascii() else c) for c in name)


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


# -- struct descriptions -------------------------------------------------------------------


@dataclass(frozen=True)
class Scalar:
    """``string``, ``int64``, ``bool``, ``time.Time``, ``[]byte`` or an object we do not
    bind (``object``: an object or null, its contents grammar-checked only)."""

    kind: str


STRING = Scalar("string")
INT64 = Scalar("int64")
BOOL = Scalar("bool")
TIME = Scalar("time")
BYTES = Scalar("bytes")
OBJECT = Scalar("object")


@dataclass(frozen=True)
class ListOf:
    elem: Spec


@dataclass(frozen=True)
class MapOf:
    """``map[string]T``."""

    elem: Spec


@dataclass(frozen=True)
class Struct:
    """A Go struct: JSON name → spec. ``pointer``: a ``*T`` field (``null`` when absent)
    rather than a ``T`` value (all zero fields when absent)."""

    name: str
    fields: Mapping[str, Spec]
    pointer: bool = False
    folded: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        folded = {fold(name): name for name in self.fields}
        if len(folded) != len(self.fields):
            raise ValueError(f"struct {self.name} has fields that fold to one name")
        object.__setattr__(self, "folded", folded)


Spec = Scalar | ListOf | MapOf | Struct


def zero(spec: Spec) -> Any:
    """Go's zero value as :func:`bind` returns it (``None`` for nil slices, maps, pointers)."""
    if isinstance(spec, Struct):
        return None if spec.pointer else {}
    if isinstance(spec, Scalar):
        return {"string": "", "int64": 0, "bool": False}.get(spec.kind)
    return None


# -- binding -------------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    if isinstance(value, Obj):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _mismatch(what: str, path: str, value: Any, wanted: str) -> ImageReadError:
    return ImageReadError(
        f"{what}: {path} is {_json_type(value)} where the runtime's Go struct holds {wanted}; "
        "Go's decoder rejects the document",
        hint="the image metadata is corrupt or crafted",
    )


def bind(value: Any, spec: Spec, what: str, path: str = "") -> Any:
    """What Go fills into a field of ``spec`` from ``value`` (a :func:`parse` tree).

    Structs come back as ``dict`` holding only the fields the document gave (non-null);
    slices as ``list``; maps as ``dict``; ``null`` as ``None`` (absent); ``time.Time`` as
    its RFC 3339 text; ``[]byte`` as its base64 text.
    """
    where = path or "the document"
    if value is None:
        return None
    if isinstance(spec, Struct):
        if not isinstance(value, Obj):
            return _raise(_mismatch(what, where, value, f"a {spec.name} object"))
        return _bind_struct(value, spec, what, path)
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            return _raise(_mismatch(what, where, value, "an array"))
        return [
            _or_zero(bind(item, spec.elem, what, f"{path}[{i}]"), spec.elem)
            for i, item in enumerate(value)
        ]
    if isinstance(spec, MapOf):
        if not isinstance(value, Obj):
            return _raise(_mismatch(what, where, value, "an object (a map)"))
        out: dict[str, Any] = {}
        for key, item in value.pairs:
            if key in out:
                raise DocumentRefused(
                    f"{what}: {where} gives the key {key!r} twice",
                    hint="a map key must appear once; the runtimes keep the last one, so "
                    "the document is ambiguous or crafted",
                )
            out[key] = _or_zero(bind(item, spec.elem, what, f"{path}[{key!r}]"), spec.elem)
        return out
    return _bind_scalar(value, spec, what, where)


def _raise(exc: Exception) -> Any:
    raise exc


def _or_zero(bound: Any, spec: Spec) -> Any:
    return zero(spec) if bound is None else bound


def _bind_struct(value: Obj, spec: Struct, what: str, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    seen: set[str] = set()
    prefix = f"{path}." if path else ""
    for key, item in value.pairs:
        name = key if key in spec.fields else spec.folded.get(fold(key))
        if name is None:
            continue  # Go ignores a key that names no field.
        if name != key:
            raise DocumentRefused(
                f"{what}: the key {prefix}{key!r} is not {name!r} but the runtime's Go "
                f"decoder binds it to {name!r} (it matches field names case-insensitively)",
                hint="write the key exactly as the image specification spells it",
            )
        if name in seen:
            raise DocumentRefused(
                f"{what}: the key {prefix}{key!r} appears more than once",
                hint="Go's decoder decodes a repeated key again into the same field (merging "
                "objects); give each key once",
            )
        seen.add(name)
        bound = bind(item, spec.fields[name], what, prefix + key)
        if bound is not None:
            out[name] = bound
    return out


def _bind_scalar(value: Any, spec: Scalar, what: str, where: str) -> Any:
    kind = spec.kind
    if kind == "object":
        if not isinstance(value, Obj):
            return _raise(_mismatch(what, where, value, "an object"))
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            return _raise(_mismatch(what, where, value, "a boolean"))
        return value
    if kind == "int64":
        if not isinstance(value, Number):
            return _raise(_mismatch(what, where, value, "an integer"))
        if _INTEGER.fullmatch(value.text) is None or not (
            INT64_MIN <= int(value.text) <= INT64_MAX
        ):
            raise ImageReadError(
                f"{what}: {where} is {value.text[:40]}, which is not an int64 (Go's decoder "
                "rejects fractions, exponents and values out of range)",
                hint="the image metadata is corrupt or crafted",
            )
        return int(value.text)
    if not isinstance(value, str):
        return _raise(_mismatch(what, where, value, "a string"))
    if kind == "time":
        return _time(value, what, where)
    if kind == "bytes" and _BASE64.fullmatch(value) is None:
        raise DocumentRefused(
            f"{what}: {where} is not plain standard base64",
            hint="the document is corrupt or crafted",
        )
    return str(value)


def _time(value: str, what: str, where: str) -> str:
    match = _RFC3339.fullmatch(value)
    valid = match is not None and not isinstance(value, Escaped)
    if match is not None and valid:
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        off_h, off_m = match.group(9), match.group(10)
        try:
            datetime(year, month, day, hour, minute, second)
        except ValueError:
            valid = False
        if off_h is not None and (int(off_h) > 23 or int(off_m) > 59):
            valid = False
    if not valid:
        raise ImageReadError(
            f"{what}: {where} ({value[:60]!r}) is not an RFC 3339 time as Go's time.Time "
            "reads it; the runtime's decoder rejects the document",
            hint="the image metadata is corrupt or crafted",
        )
    return str(value)


def decode(data: bytes, spec: Struct | ListOf, what: str) -> Any:
    """:func:`parse` then :func:`bind` a whole document; a top-level ``null`` (which Go
    reads as "nothing") is refused like any other value that is not ``spec``'s shape."""
    value = parse(data, what)
    if value is None:
        kind = "a JSON object" if isinstance(spec, Struct) else "a JSON array"
        raise ImageReadError(f"{what} is null, not {kind}", hint="the image metadata is corrupt")
    return bind(value, spec, what)
