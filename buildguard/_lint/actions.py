"""A GitHub Actions workflow (``.github/workflows/*.yml``) as a :class:`Pipeline`.

From the workflow syntax reference: ``jobs.<id>.steps[]`` run in order on the job's own
machine; ``needs`` orders jobs; a step has ``run`` (with ``working-directory``, defaulting
to ``defaults.run.working-directory`` of the job, then of the workflow) or ``uses`` with
``with`` inputs. Jobs are numbered in an order where every job comes after those it needs.
"""

from __future__ import annotations

import re
from typing import Any

from buildguard._lint.errors import ParseFailure
from buildguard._lint.pipeline import Pipeline, Step
from buildguard._lint.shellcmd import commands, join_dir
from buildguard._lint.workspace import WorkspaceFile
from buildguard._lint.yamlfile import YList, YMap, load_one

_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def _expressions(script: str) -> str:
    """``${{ expr }}`` made one word: GitHub fills it in before the shell splits words."""
    return _EXPRESSION.sub(lambda m: "${{" + "".join(m.group(1).split()) + "}}", script)


def _default_dir(owner: Any) -> str | None:
    if not isinstance(owner, YMap):
        return None
    defaults = owner.get("defaults")
    run = defaults.get("run") if isinstance(defaults, YMap) else None
    value = run.get("working-directory") if isinstance(run, YMap) else None
    return str(value) if value is not None else None


def _needs(job: YMap) -> list[str]:
    needs = job.get("needs")
    if isinstance(needs, list):
        return [str(n) for n in needs]
    return [str(needs)] if needs else []


def _job_order(jobs: YMap, path: str) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise ParseFailure(path, jobs.line_of(name), f"job {name!r} needs itself (a cycle)")
        state[name] = 1
        job = jobs.get(name)
        for need in _needs(job) if isinstance(job, YMap) else []:
            if need in jobs:
                visit(need)
        state[name] = 2
        order.append(name)

    for name in jobs:
        visit(name)
    return order


def parse_workflow(file: WorkspaceFile) -> Pipeline:
    """The pipeline of a workflow; ParseFailure when it is not one."""
    document = load_one(file)
    if not isinstance(document, YMap) or not isinstance(document.get("jobs"), YMap):
        raise ParseFailure(file.path, 1, "a workflow is a mapping with `jobs:`")
    jobs: YMap = document["jobs"]
    workflow_dir = _default_dir(document)
    steps: list[Step] = []
    last_of: dict[str, int] = {}
    for name in _job_order(jobs, file.path):
        job = jobs[name]
        if not isinstance(job, YMap):
            continue
        job_dir = _default_dir(job) or workflow_dir or "."
        previous = frozenset(last_of[n] for n in _needs(job) if n in last_of)
        raw_steps = job.get("steps")
        if not isinstance(raw_steps, YList):
            continue
        for position, raw in enumerate(raw_steps):
            if not isinstance(raw, YMap):
                continue
            index = len(steps)
            where = raw.get("working-directory")
            step_dir = join_dir(".", str(where) if where is not None else job_dir)
            run = raw.get("run")
            found = commands(_expressions(str(run)), step_dir) if run is not None else []
            uses = raw.get("uses")
            inputs = raw.get("with")
            label = str(raw.get("name") or raw.get("id") or uses or f"step {position + 1}")
            steps.append(
                Step(
                    index=index,
                    label=f"{name}: {label}",
                    line=raw_steps.line_of(position),
                    commands=tuple(found),
                    dir=step_dir,
                    after=previous,
                    runner=name,
                    uses=str(uses) if uses is not None else None,
                    inputs=dict(inputs) if isinstance(inputs, YMap) else {},
                    input_lines=dict(inputs.lines) if isinstance(inputs, YMap) else {},
                )
            )
            previous = frozenset({index})
            last_of[name] = index
        if name not in last_of and previous:
            last_of[name] = max(previous)
    return Pipeline(file=file, kind="github-actions", steps=tuple(steps))
