"""``verify``: read an image (every blob once, every digest checked) and judge its bundles.

The library returns a :class:`VerifyReport`; a failed check is ``ok == False``, never an
exception. Bad input raises :class:`UsageError` (exit 2); an image that cannot be read or
fails verification raises :class:`ImageReadError` (exit 3) and is never reported as verified.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import posixpath
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from buildguard._checks.checks import ResolvedExpectations, check_image
from buildguard._image.imageinfo import FlatImage
from buildguard._image.layercache import open_cache
from buildguard._image.open import open_image
from buildguard._image.options import ReadOptions
from buildguard._internal.git import git_head
from buildguard._verify.expectations import Expectations
from buildguard._verify.records import check_leftover, default_record, read_records
from buildguard.errors import UsageError
from buildguard.models import (
    MANIFEST_NAME,
    BundleResult,
    Expected,
    Finding,
    ImageInfo,
    LayerInfo,
    Record,
    VerifyReport,
    VerifyStats,
)

ALL_PLATFORMS = "all"


def _expectations(
    expect: Expectations, env: Mapping[str, str], started: datetime
) -> tuple[ResolvedExpectations, Expected]:
    given = read_records(expect.records)  # given explicitly: unreadable is exit 2
    if not given and expect.use_default_record:
        found = default_record()
        if found is not None:
            if not (expect.build_id or env.get("BUILD_ID")):
                # the record would name the build: only this checkout's record may
                check_leftover(found, Path.cwd())
            given = (found,)
    rec = given[0].record if given else None
    build_id = expect.build_id or env.get("BUILD_ID") or (rec.build_id if rec else None)
    if not build_id:
        raise UsageError(
            "no expected build id: pass --expect-build-id, set $BUILD_ID, or run verify "
            "where this build's .buildguard/record.json is",
            hint="in Cloud Build pass it to the step: env: [BUILD_ID=$BUILD_ID], or options: "
            "automapSubstitutions: true",
        )
    commit, commit_from = _expected_commit(expect.commit, env, rec, expect.use_default_record)
    one = given[0] if len(given) == 1 else None
    # without a record matching a bundle, its file times are judged from the earliest start
    start = min((g.record.started_at for g in given), default=None)
    resolved = ResolvedExpectations(
        build_id=build_id,
        commit=commit,
        source_digest=one.record.source_digest if one else None,
        started_at=start or started,
        started_label="this build started" if start else "this verify started",
        commit_from=commit_from,
        records=tuple(g.facts() for g in given),
    )
    expected = Expected(
        build_id=build_id,
        commit=commit,
        source_digest=one.record.source_digest if one else None,
        record=one.file if one else None,
        record_started_at=start,
        records=tuple(g.model() for g in given),
    )
    return resolved, expected


def _expected_commit(
    given: str | None, env: Mapping[str, str], rec: Record | None, use_checkout: bool
) -> tuple[str | None, str | None]:
    """The expected commit and, unless it was given, where it came from."""
    if given:
        return given, None
    if env.get("COMMIT_SHA"):
        return env["COMMIT_SHA"], "$COMMIT_SHA"
    if rec is not None and rec.commit:
        return rec.commit, "the record"
    if use_checkout:  # this build's checkout, not another build's
        head = git_head(Path.cwd())
        if head:
            return head, f"git rev-parse HEAD in {Path.cwd()}"
    return None, None


def _manifest_bytes(flat: FlatImage) -> dict[str, bytes | None]:
    """Every ``buildguard-manifest.json`` of the image and its bytes (``None``: not kept)."""
    return {entry.path: entry.data for entry in flat.tree.manifests()}


def _with_manifest_digest(
    bundle: BundleResult, manifests: Mapping[str, bytes | None]
) -> BundleResult:
    """``bundle`` with the sha256 of its manifest's bytes (what ``--attest`` names)."""
    data = manifests.get(posixpath.join(bundle.root, MANIFEST_NAME))
    if data is None:
        return bundle
    return bundle.model_copy(update={"manifest_sha256": hashlib.sha256(data).hexdigest()})


