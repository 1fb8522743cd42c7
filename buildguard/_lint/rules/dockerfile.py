"""BG-DF001: a Dockerfile copies a build output folder from the build context that nothing
builds first (the incident's stale ``dist/``)."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from buildguard._lint.analysis import (
    PipelineView,
    Placed,
    dockerfile_at,
    output_copies,
    pipelines,
)
from buildguard._lint.effects import ImageBuild
from buildguard._lint.rule import LintContext, Rule, finding
from buildguard._lint.workspace import Workspace
from buildguard._models.lintreport import LintFinding

HINT = (
    "build the bundle in an earlier stage (`FROM node AS build` ... `RUN npm ci && npm run "
    "build`, then `COPY --from=build /app/dist ...`), or add the build step before the image "
    "build in the pipeline"
)


def _builds_of(
    views: list[PipelineView], path: str
) -> list[tuple[PipelineView, Placed, ImageBuild]]:
    return [
        (view, placed, build)
        for view in views
        for placed, build in view.image_builds()
        if build.dockerfile == path
    ]


def _check(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    views = pipelines(workspace)
    has_pipeline = bool(workspace.of_kind("cloudbuild", "github-actions"))
    paths = [f.path for f in workspace.of_kind("dockerfile")]
    for view in views:
        for _, build in view.image_builds():
            if build.dockerfile is not None and build.dockerfile not in paths:
                paths.append(build.dockerfile)
    for path in paths:
        dockerfile = dockerfile_at(workspace, path)
        if dockerfile is None:
            continue
        builds = _builds_of(views, path)
        contexts = {b.context for _, _, b in builds if b.context is not None}
        if not builds:
            contexts = {posixpath.dirname(path) or "."}
        seen: set[tuple[int, str]] = set()
        for context_dir in sorted(contexts):
            for copy in output_copies(workspace, dockerfile, context_dir):
                key = (copy.copy.line, copy.folder)
                if key in seen:
                    continue
                seen.add(key)
                what = (
                    f"{copy.copy.instruction} {copy.source} copies the build output folder "
                    f"{copy.folder}/ from the build context"
                )
                if not has_pipeline:
                    yield finding(
                        RULE,
                        dockerfile.file,
                        copy.copy.line,
                        f"{what}, and no stage of this Dockerfile builds it: it needs a "
                        "producer step before the image build, or the image gets whatever "
                        f"{copy.folder}/ holds then (no pipeline file was given to check)",
                        HINT,
                        severity="warning",
                    )
                    continue
                mine = [(v, p, b) for v, p, b in builds if b.context == context_dir]
                if mine:
                    stale = [
                        (v, p)
                        for v, p, b in mine
                        if b.git_context or not v.built_before(copy.folder, p)
                    ]
                    if not stale:
                        continue
                    view, placed = stale[0]
                    where = f"{view.pipeline.file.path}:{placed.step.line} ({placed.step.label})"
                    yield finding(
                        RULE,
                        dockerfile.file,
                        copy.copy.line,
                        f"{what}, no stage of this Dockerfile builds it, and the image build "
                        f"at {where} has no earlier step that builds {copy.folder}/: the "
                        "image ships whatever old files are there",
                        HINT,
                    )
                    continue
                if any(view.producers(copy.folder) for view in views):
                    continue
                files = ", ".join(v.pipeline.file.path for v in views) or "the pipeline files"
                yield finding(
                    RULE,
                    dockerfile.file,
                    copy.copy.line,
                    f"{what}, no stage of this Dockerfile builds it, and no step of "
                    f"{files} builds {copy.folder}/: the image gets whatever old files are "
                    "there",
                    HINT,
                )


RULE = Rule(
    id="BG-DF001",
    severity="error",
    title="A Dockerfile copies a build output folder that nothing builds first",
    help=(
        "The incident: a Dockerfile did `COPY dist /app/...` and the pipeline never ran the "
        "build, so three successful builds shipped a dist/ hours old. A COPY or ADD without "
        "--from reads the build context as it is; if no earlier stage of the Dockerfile and "
        "no earlier pipeline step builds that folder, the image holds whatever was there. "
        "Fix: build in a stage of the Dockerfile and COPY --from it, or run the build as a "
        "pipeline step the image build waits for."
    ),
    check=_check,
)

RULES = (RULE,)
