"""Decode JSON as Go's ``encoding/json`` fills a struct, or refuse where we could differ.

dockerd, containerd, skopeo and umoci read image documents with Go's ``encoding/json``
(``json.Unmarshal`` into the image-spec, distribution and moby structs). Its rules are not a
Python ``dict`` lookup: an object key binds to a field by exact name first and then
*case-insensitively* (with Unicode folds such as U+212A KELVIN SIGN for ``k``); a repeated
key decodes again into the same field (scalars: the later wins; structs, maps and even slice
elements: the later one merges into the earlier); ``null`` leaves a scalar alone; invalid
UTF-8 turns into U+FFFD; numbers into ``int64`` fields must be plain integers.

:func:`~buildguard.image.goscan.parse` reads bytes with Go's grammar (``scanner.go``) into a
tree that keeps every key in order; :func:`bind` walks that tree with a struct description
(:class:`Struct` and friends) and returns what Go would fill, as plain Python values, or
raises:

- :class:`~buildguard.errors.ImageReadError` where Go's ``Unmarshal`` returns an error
  (syntax, a JSON type that does not fit the field, an ``int64`` that is a float or
  overflows, a time that is not RFC 3339) — the runtime refuses such a document;
- :class:`~buildguard.errors.DocumentRefused` where Go reads the document but our reading
  could differ: a key that matches a field only case-insensitively, a field given twice, a
  map key given twice, invalid UTF-8, nesting deeper than ``goscan.MAX_DEPTH``.

The rules and their Go sources are listed in docs/decisions.md ("JSON as Go reads it").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from buildguard.errors import DocumentRefused, ImageReadError
from buildguard.image.goscan import Escaped, Number, Obj, parse

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,18})")
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?(Z|[+-](\d\d):(\d\d))"
)
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")

# Non-ASCII runes whose Unicode simple case fold lands on an ASCII letter: Go 1.19's
# equalFoldRight accepts U+212A for k and U+017F for s (fold.go); Go 1.21+'s foldName
# (ToUpper(ToLower(r))) also takes U+0130 and U+0131 for i.
_FOLD_TO_ASCII = {"\u212a": "K", "\u017f": "S", "\u0130": "I", "\u0131": "I"}


def fold(name: str) -> str:
    """The key as any Go version compares it case-insensitively with an ASCII field name."""
    return "".join(_FOLD_TO_ASCII.get(c, c.upper() if c.isascii() else c) for c in name)


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