def layer_models(flat: FlatImage) -> tuple[LayerInfo, ...]:
    return tuple(
        LayerInfo(
            index=layer.index,
            digest=layer.digest,
            size=layer.size,
            created_by=layer.created_by,
            read_from=layer.read_from or "source",
        )
        for layer in flat.info.layers
    )


def verify(
    image: str,
    expect: Expectations | None = None,
    options: ReadOptions | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> VerifyReport:
    """Check every bundle in ``image`` against this build.

    Expectations: build id from ``expect.build_id``, ``$BUILD_ID``, then the record; commit
    from ``expect.commit``, ``$COMMIT_SHA``, the record, then ``git rev-parse HEAD`` in the
    current folder where a ``.git`` exists (none is a warning); source digest from the
    records (``expect.records``: one per app of a monorepo, all of one build, each bundle
    judged against the one its manifest's source digest names; else
    ``.buildguard/record.json`` when it exists, trusted to name the build id only where this
    checkout's HEAD is its commit; else a warning). ``options.paths`` name bundle roots that
    must each be sealed; without them every manifest in the image is checked.
    ``options.platform`` is ``OS/ARCH`` or ``all``. ``expect.use_default_record=False``
    ignores ``.buildguard/record.json`` and the current checkout's commit (``--from-build``
    verifies another build).
    """
    expect = expect or Expectations()
    options = options or ReadOptions()
    env = os.environ if environ is None else environ
    clock = time.monotonic()
    started = datetime.now(UTC)
    resolved, expected = _expectations(expect, env, started)
    # from os.environ, not `environ`
    layer_cache = open_cache(options.cache, enabled=not options.no_cache)
    platform = options.platform
    paths = options.paths
    wanted_platform = None if platform in (None, ALL_PLATFORMS) else platform

    bundles: list[BundleResult] = []
    findings: list[Finding] = []
    layers: tuple[LayerInfo, ...] = ()
    platforms: list[str] = []
    platform_digests: list[str] = []
    digest: str | None = None
    layers_read = from_cache = bytes_read = compared = 0
    with open_image(image, dataclasses.replace(options, platform=wanted_platform)) as opened:
        index_digest, targets = (
            opened.platforms() if platform == ALL_PLATFORMS else (None, [(None, opened)])
        )
        digest = index_digest
        for label, target in targets:
            flat = target.read(paths, options.progress, layer_cache)
            these_layers = layer_models(flat)
            # the index's word for the platform (what --platform selects), else the config's
            chosen = label or str(flat.info.platform)
            manifests = _manifest_bytes(flat)
            found, new_findings, n = check_image(
                flat.tree,
                manifests,
                these_layers,
                dataclasses.replace(resolved, image_created=flat.info.created),
                paths=paths,
                allow_extra=expect.allow_extra,
                platform=chosen if len(targets) > 1 else None,
            )
            bundles += [_with_manifest_digest(bundle, manifests) for bundle in found]
            findings += new_findings
            compared += n
            layers_read += len(these_layers)
            from_cache += sum(layer.read_from == "cache" for layer in these_layers)
            bytes_read += sum(layer.size for layer in these_layers)
            platforms.append(chosen)
            if flat.info.manifest_digest:
                platform_digests.append(flat.info.manifest_digest)
            if len(targets) == 1:
                layers = these_layers
                # --platform all of an index naming one platform still verified the index
                digest = index_digest or flat.info.manifest_digest or flat.info.config_digest

    ok = not any(f.severity == "error" for f in findings)
    return VerifyReport(
        ok=ok,
        image=ImageInfo(
            reference=image,
            digest=digest,
            platforms=tuple(platforms),
            platform_digests=tuple(platform_digests) if index_digest else (),
        ),
        expected=expected,
        bundles=tuple(bundles),
        findings=tuple(findings),
        layers=layers,
        stats=VerifyStats(
            layers_read=layers_read,
            layers_from_cache=from_cache,
            bytes_read=bytes_read,
            files_compared=compared,
            seconds=round(time.monotonic() - clock, 3),
        ),
    )
