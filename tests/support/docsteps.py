"""The commands a new user copies, read from the documents themselves (the first-hour test).

The README's "Using it in a pipeline" block, the three steps and the Dockerfile of
docs/cloudbuild.md, the steps of cloudbuild.example.yaml, and the substitutions the docs
tell a user to make (their output folder for `dist`) or Cloud Build makes (`$BUILD_ID`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CLOUDBUILD_DOC = ROOT / "docs" / "cloudbuild.md"
EXAMPLE_PIPELINE = ROOT / "cloudbuild.example.yaml"


@dataclass(frozen=True)
class App:
    name: str  # the folder under examples/
    output: str  # the bundler's output folder
    bundler: str

    @property
    def source(self) -> Path:
        return ROOT / "examples" / self.name


APPS = {
    "vite": App("vite-app", "dist", "Vite"),
    "cra": App("cra-app", "build", "Create React App"),
    "next": App("next-app", "out", "Next.js static export"),
}


def fenced_block(text: str, heading: str, language: str) -> str:
    """The first ```language block after the line ``heading``."""
    start = text.index(heading + "\n")
    match = re.compile(rf"^```{language}\n(.*?)^```", re.S | re.M).search(text, start)
    assert match, f"no ```{language} block after {heading!r}"
    return match.group(1)


def readme_pipeline() -> list[str]:
    """The README's "Using it in a pipeline" commands, one a line, comments dropped."""
    block = fenced_block(README.read_text(), "## Using it in a pipeline", "sh")
    lines = [re.sub(r"\s{2,}#.*$", "", line).strip() for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def docs_dockerfile() -> str:
    return fenced_block(CLOUDBUILD_DOC.read_text(), "## The Dockerfile", "dockerfile")


def three_steps() -> list[dict[str, Any]]:
    """The steps of docs/cloudbuild.md's "Add buildguard to an existing pipeline"."""
    block = fenced_block(
        CLOUDBUILD_DOC.read_text(),
        "## Add buildguard to an existing pipeline in three steps",
        "yaml",
    )
    config = yaml.safe_load(block)
    assert config["options"]["automapSubstitutions"] is True
    steps: list[dict[str, Any]] = config["steps"]
    return steps


def example_steps() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(EXAMPLE_PIPELINE.read_text())
    return {step["id"]: step for step in config["steps"]}


def for_app(text: str, app: App) -> str:
    """What the docs tell a user of another bundler to change: `dist` is their folder."""
    return re.sub(r"(?<![\w/.-])dist(?![\w.-])", app.output, text)


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Cloud Build's substitution of `$NAME` and `${NAME}` (before a step runs)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, text)
