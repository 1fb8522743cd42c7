"""A model's JSON with a long list field made from parts, byte for byte the same as
``model.model_dump_json(indent=2)`` with that list in it.

A 50,000-entry record as models takes ~45 MB and 0.3 s to validate, and the command line
needs only the file. So each batch of entries is serialised by pydantic-core (the
serialiser the models use) from plain dicts with the model's fields in the model's order,
where the batch was read (a worker process), re-indented to its depth in the document; the
document is the model's own JSON with the list left empty and the parts spliced in where it
was. A raw newline cannot occur inside a JSON string, so the empty list is found by its line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pydantic_core
from pydantic import BaseModel


def render_items(items: list[dict[str, Any]]) -> bytes:
    """``items`` as the elements of a top-level list field appear in an indent-2 document:
    each starting with four spaces, separated by ``b",\\n"``."""
    body = pydantic_core.to_json(items, indent=2)  # b'[\n  {\n    "k": ...\n  },\n  {...}\n]'
    return b"  " + body[2:-2].replace(b"\n", b"\n  ")


def document(header: BaseModel, field: str, parts: Sequence[bytes]) -> Iterator[bytes]:
    """Chunks of ``header`` as JSON (indent 2) with ``field`` (an empty list in ``header``)
    holding the items of ``parts`` (from :func:`render_items`); a newline ends it."""
    text = header.model_dump_json(indent=2).encode("utf-8")
    marker = b'\n  "' + field.encode("utf-8") + b'": []'
    at = text.find(marker)
    if at < 0 or text.find(marker, at + 1) >= 0:
        raise ValueError(f"{field!r} is not an empty top-level list of this document")
    at += len(marker) - 1  # the closing bracket
    if not parts:
        yield text + b"\n"
        return
    yield text[:at] + b"\n"
    for i, part in enumerate(parts):
        yield b",\n" + part if i else part
    yield b"\n  " + text[at:] + b"\n"
