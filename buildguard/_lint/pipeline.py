"""One model for a pipeline, from Cloud Build or GitHub Actions: steps, what each runs,
and which steps are sure to have finished before another starts.

``Step.after`` holds the steps it waits for directly; :meth:`Pipeline.before` is the
transitive closure. Cloud Build: a step without ``waitFor`` waits for every step before it,
``waitFor: ['-']`` for none. GitHub Actions: a step waits for the step before it in its
job, and a job's first step for the last step of every job it ``needs``. Jobs run on
different machines (``runner``): files one job builds reach another only through an
artifact, which :meth:`Pipeline.shares_files` accounts for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from buildguard._lint.shellcmd import Command
from buildguard._lint.workspace import WorkspaceFile

PipelineKind = Literal["cloudbuild", "github-actions"]


@dataclass(frozen=True)
class Step:
    """One step of a pipeline."""

    index: int
    label: str
    """how the pipeline names it: its ``id``/``name``, else ``step N`` (1-based)"""
    line: int
    commands: tuple[Command, ...]
    dir: str | None
    """the folder it runs in, relative to the root (None: outside the workspace)"""
    after: frozenset[int] = frozenset()
    runner: str = ""
    """the machine it runs on: the job in GitHub Actions, ``""`` in Cloud Build"""
    image: str | None = None
    """Cloud Build: the builder image (``name:``)"""
    uses: str | None = None
    """GitHub Actions: the action (``uses:``), with its inputs in ``inputs``"""
    inputs: Mapping[str, Any] = field(default_factory=dict)
    input_lines: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Pipeline:
    """The steps of one pipeline file, and the images Cloud Build pushes after them."""

    file: WorkspaceFile
    kind: PipelineKind
    steps: tuple[Step, ...]
    images: tuple[tuple[str, int], ...] = ()
    """Cloud Build ``images:`` (pushed after every step), each with its line"""

    @cached_property
    def _closure(self) -> list[frozenset[int]]:
        done: list[frozenset[int]] = []
        for step in self.steps:  # every ``after`` names earlier steps only
            reach: set[int] = set()
            for earlier in step.after:
                if earlier < step.index:
                    reach.add(earlier)
                    reach.update(done[earlier])
            done.append(frozenset(reach))
        return done

    def before(self, first: Step, then: Step) -> bool:
        """Whether ``first`` has surely finished when ``then`` starts."""
        return first.index in self._closure[then.index]

    def shares_files(self, first: Step, then: Step) -> bool:
        """Whether files ``first`` writes are there for ``then``: same machine, or an
        artifact downloaded on ``then``'s machine after ``first`` and before ``then``."""
        if first.runner == then.runner:
            return True
        return any(
            step.runner == then.runner
            and step.index < then.index
            and (step.uses or "").split("@")[0].lower() == "actions/download-artifact"
            for step in self.steps
        )
