"""A model's JSON with a long list field streamed in from plain rows, byte for byte the same
as ``model.model_dump_json(indent=2)`` with that list in it.

A 50,000-entry record as models takes ~45 MB and 0.3 s to validate; the command line does not
need the models, only the file. So the document is the model's own JSON with the list left
empty, and the list is serialised by pydantic-core (the serialiser the models use) from
dicts in batches, re-indented one level and spliced in where the empty list was. A raw
newline cannot occur inside a JSON string, so the empty list is found by its line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import pydantic_core
from pydantic import BaseModel

_BATCH = 2048


def dump_with_list(
    header: BaseModel, field: str, items: Iterable[dict[str, Any]]
) -> Iterator[bytes]:
    """Chunks of ``header`` as JSON (indent 2) with ``field`` (empty in ``header``) holding
    ``items``; a trailing newline ends the document."""
    text = header.model_dump_json(indent=2).encode("utf-8")
    marker = b'\n  "' + field.encode("utf-8") + b'": []'
    at = text.find(marker)
    if at < 0 or text.find(marker, at + 1) >= 0:
        raise ValueError(f"{field!r} is not an empty top-level list of this document")
    at += len(marker) - 1  # just before the closing bracket
    yield text[:at]
    iterator = iter(items)
    first = True
    while batch := list(islice(iterator, _BATCH)):
        body = pydantic_core.to_json(batch, indent=2)  # b"[\n  {...},\n  {...}\n]"
        inner = body[2:-2].replace(b"\n", b"\n  ")
        yield (b"\n  " if first else b",\n  ") + inner
        first = False
    yield (b"]" if first else b"\n  ]") + text[at + 1 :] + b"\n"
