"""seal reads the record through RecordView: the same rules as the Record model, no model
per file. These tests keep the two from drifting apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

import buildguard
from buildguard._record.recordview import FileEntryFields, RecordView, read_record
from buildguard.errors import RecordReadError
from buildguard.models import FileEntry, Record


def _rules(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema without the words: titles, descriptions and defaults."""
    return {
        "properties": {
            name: {k: v for k, v in prop.items() if k not in ("title", "description", "default")}
            for name, prop in schema["properties"].items()
        },
        "required": sorted(schema.get("required", [])),
        "additionalProperties": schema.get("additionalProperties"),
    }


def test_file_fields_mirror_the_file_entry_model() -> None:
    assert _rules(TypeAdapter(FileEntryFields).json_schema()) == _rules(
        FileEntry.model_json_schema()
    )
    assert list(FileEntryFields.__annotations__) == list(FileEntry.model_fields)


def test_record_view_has_every_record_field() -> None:
    assert list(RecordView.model_fields) == list(Record.model_fields)
    assert RecordView.model_config == Record.model_config


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sha256", "XYZ"),
        ("size", -1),
        ("mode", "rw"),
        ("mtime", "yesterday"),
        ("mtime", "2026-01-01T00:00:00"),
        ("type", "dir"),
        ("extra", 1),
    ],
)
def test_a_bad_file_entry_is_refused_by_both_readers(
    tmp_path: Path, field: str, value: object
) -> None:
    (tmp_path / "a.js").write_text("x")
    out = tmp_path / "record.json"
    buildguard.record(
        tmp_path, buildguard.RecordOptions(out=out, env_file=None), environ={"BUILD_ID": "view-1"}
    )
    good = read_record(out, RecordView)
    assert good.files[0]["sha256"] == read_record(out, Record).files[0].sha256
    doc = json.loads(out.read_text())
    doc["files"][0][field] = value
    out.write_text(json.dumps(doc))
    for model in (Record, RecordView):
        with pytest.raises(RecordReadError, match="not a valid buildguard record"):
            read_record(out, model)
