"""The human text of ``verify --from-build``: the build's verdict, then each image's."""

from __future__ import annotations

from typing import TextIO

from buildguard._formats.text import render_verify
from buildguard.models import BuildVerifyReport


def render_build(report: BuildVerifyReport, stream: TextIO) -> None:
    """What ``verify --from-build`` found, image by image (failing reports in full)."""
    build = report.build
    where = f"region {build.region}" if build.region else "global"
    commit = f"commit {build.commit} ({build.commit_source})" if build.commit else "no commit"
    counts = {v: sum(i.verdict == v for i in report.images) for v in ("pass", "fail", "error")}
    stream.write(
        f"{report.verdict.upper()}: build {build.id} (project {build.project}, {where}, "
        f"{build.status}), {commit}\n  {len(report.images)} image(s): {counts['pass']} passed, "
        f"{counts['fail']} failed, {counts['error']} not verified\n"
    )
    for finding in report.findings:
        stream.write(f"  FAIL {finding.code}: {finding.message}\n")
    for image in report.images:
        stream.write(f"\nimage {image.reference}: {image.verdict.upper()}\n")
        if image.error:
            stream.write(f"  {image.error}\n")
        if image.report is not None and not image.report.ok:
            render_verify(image.report, stream)
        if image.mark is not None:
            stream.write(
                f"  marked: {image.mark.target} -> {image.mark.digest} ({image.mark.via})\n"
            )
