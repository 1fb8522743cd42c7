"""Field types and the base model shared by every file and report buildguard writes.

Kept apart from ``buildguard.models`` so the image package can use them without importing
the models module (which re-exports the image reports).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A point in time, always in UTC, serialised as an RFC 3339 string."""

Severity = Literal["error", "warning", "info"]
"""Of a finding; only ``error`` findings fail a verify."""

ReadFrom = Literal["source", "cache"]
"""Where a layer's index came from: ``source`` (its blob was read and verified in this run)
or ``cache`` (the layer-index cache answered for a blob of that digest, read and verified
when the cache was filled; the source's bytes were not read again)."""

READ_FROM_DESCRIPTION = (
    "source: the blob was read and its digests verified in this run; cache: the layer-index "
    "cache answered for a blob of this digest (read and verified when the cache was filled; "
    "whether the source still serves those bytes was not checked, --no-cache reads every "
    "blob)."
)
"""The schema's words for ``read_from``, on verify's and inspect's layers alike."""

MANIFEST_NAME = "buildguard-manifest.json"
"""The file seal writes at a bundle's root and verify looks for in an image."""

Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Digest = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]


class FrozenModel(BaseModel):
    """Frozen, and unknown fields are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
