"""The committed JSON Schemas match the models; regenerate with `python -m buildguard._schemas`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from buildguard._schemas import schema_documents

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def test_committed_schemas_match_the_models() -> None:
    documents = schema_documents()
    committed = {p.name for p in SCHEMAS.glob("*.schema.json")}
    assert committed == set(documents), "run: python -m buildguard._schemas schemas"
    for name, text in documents.items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == text, (
            f"schemas/{name} drifted from the model; run: python -m buildguard._schemas schemas"
        )


def test_schemas_are_valid_json_schemas() -> None:
    for name in schema_documents():
        schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
