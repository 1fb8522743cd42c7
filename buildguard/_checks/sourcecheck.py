"""A bundle's sources: which record it is judged against, and whether its manifest's source
digest is that record's (``SOURCE_MISMATCH``, ``SOURCE_UNCHECKED``).

With one record every bundle is judged against it. With several (a monorepo: one record
per app, all of one build), each bundle is judged against the record whose source digest
its manifest carries, and a bundle that matches none is ``SOURCE_MISMATCH`` naming every
record given.
"""

from __future__ import annotations

import dataclasses
import posixpath

from buildguard._checks.findings import RecordFacts, Reporter, ResolvedExpectations
from buildguard._internal.pathescape import escape
from buildguard.models import MANIFEST_NAME, BundleManifest


def record_for(expect: ResolvedExpectations, source_digest: str) -> RecordFacts | None:
    """The record a bundle whose manifest carries ``source_digest`` is judged against: the
    only one given, else the one with that digest (``None``: no record, or none matches)."""
    if len(expect.records) == 1:
        return expect.records[0]
    return next((r for r in expect.records if r.source_digest == source_digest), None)


def bundle_expectations(
    expect: ResolvedExpectations, source_digest: str
) -> tuple[ResolvedExpectations, RecordFacts | None]:
    """The expectations one bundle is judged by (its record's source digest and start), and
    that record."""
    chosen = record_for(expect, source_digest)
    if chosen is None:
        return expect, None
    judged = dataclasses.replace(
        expect, source_digest=chosen.source_digest, started_at=chosen.started_at
    )
    return judged, chosen


def check_source(
    root: str,
    manifest: BundleManifest,
    expect: ResolvedExpectations,
    report: Reporter,
    layer: int | None,
) -> None:
    """The source digest of the bundle at ``root`` against ``expect`` (from
    :func:`bundle_expectations`)."""
    shown = escape(root)
    manifest_path = posixpath.join(root, MANIFEST_NAME)
    if expect.source_digest is None and len(expect.records) > 1:
        given = "; ".join(f"{r.name} ({r.source_digest[:19]}…)" for r in expect.records)
        report.add(
            "SOURCE_MISMATCH",
            f"bundle {shown} was built from sources ({manifest.source_digest[:19]}…) that "
            f"none of the {len(expect.records)} records given recorded: {given}",
            bundle=root,
            path=manifest_path,
            layer=layer,
            hint="pass the record of this bundle's app too (--record FILE, repeated), or "
            "rebuild the bundle and seal it with `buildguard seal DIST --record FILE` of its "
            "own app",
        )
    elif expect.source_digest is None:
        report.add(
            "SOURCE_UNCHECKED",
            f"source digest not checked for {shown}: no record of this build (pass --record)",
            severity="warning",
            bundle=root,
        )
    elif manifest.source_digest != expect.source_digest:
        named = f" in {expect.records[0].name}" if len(expect.records) == 1 else ""
        report.add(
            "SOURCE_MISMATCH",
            f"bundle {shown} was built from other sources ({manifest.source_digest[:19]}…) "
            f"than this build recorded ({expect.source_digest[:19]}…{named})",
            bundle=root,
            path=manifest_path,
            layer=layer,
            hint="rebuild the bundle in this build and seal it against this build's record "
            "(`buildguard seal DIST --record FILE`); in a monorepo, pass every app's record "
            "(--record FILE, repeated)",
        )
