"""BG-DF001: a Dockerfile copies a build output folder from the build context that nothing
builds first (the incident's stale ``dist/``)."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from buildguard._lint.analysis import (
    OutputCopy,
    PipelineView,
    Placed,
    dockerfile_at,
    output_copies,
    pipelines,
)
from buildguard._lint.dockerfile import Dockerfile
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


def _unseen_build_after_producer(views: list[PipelineView], folder: str) -> bool:
    """Whether an image build whose Dockerfile lint cannot tell (``-f $DOCKERFILE``,
    ``docker compose build``) runs after a step that builds ``folder``: it may be this
    Dockerfile's, done right."""
    return any(
        view.built_before(folder, placed)
        for view in views
        for placed, build in view.image_builds()
        if build.dockerfile is None or build.context is None
    )


def _judge(
    copy: OutputCopy,
    dockerfile: Dockerfile,
    builds: list[tuple[PipelineView, Placed, ImageBuild]],
    views: list[PipelineView],
    has_pipeline: bool,
) -> LintFinding | None:
    """The finding for one context copy of an output folder, or None when it is built
    first. ``builds`` are the pipelines' image builds of this Dockerfile from this context."""
    what = (
        f"{copy.copy.instruction} {copy.source} copies the build output folder "
        f"{copy.folder}/ from the build context"
    )
    line = copy.copy.line
    if not has_pipeline:
        return finding(
            RULE,
            dockerfile.file,
            line,
            f"{what}, and no stage of this Dockerfile builds it: it needs a producer step "
            f"before the image build, or the image gets whatever {copy.folder}/ holds then "
            "(no pipeline file was given to check)",
            HINT,
            severity="warning",
        )
    if builds:
        stale = [
            (view, placed)
            for view, placed, build in builds
            if build.git_context or not view.built_before(copy.folder, placed)
        ]
        if not stale:
            return None
        view, placed = stale[0]
        where = f"{view.pipeline.file.path}:{placed.step.line} ({placed.step.label})"
        return finding(
            RULE,
            dockerfile.file,
            line,
            f"{what}, no stage of this Dockerfile builds it, and the image build at {where} "
            f"has no earlier step that builds {copy.folder}/: the image ships whatever old "
            "files are there",
            HINT,
        )
    if _unseen_build_after_producer(views, copy.folder):
        return None
    files = ", ".join(v.pipeline.file.path for v in views) or "the pipeline files"
    return finding(
        RULE,
        dockerfile.file,
        line,
        f"{what}, no stage of this Dockerfile builds it, and no step of {files} builds "
        f"{copy.folder}/ before building this image: whoever builds it ships whatever old "
        f"files {copy.folder}/ holds then",
        HINT,
    )


def _dockerfile_paths(workspace: Workspace, views: list[PipelineView]) -> list[str]:
    """The Dockerfiles found, then those only a pipeline names (``-f``)."""
    paths = [f.path for f in workspace.of_kind("dockerfile")]
    for view in views:
        for _, build in view.image_builds():
            if build.dockerfile is not None and build.dockerfile not in paths:
                paths.append(build.dockerfile)
    return paths


def _check(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    views = pipelines(workspace)
    has_pipeline = bool(workspace.of_kind("cloudbuild", "github-actions"))
    for path in _dockerfile_paths(workspace, views):
        dockerfile = dockerfile_at(workspace, path)
        if dockerfile is None:
            continue
        builds = _builds_of(views, path)
        contexts = {b.context for _, _, b in builds if b.context is not None}
        if not builds:
            contexts = {posixpath.dirname(path) or "."}
        seen: set[tuple[int, str]] = set()
        for context_dir in sorted(contexts):
            from_here = [(v, p, b) for v, p, b in builds if b.context == context_dir]
            for copy in output_copies(workspace, dockerfile, context_dir):
                if (copy.copy.line, copy.folder) in seen:
                    continue
                seen.add((copy.copy.line, copy.folder))
                found = _judge(copy, dockerfile, from_here, views, has_pipeline)
                if found is not None:
                    yield found


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
