"""``verify --from-build BUILD_ID``: verify every image a past Cloud Build pushed, against
that build (its id, and the commit of its source provenance).

The images are verified concurrently, at most :data:`MAX_CONCURRENT` at a time, and
reported in the build's order; the verdict is the worst of theirs. A build that pushed no
image fails (nothing was checked). The default record (``.buildguard/record.json``) is
ignored: it belongs to the build running this command, not to the one verified; the
explicit ``records`` are used for every image. Reading the build raises
:class:`~buildguard.errors.ImageReadError` (not found, not finished, refused); an image
that cannot be read is an ``error`` verdict in the report, so the others still count.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from buildguard._cloud.cloudbuild import BuildInfo, PushedImage, read_build
from buildguard._image.options import ReadOptions
from buildguard._image.reference import parse_reference
from buildguard._verify.expectations import Expectations
from buildguard._verify.mark import MarkFailed, mark_digest
from buildguard._verify.records import read_records
from buildguard._verify.verifier import verify
from buildguard.errors import BuildguardError, UsageError
from buildguard.models import (
    BuildImageResult,
    BuildSummary,
    BuildVerifyReport,
    Finding,
    Verdict,
)

MAX_CONCURRENT = 3


def verdict_of(exit_code: int) -> Verdict:
    """``pass`` for exit 0, ``fail`` for 1, ``error`` for anything else."""
    return "pass" if exit_code == 0 else "fail" if exit_code == 1 else "error"


def pinned_reference(image: PushedImage) -> str:
    """``HOST/REPO@DIGEST`` for a pushed image (its tag, if listed, dropped)."""
    ref = parse_reference(image.name)
    return f"{ref.registry}/{ref.repository}@{image.digest}"


def _summary(build: BuildInfo) -> BuildSummary:
    return BuildSummary(
        id=build.id,
        project=build.project,
        region=build.region,
        status=build.status,
        commit=build.commit,
        commit_source=build.commit_source,
    )


def verify_build(
    build_id: str,
    *,
    project: str | None = None,
    region: str | None = None,
    expect: Expectations | None = None,
    options: ReadOptions | None = None,
    environ: Mapping[str, str] | None = None,
) -> BuildVerifyReport:
    """Verify the images of build ``build_id`` (see the module docstring).

    ``project`` defaults to ``$PROJECT_ID``, ``$GOOGLE_CLOUD_PROJECT``, then the ADC
    project; ``region`` to ``$LOCATION``, else the global endpoint. Of ``expect``, only the
    records and ``allow_extra`` apply: the build id and commit are the build's.
    """
    expect = expect or Expectations()
    if expect.build_id is not None or expect.commit is not None:
        raise UsageError(
            "verify_build takes the build id and commit from the build; leave "
            "Expectations.build_id and .commit unset",
        )
    env = os.environ if environ is None else environ
    # unreadable or of different builds: exit 2 before the build is read (each image's
    # verify reads them again, so that its report names the files)
    read_records(expect.records)
    build = read_build(build_id, project=project, region=region, environ=env)

    def one(image: PushedImage) -> BuildImageResult:
        fields = {"name": image.name, "digest": image.digest}
        try:
            reference = pinned_reference(image)
            fields["reference"] = reference
            report = verify(
                reference,
                Expectations(
                    build_id=build.id,
                    commit=build.commit,
                    records=expect.records,
                    allow_extra=expect.allow_extra,
                    use_default_record=False,
                ),
                options,
                environ={},
            )
        except BuildguardError as exc:
            fields.setdefault("reference", image.name)
            return BuildImageResult(
                **fields, verdict=verdict_of(exc.exit_code), exit_code=exc.exit_code, error=str(exc)
            )
        code = 0 if report.ok else 1
        return BuildImageResult(**fields, verdict=verdict_of(code), exit_code=code, report=report)

    findings: tuple[Finding, ...] = ()
    if build.images:
        with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT, len(build.images))) as pool:
            images = tuple(pool.map(one, build.images))
        worst = max(i.exit_code for i in images)
    else:
        images, worst = (), 1
        findings = (
            Finding(
                code="NOTHING_CHECKED",
                severity="error",
                message=f"build {build.id} pushed no images (its results.images is empty): "
                "nothing was verified",
            ),
        )
    return BuildVerifyReport(
        ok=worst == 0,
        verdict=verdict_of(worst),
        exit_code=worst,
        build=_summary(build),
        images=images,
        findings=findings,
    )


def mark_build(
    report: BuildVerifyReport,
    tag: str,
    *,
    options: ReadOptions | None = None,
    environ: Mapping[str, str] | None = None,
) -> BuildVerifyReport:
    """Put ``tag`` on the digest verified of every image of a passing build report; the
    report with the marks.

    On a failure, :class:`MarkFailed` carries the report with the marks made so far in
    ``partial``.
    """
    if not report.ok:
        raise UsageError(
            f"refusing to mark the images of build {report.build.id}: its verify did not pass"
        )
    done: list[BuildImageResult] = []
    for image in report.images:
        # the digest verified: the pushed one, or the platform's manifest of a pushed index
        # (the index itself with --platform all)
        verified = image.report.image.digest if image.report is not None else None
        try:
            mark = mark_digest(
                image.reference, verified or image.digest, tag, options=options, environ=environ
            )
        except MarkFailed as failed:
            rest = report.images[len(done) :]
            failed.partial = report.model_copy(update={"images": (*done, *rest)})
            raise
        done.append(image.model_copy(update={"mark": mark}))
    return report.model_copy(update={"images": tuple(done)})
