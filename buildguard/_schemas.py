"""The JSON Schemas of the documents buildguard writes, exported to ``schemas/``.

Run ``python -m buildguard._schemas [DIR]`` after changing a model; a test fails when the
committed copies drift. Kept apart from :mod:`buildguard.models` so that the models module
only defines (and re-exports) models.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from buildguard._internal.files import atomic_write
from buildguard.models import (
    AttestationReport,
    BuildVerifyReport,
    BundleManifest,
    ErrorReport,
    InspectReport,
    LintReport,
    LiveReport,
    Record,
    VerifyReport,
)

SCHEMAS: dict[str, type[BaseModel]] = {
    "record.schema.json": Record,
    "bundle-manifest.schema.json": BundleManifest,
    "verify-report.schema.json": VerifyReport,
    "inspect-report.schema.json": InspectReport,
    "verify-live-report.schema.json": LiveReport,
    "build-verify-report.schema.json": BuildVerifyReport,
    "attestation-report.schema.json": AttestationReport,
    "error-report.schema.json": ErrorReport,
    "lint-report.schema.json": LintReport,
}


def schema_documents() -> dict[str, str]:
    """Return each exported JSON Schema as the exact text committed under ``schemas/``."""
    return {
        name: json.dumps(model.model_json_schema(mode="serialization"), indent=2) + "\n"
        for name, model in SCHEMAS.items()
    }


def write_schemas(directory: Path) -> list[Path]:
    """Write every JSON Schema into ``directory``; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_documents().items():
        target = directory / name
        atomic_write(target, text.encode("utf-8"))
        written.append(target)
    return written


if __name__ == "__main__":  # pragma: no cover - developer tool
    import sys

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("schemas")
    for written_path in write_schemas(out):
        sys.stdout.write(f"wrote {written_path}\n")
