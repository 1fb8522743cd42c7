"""A Cloud Build config (``cloudbuild.yaml``) as a :class:`Pipeline`.

From the build config reference: ``steps[]`` with ``name`` (the builder image),
``entrypoint``, ``args``, ``script``, ``dir`` (relative to ``/workspace``), ``id`` and
``waitFor`` (a step without it waits for all earlier steps; ``-`` starts it at once), and
``images:`` (pushed after every step has finished). Without ``entrypoint``, the
``gcr.io/cloud-builders/X`` images run ``X``; any other image runs its own entrypoint,
which for the images used in practice (node, buildguard's own step) runs ``args``.
"""

from __future__ import annotations

import re
from typing import Any

from buildguard._lint.errors import ParseFailure
from buildguard._lint.pipeline import Pipeline, Step
from buildguard._lint.shellcmd import Command, argv_commands, commands, join_dir
from buildguard._lint.workspace import WorkspaceFile
from buildguard._lint.yamlfile import YList, YMap, load_one

_TOOL_IMAGES = {
    "cloud-builders/docker": "docker",
    "cloud-builders/npm": "npm",
    "cloud-builders/yarn": "yarn",
    "cloud-builders/gcloud": "gcloud",
    "cloud-builders/gcloud-slim": "gcloud",
    "cloud-builders/kubectl": "kubectl",
    "cloud-builders/gke-deploy": "gke-deploy",
    "cloud-builders/git": "git",
    "cloud-builders/gsutil": "gsutil",
    "kaniko-project/executor": "kaniko",
}


_SUBSTITUTION = re.compile(r"\$(?:\{(_[A-Z0-9_]+)\}|(_[A-Z0-9_]+))")


class Substitutions:
    """The config's own ``substitutions:`` (user-defined, ``_``-named), filled into a value
    as Cloud Build fills them (``$_X``, ``${_X}``; ``$$`` is a literal ``$``); values may
    name other substitutions (``dynamicSubstitutions``). Built-in ones (``$PROJECT_ID``,
    ``$BUILD_ID``...) and unknown ones stay as written: lint does not guess them."""

    def __init__(self, document: YMap) -> None:
        raw = document.get("substitutions")
        self.values: dict[str, str] = {}
        if isinstance(raw, YMap):
            self.values = {k: str(v) for k, v in raw.items() if k.startswith("_") and v is not None}
        for _ in range(5):
            self.values = {k: self._fill(v) for k, v in self.values.items()}

    def _fill(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            return self.values.get(name, match.group(0))

        parts = text.split("$$")
        return "$$".join(_SUBSTITUTION.sub(one, part) for part in parts)

    def __call__(self, text: str) -> str:
        return self._fill(text) if "$" in text else text


def _words(value: Any, fill: Substitutions) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(fill(str(v)) for v in value if v is not None)
    if value is None:
        return ()
    return (fill(str(value)),)


def _tool(image: str) -> str | None:
    bare = image.split("@")[0]
    bare = bare.rsplit(":", 1)[0] if ":" in bare.rsplit("/", 1)[-1] else bare
    for suffix, tool in _TOOL_IMAGES.items():
        if bare.endswith(suffix):
            return tool
    last = bare.rsplit("/", 1)[-1]
    if last in ("docker", "buildguard") or last.startswith("buildguard"):
        return "docker" if last == "docker" else "buildguard"
    return None


def step_commands(
    image: str, entrypoint: str | None, args: tuple[str, ...], script: str | None, dir: str | None
) -> list[Command]:
    """What one step runs, as commands."""
    if script is not None:
        return commands(script, dir)
    if entrypoint:
        return argv_commands((entrypoint, *args), dir)
    tool = _tool(image)
    if tool is not None and (not args or args[0] != tool):
        if tool in ("docker", "buildguard") and args and args[0] in ("sh", "bash"):
            return argv_commands(args, dir)
        return argv_commands((tool, *args), dir)
    return argv_commands(args, dir)


def parse_cloudbuild(file: WorkspaceFile) -> Pipeline:
    """The pipeline of a Cloud Build config; ParseFailure when it is not one."""
    document = load_one(file)
    if not isinstance(document, YMap):
        raise ParseFailure(file.path, 1, "a Cloud Build config is a mapping with `steps:`")
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, YList):
        raise ParseFailure(file.path, document.line, "a Cloud Build config needs a `steps:` list")
    fill = Substitutions(document)
    ids: dict[str, int] = {}
    steps: list[Step] = []
    for index, raw in enumerate(raw_steps):
        line = raw_steps.line_of(index)
        if not isinstance(raw, YMap):
            raise ParseFailure(file.path, line, f"step {index + 1} is not a mapping")
        image = fill(str(raw.get("name") or ""))
        step_dir = join_dir(".", fill(str(raw["dir"]))) if raw.get("dir") is not None else "."
        script = raw.get("script")
        entrypoint = raw.get("entrypoint")
        found = step_commands(
            image,
            fill(str(entrypoint)) if entrypoint is not None else None,
            _words(raw.get("args"), fill),
            fill(str(script)) if script is not None else None,
            step_dir,
        )
        label = str(raw.get("id") or f"{index + 1} ({image})")
        wait = raw.get("waitFor")
        if wait is None:
            after = frozenset(range(index))
        else:
            names = _words(wait, fill)
            after = frozenset(ids[n] for n in names if n in ids)
        if raw.get("id") is not None:
            ids[str(raw["id"])] = index
        steps.append(
            Step(
                index=index,
                label=label,
                line=line,
                commands=tuple(found),
                dir=step_dir,
                after=after,
                image=image,
            )
        )
    images: list[tuple[str, int]] = []
    raw_images = document.get("images")
    if isinstance(raw_images, YList):
        images = [(fill(str(v)), raw_images.line_of(i)) for i, v in enumerate(raw_images) if v]
    return Pipeline(file=file, kind="cloudbuild", steps=tuple(steps), images=tuple(images))
