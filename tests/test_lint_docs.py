"""docs/lint.md kept true: every rule of DESIGN's table has its row (with the contract's
severity) and its own section, the snippets are valid YAML (and the Cloud Build one a valid
build for Cloud Build's own schema), the README links the page, and the example pipelines
start with lint. No implementation needed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.cloud.devtools import cloudbuild_v1
from google.protobuf import json_format
from lintcontract import RULE_SEVERITY

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs/lint.md"
DESIGN_TABLE_ROW = re.compile(r"^\| \[`(BG-[A-Z0-9]+)`\]\(#[a-z0-9-]+\) \| ([a-z]+)\b", re.M)


def doc() -> str:
    return DOC.read_text()


def test_every_rule_has_a_row_with_its_severity_and_a_section() -> None:
    rows = dict(DESIGN_TABLE_ROW.findall(doc()))
    assert rows == RULE_SEVERITY
    sections = re.findall(r"^### (BG-[A-Z0-9]+)$", doc(), re.M)
    assert sections == list(RULE_SEVERITY)
    for rule in RULE_SEVERITY:
        body = doc().split(f"### {rule}\n", 1)[1].split("\n### ", 1)[0]
        assert "*Why:*" in body and "*Fix:*" in body, rule
        assert f"**{RULE_SEVERITY[rule].capitalize()}" in body, rule


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", doc(), re.S)


def test_yaml_snippets_parse_and_the_cloud_build_one_is_a_build() -> None:
    blocks = [yaml.safe_load(block) for block in yaml_blocks()]
    assert len(blocks) >= 3
    builds = [b for b in blocks if isinstance(b, dict) and "steps" in b]
    assert builds
    for build in builds:
        steps: list[dict[str, Any]] = [s for s in build["steps"] if "name" in s]
        json_format.ParseDict({"steps": steps}, cloudbuild_v1.Build.pb()())
    workflows = [b for b in blocks if isinstance(b, dict) and "jobs" in b]
    assert workflows and any(
        "upload-sarif" in str(step.get("uses", ""))
        for job in workflows[0]["jobs"].values()
        for step in job.get("steps", [])
    )


def test_every_link_to_a_repository_file_resolves() -> None:
    for target in re.findall(r"\]\((\.\./[^)#]+)\)", doc()):
        assert (DOC.parent / target).exists(), target


def test_the_readme_links_the_page() -> None:
    assert "(docs/lint.md)" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize(
    "pipeline", ["cloudbuild.example.yaml", "examples/incident-fixed/cloudbuild.yaml"]
)
def test_example_pipelines_start_with_lint(pipeline: str) -> None:
    steps = yaml.safe_load((ROOT / pipeline).read_text())["steps"]
    first = steps[0]
    assert first["id"] == "lint" and first["args"][0] == "lint"
    assert re.search(r"/buildguard:[^/]+$", first["name"]), first["name"]  # the step image
    # nothing starts before it: no later step runs at once with waitFor ['-']
    assert all("-" not in step.get("waitFor", []) for step in steps[1:])
