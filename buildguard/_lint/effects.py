"""What a pipeline step does, as far as lint's rules care: builds a bundle, builds, pushes
or deploys an image, or runs a buildguard command (read by ``stepeffects``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from buildguard._lint.outputs import ANYWHERE
from buildguard._lint.workspace import normalise


@dataclass(frozen=True)
class BundleBuild:
    outputs: tuple[str, ...]
    command: str


@dataclass(frozen=True)
class ImageBuild:
    dockerfile: str | None
    """relative to the root; None when it cannot be known (``-f -``, a variable)"""
    context: str | None
    tags: tuple[str, ...]
    pushes: bool
    git_context: bool = False
    """docker/build-push-action without ``context``: built from the Git checkout of the
    commit, so files earlier steps wrote are not in it"""


@dataclass(frozen=True)
class Push:
    ref: str


@dataclass(frozen=True)
class Guard:
    verb: Literal["record", "seal", "verify", "run"]
    target: str | None
    """seal/run: the bundle folder (relative to the root); verify: the image reference"""


@dataclass(frozen=True)
class Deploy:
    refs: tuple[str, ...]
    command: str


Effect = BundleBuild | ImageBuild | Push | Guard | Deploy


def same_or_within(a: str, b: str) -> bool:
    """Whether two root paths are the same folder or one lies within the other."""
    if ANYWHERE in (a, b):
        return True
    a, b = normalise(a) or a, normalise(b) or b
    return a == b or a == "." or b == "." or a.startswith(f"{b}/") or b.startswith(f"{a}/")
