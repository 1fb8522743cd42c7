"""What the rules share: every pipeline with its steps' effects, which steps build a
folder before another step, and which of a Dockerfile's context copies read a build
output folder."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from functools import cached_property

from buildguard._lint.actions import parse_workflow
from buildguard._lint.cloudbuild import parse_cloudbuild
from buildguard._lint.dockerfile import ContextCopy, Dockerfile, parse_dockerfile
from buildguard._lint.effects import BundleBuild, Effect, ImageBuild, same_or_within
from buildguard._lint.ignorefiles import dockerignore_for
from buildguard._lint.outputs import USUAL_OUTPUTS, build_outputs
from buildguard._lint.pipeline import Pipeline, Step
from buildguard._lint.stepeffects import pipeline_effects
from buildguard._lint.workspace import Workspace, normalise

_GLOB = frozenset("*?[")


@dataclass(frozen=True)
class Placed:
    """An effect of a step, and its position among the step's effects."""

    step: Step
    position: int
    effect: Effect


@dataclass
class PipelineView:
    pipeline: Pipeline
    effects: list[list[Effect]]

    @cached_property
    def placed(self) -> list[Placed]:
        return [
            Placed(step, position, effect)
            for step, effects in zip(self.pipeline.steps, self.effects, strict=True)
            for position, effect in enumerate(effects)
        ]

    def image_builds(self) -> list[tuple[Placed, ImageBuild]]:
        return [(p, p.effect) for p in self.placed if isinstance(p.effect, ImageBuild)]

    def producers(self, folder: str) -> list[Placed]:
        return [
            p
            for p in self.placed
            if isinstance(p.effect, BundleBuild)
            and any(same_or_within(output, folder) for output in p.effect.outputs)
        ]

    def earlier(self, first: Placed, then: Placed) -> bool:
        """Whether ``first`` has surely happened, on the same files, when ``then`` runs."""
        if first.step.index == then.step.index:
            return first.position < then.position
        return self.pipeline.before(first.step, then.step) and self.pipeline.shares_files(
            first.step, then.step
        )

    def built_before(self, folder: str, then: Placed) -> bool:
        return any(self.earlier(p, then) for p in self.producers(folder))


def pipelines(workspace: Workspace) -> list[PipelineView]:
    """Every pipeline lint read, with what its steps do, once per workspace (those that do
    not parse are BG-PARSE warnings)."""

    def read() -> list[PipelineView]:
        views = []
        for file in workspace.of_kind("cloudbuild", "github-actions"):
            parser = parse_cloudbuild if file.kind == "cloudbuild" else parse_workflow
            pipeline = workspace.parsed(file, parser)
            if pipeline is not None:
                views.append(PipelineView(pipeline, pipeline_effects(pipeline, workspace)))
        return views

    return workspace.derived("pipelines", read)


def dockerfile_at(workspace: Workspace, path: str | None) -> Dockerfile | None:
    if path is None:
        return None
    file = workspace.get(path, "dockerfile")
    return workspace.parsed(file, parse_dockerfile) if file is not None else None


@dataclass(frozen=True)
class OutputCopy:
    """A Dockerfile's copy of a build output folder from the build context."""

    copy: ContextCopy
    source: str
    folder: str
    """the output folder, relative to the root"""


def _stage_outputs(dockerfile: Dockerfile, stage_index: int, workspace: Workspace) -> set[str]:
    """The output folder names the stages before ``stage_index`` build (DESIGN: "no earlier
    stage of it builds that folder"; a build in the copying stage itself does not count:
    its ``COPY dist`` still reads the context, over what the ``RUN`` built)."""
    names: set[str] = set()
    for stage in dockerfile.stages[:stage_index]:
        for command in stage.runs:
            for output in build_outputs(command, workspace) or ():
                names.add(posixpath.basename(output))
    return names


def _output_folder(source: str, context: str, workspace: Workspace) -> str | None:
    """The build output folder ``source`` (a COPY source) reads, relative to the root."""
    if "$" in source or source.startswith(("http://", "https://", "git@")):
        return None
    relative = normalise(source.lstrip("/"))
    if relative is None or relative == ".":
        return None
    parts = relative.split("/")
    for i, part in enumerate(parts):
        if any(c in part for c in _GLOB):
            return None
        if part in USUAL_OUTPUTS:
            project = normalise(posixpath.join(context, *parts[:i])) if i else context
            if project is None:
                return None
            if workspace.get(posixpath.join(project, "package.json"), "package-json") is None:
                return None  # not a JavaScript project: its build/ or out/ is another tool's
            return normalise(posixpath.join(project, part))
    return None


def output_copies(workspace: Workspace, dockerfile: Dockerfile, context: str) -> list[OutputCopy]:
    """The copies of build output folders from ``context`` that no earlier stage of the
    Dockerfile builds, and that its ignore file lets through."""
    ignore = dockerignore_for(workspace, dockerfile.file.path, context)
    found = []
    for stage in dockerfile.stages:
        built_here = _stage_outputs(dockerfile, stage.index, workspace)
        for copy in stage.copies:
            for source in copy.sources:
                folder = _output_folder(source, context, workspace)
                if folder is None or posixpath.basename(folder) in built_here:
                    continue
                inside = posixpath.relpath(folder, context) if context != "." else folder
                if ignore.ignores(inside):
                    continue  # the build fails loudly instead: not found in the context
                found.append(OutputCopy(copy, source, folder))
    return found
