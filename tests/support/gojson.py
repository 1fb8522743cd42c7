"""Go's ``encoding/json`` as an oracle: build ``tests/support/gojson``, ask it to decode.

``build_gojson(dir)`` runs ``go build`` offline (standard library only). :class:`GoJson`
keeps one process running; :meth:`GoJson.decode` sends a document of one kind
(``document``: manifest or index; ``config``; ``save``: docker save's ``manifest.json``)
and returns, per Go struct the runtimes use, what ``json.Unmarshal`` filled or its error.

:func:`comparable` puts buildguard's decoding (``gojson.bind``) and Go's filled struct in
the same terms: a struct field holding Go's zero value is the same as an absent one (Go
cannot tell them apart once filled), times are compared as instants, ``[]byte`` as bytes,
and buildguard's union struct is projected onto the fields the Go struct has.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from goprogram import GoProcess, build_go_program

from buildguard._image import gojson
from buildguard._image.godocs import CONFIG, MANIFEST_OR_INDEX, SAVE_MANIFEST
from buildguard._image.gojson import ListOf, MapOf, Scalar, Spec, Struct
from buildguard.errors import ImageReadError

SOURCE = Path(__file__).resolve().parent / "gojson"

STRUCTS = {
    "document": ("oci-manifest", "oci-index", "schema2", "manifestlist"),
    "config": ("oci-image", "moby-image"),
    "save": ("manifest-items",),
}


SPECS: dict[str, Any] = {"document": MANIFEST_OR_INDEX, "config": CONFIG, "save": SAVE_MANIFEST}


class GoJsonError(RuntimeError):
    pass


class Disagreement(AssertionError):
    """buildguard read a document otherwise than Go, or read one Go rejects."""


def build_gojson(work: Path) -> Path:
    return build_go_program(SOURCE, work, GoJsonError)


class GoJson(GoProcess):
    """One running ``gojson``; :meth:`decode` is one round trip."""

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise GoJsonError(f"gojson stopped: {self.stderr_text()}")
        self.calls += 1
        answer: dict[str, Any] = json.loads(line)
        return answer

    def decode(self, kind: str, data: bytes) -> dict[str, tuple[Any, str | None]]:
        """Go struct name → (what Go filled, as JSON; Unmarshal's error or ``None``)."""
        answer = self.ask({"kind": kind, "data": base64.b64encode(data).decode()})
        return {name: (r["value"], r["error"]) for name, r in answer.items()}

    def ascii_folds(self) -> dict[str, str]:
        """Rune above ASCII → the ASCII letter Go's case fold takes it to."""
        return {pair[0]: pair[1] for pair in self.ask({"kind": "folds"})["folds"]}


_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|([+-])(\d\d):(\d\d))"
)


def _instant(text: str) -> str | None:
    """An RFC 3339 time as UTC seconds + nanoseconds; ``None`` for Go's zero time."""
    m = _TIME.fullmatch(text)
    assert m is not None, text
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    nanos = int((m.group(7) or "0").ljust(9, "0"))
    when = datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    if m.group(9):
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        when = when - offset if m.group(9) == "+" else when + offset
    if (when.year, when.month, when.day, when.hour, when.minute, when.second, nanos) == (
        1,
        1,
        1,
        0,
        0,
        0,
        0,
    ):
        return None
    return f"{when.isoformat()}+{nanos}ns"


def _zeroish(value: Any) -> bool:
    return value is None or value == "" or value == 0 or value is False or value == {}


def comparable(spec: Spec, value: Any, go_shape: Any = None) -> Any:
    """``value`` (buildguard's or Go's) in shared terms; ``go_shape``: Go's raw value at
    this place, whose struct keys buildguard's union is projected onto."""
    if isinstance(spec, Struct):
        if value is None:
            return {}
        keys = go_shape.keys() if isinstance(go_shape, dict) else spec.fields.keys()
        out = {}
        for key in keys:
            if key not in spec.fields:
                continue
            sub = go_shape.get(key) if isinstance(go_shape, dict) else None
            item = comparable(spec.fields[key], value.get(key), sub)
            if not _zeroish(item):
                out[key] = item
        return out
    if isinstance(spec, ListOf):
        if value is None:
            return None
        shapes = go_shape if isinstance(go_shape, list) else [None] * len(value)
        shapes = shapes + [None] * (len(value) - len(shapes))
        return [comparable(spec.elem, v, s) for v, s in zip(value, shapes, strict=False)]
    if isinstance(spec, MapOf):
        if value is None:
            return None
        shape = go_shape if isinstance(go_shape, dict) else {}
        return {k: comparable(spec.elem, v, shape.get(k)) for k, v in value.items()}
    assert isinstance(spec, Scalar)
    if spec.kind == "object" or value is None:
        return None
    if spec.kind == "time":
        return _instant(value)
    if spec.kind == "bytes":
        return base64.b64decode(value).hex()
    return value


def judge(go: GoJson, kind: str, data: bytes) -> str:
    """``compared`` (buildguard read what Go filled, in every struct), ``refused-go-rejects``
    or ``refused-go-reads``; raises :class:`Disagreement` otherwise (any other exception
    of buildguard's escapes: a crash)."""
    spec = SPECS[kind]
    try:
        ours: Any = gojson.decode(data, spec, "document")
        refused = False
    except ImageReadError:  # DocumentRefused included
        refused = True
    answers = go.decode(kind, data)
    errors = {name: err for name, (_, err) in answers.items() if err is not None}
    if errors and not refused:
        raise Disagreement(f"Go rejects {data[:300]!r} ({errors}) but buildguard reads it")
    if refused:
        return "refused-go-rejects" if errors else "refused-go-reads"
    for name in STRUCTS[kind]:
        value, _ = answers[name]
        expected = comparable(spec, value, value)
        got = comparable(spec, ours, value)
        if got != expected:
            raise Disagreement(f"{name}: {data[:300]!r}\n ours {got}\n Go   {expected}")
    return "compared"
