"""What each step of a pipeline does, in order: the effects of its commands (a bundle
build, read by ``outputs``; a tool's command, read by ``toolcommands``) and of GitHub's
``docker/build-push-action``."""

from __future__ import annotations

from buildguard._lint.effects import BundleBuild, Effect, ImageBuild
from buildguard._lint.outputs import build_outputs
from buildguard._lint.pipeline import Pipeline, Step
from buildguard._lint.shellcmd import Command, join_dir
from buildguard._lint.toolcommands import TOOLS
from buildguard._lint.workspace import Workspace

_GIT_CONTEXT_SINCE = ("v1", "v1.0.0", "v1.1.0", "v1.1.1")
"""docker/build-push-action versions before v2 built from the folder, not the Git context."""


def command_effects(command: Command, workspace: Workspace) -> list[Effect]:
    """What one command does."""
    argv = command.argv
    tool = argv[0].rsplit("/", 1)[-1] if argv else ""
    found: list[Effect] = []
    outputs = build_outputs(command, workspace)
    if outputs:
        found.append(BundleBuild(outputs, " ".join(argv)))
    reader = TOOLS.get(tool)
    if reader is not None:
        found.extend(reader(argv, command.dir, workspace))
    return found


def _build_push_action(step: Step) -> list[Effect]:
    inputs = step.inputs
    context_value = inputs.get("context")
    version = (step.uses or "").partition("@")[2]
    git_context = context_value is None and version not in _GIT_CONTEXT_SINCE
    context = "." if git_context else join_dir(".", str(context_value or "."))
    if context_value is not None and "${{" in str(context_value):
        context = None
    file_value = inputs.get("file")
    if file_value is not None and "${{" not in str(file_value):
        dockerfile = join_dir(".", str(file_value))
    elif git_context:
        dockerfile = "Dockerfile"
    else:
        dockerfile = join_dir(context, "Dockerfile") if context is not None else None
    tags_value = inputs.get("tags") or ""
    tags = tuple(t.strip() for t in str(tags_value).replace(",", "\n").splitlines() if t.strip())
    pushes = str(inputs.get("push", "false")).lower() == "true"
    return [ImageBuild(dockerfile, context, tags, pushes=pushes, git_context=git_context)]


_ACTIONS_WITH_INPUTS = {
    "mr-smithers-excellent/docker-build-push": ("dockerfile", "directory"),
    "elgohr/publish-docker-github-action": ("dockerfile", "context"),
}
"""Third-party image-build actions whose inputs name the Dockerfile and the context (both
relative to the checkout; defaults ``Dockerfile`` and ``.``)."""
_IMAGE_WORDS = frozenset({"docker", "buildah", "kaniko", "podman", "container", "image", "oci"})
_BUILD_WORDS = frozenset({"build", "push", "publish"})
_NOT_BUILD_WORDS = frozenset({"setup", "login", "metadata", "scan", "cache"})


def _input_path(step: Step, name: str, default: str) -> str | None:
    value = step.inputs.get(name)
    text = default if value is None else str(value)
    return None if "${{" in text else join_dir(".", text)


def _other_image_action(step: Step, action: str) -> list[Effect]:
    """An image-build action other than docker/build-push-action: read from its inputs
    where lint knows them, else an image build whose Dockerfile lint cannot tell."""
    if action in _ACTIONS_WITH_INPUTS:
        dockerfile_input, context_input = _ACTIONS_WITH_INPUTS[action]
        context = _input_path(step, context_input, ".")
        return [ImageBuild(_input_path(step, dockerfile_input, "Dockerfile"), context, (), False)]
    words = set(action.replace("/", "-").replace("_", "-").split("-"))
    if words & _IMAGE_WORDS and words & _BUILD_WORDS and not words & _NOT_BUILD_WORDS:
        return [ImageBuild(None, None, (), pushes=False)]
    return []


def step_effects(step: Step, workspace: Workspace) -> list[Effect]:
    """Everything ``step`` does, in the order it does it."""
    found: list[Effect] = []
    action = (step.uses or "").split("@")[0].lower()
    if action == "docker/build-push-action":
        found.extend(_build_push_action(step))
    elif action:
        found.extend(_other_image_action(step, action))
    for command in step.commands:
        found.extend(command_effects(command, workspace))
    return found


def pipeline_effects(pipeline: Pipeline, workspace: Workspace) -> list[list[Effect]]:
    """``step_effects`` of every step, by index."""
    return [step_effects(step, workspace) for step in pipeline.steps]
