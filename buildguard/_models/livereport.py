"""The ``verify-live`` report: what the site served, compared with the sealed bundle.

Defined apart from ``buildguard.models`` (which re-exports it, for the schema export) with
the same conventions as verify's report: frozen, ``extra="forbid"``, a ``schema_version``,
``ok`` false when any finding is an error, findings with ``code``, ``severity``, ``path``
and ``message``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from buildguard._internal.modeltypes import FrozenModel, Severity, Sha256Hex, UtcTime

LiveFindingCode = Literal[
    "LIVE_CHANGED",
    "LIVE_FALLBACK",
    "LIVE_API_FALLBACK",
    "LIVE_MISSING",
    "LIVE_STALE_ENTRY",
    "LIVE_MIXED",
    "LIVE_ENTRY_CACHEABLE",
    "BUILD_ID_MISMATCH",
]


class LiveFinding(FrozenModel):
    """One thing verify-live found. Only ``error`` findings fail the verdict."""

    code: LiveFindingCode
    severity: Severity
    message: str
    path: str | None = Field(
        default=None, description="Path in the bundle (as in its manifest) the URL maps to."
    )
    url: str | None = Field(default=None, description="The URL that was fetched.")
    status: int | None = Field(default=None, description="HTTP status of the final response.")
    served_build: str | None = Field(
        default=None,
        description="The build the served bytes belong to, where known (from a "
        "buildguard-manifest.json the site serves).",
    )
    hint: str | None = Field(
        default=None, description="The fix, in one sentence, where there is one to name."
    )


class LiveExpected(FrozenModel):
    """The sealed bundle the site is compared with."""

    source: str = Field(description="Where its manifest came from (file, image, dist).")
    build_id: str
    commit: str | None
    source_digest: str | None = None
    sealed_at: UtcTime | None = None
    files: int = Field(ge=0, description="Files the manifest lists.")


class ServedVersion(FrozenModel):
    """One version of the entry page seen over the samples."""

    entry_sha256: Sha256Hex | None = Field(
        description="Digest of the decoded entry page (None when it was not served)."
    )
    status: int = Field(description="HTTP status of the entry page.")
    build_id: str | None = Field(
        default=None, description="The build this entry page belongs to, where known."
    )
    this_build: bool = Field(description="Whether it is the sealed entry page of this build.")
    samples: int = Field(ge=1, description="How many samples of the last attempt served it.")


class AssetResult(FrozenModel):
    """One URL fetched in the last attempt (the entry page included)."""

    url: str
    path: str | None = Field(description="Bundle path it maps to (None: not in the bundle).")
    status: int | None
    content_type: str | None = None
    content_encoding: str | None = Field(
        default=None, description="Content-Encoding as served (decoded before hashing)."
    )
    sha256: Sha256Hex | None = Field(default=None, description="Of the decoded body.")
    size: int | None = Field(default=None, ge=0, description="Decoded body bytes read.")
    ok: bool


class LiveStats(FrozenModel):
    attempts: int = Field(ge=1, description="Rounds of samples (more than one with --wait).")
    requests: int = Field(ge=0, description="HTTP requests made in all attempts.")
    bytes_read: int = Field(ge=0, description="Decoded body bytes read in all attempts.")
    files_compared: int = Field(ge=0, description="Bundle files compared in the last attempt.")
    seconds: float


class LiveReport(FrozenModel):
    """What ``verify-live`` found; ``ok`` is false when any finding is an error."""

    schema_version: Literal[1] = 1
    ok: bool
    url: str = Field(description="The entry page URL, as given.")
    base: str = Field(description="The bundle's public base path (--base).")
    expected: LiveExpected
    served: tuple[ServedVersion, ...] = Field(
        description="Versions of the entry page served over the last attempt's samples."
    )
    assets: tuple[AssetResult, ...]
    findings: tuple[LiveFinding, ...]
    stats: LiveStats
