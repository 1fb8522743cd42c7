"""The GitLab template and the CI docs: their jobs run the step images and every
``buildguard`` command in them is one the command line accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from commandcheck import buildguard_commands, problem

ROOT = Path(__file__).resolve().parent.parent
GITLAB = ROOT / "ci/gitlab/buildguard.gitlab-ci.yml"


def test_the_checker_catches_a_flag_that_does_not_exist() -> None:
    assert problem("buildguard verify IMAGE --no-such-flag") is not None
    assert problem("buildguard seal") is not None  # DIST_DIR is required
    assert problem('buildguard verify "$TARGET" --path "$P" --junit x.xml') is None
    assert buildguard_commands("- cd x && buildguard seal dist && echo ok") == [
        ["buildguard", "seal", "dist"]
    ]
    assert buildguard_commands("`buildguard run -- sh -c 'a && b'` then") == [
        ["buildguard", "run", "--", "sh", "-c", "a && b"]
    ]


def template() -> dict[str, dict[str, object]]:
    loaded = yaml.safe_load(GITLAB.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_gitlab_template_jobs_run_the_step_images_and_valid_commands() -> None:
    config = template()
    variables = config["variables"]
    assert variables["BUILDGUARD_IMAGE"].endswith("/buildguard:${BUILDGUARD_VERSION}")
    assert variables["BUILDGUARD_NODE_IMAGE"].endswith("/buildguard-node:${BUILDGUARD_VERSION}")
    import buildguard

    assert variables["BUILDGUARD_VERSION"] == buildguard.__version__
    jobs = {name: job for name, job in config.items() if name.startswith(".buildguard-")}
    assert set(jobs) == {
        ".buildguard-lint",
        ".buildguard-bundle",
        ".buildguard-verify",
        ".buildguard-verify-live",
    }
    assert jobs[".buildguard-lint"]["stage"] == ".pre"
    commands = []
    for name, job in jobs.items():
        image = job.get("image", config[job["extends"]]["image"])
        assert image["name"] in ("${BUILDGUARD_IMAGE}", "${BUILDGUARD_NODE_IMAGE}"), name
        for line in job["script"]:
            commands += buildguard_commands(line)
    assert [c[1] for c in commands] == ["lint", "record", "seal", "verify", "verify-live"]
    for command in commands:
        assert problem(command) is None, (command, problem(command))
    # the verify jobs hand their JUnit file to GitLab even when they fail
    for name in (".buildguard-verify", ".buildguard-verify-live"):
        assert jobs[name]["artifacts"]["when"] == "always"
        junit = jobs[name]["artifacts"]["reports"]["junit"]
        assert f"--junit {junit}" in " ".join(jobs[name]["script"])


def test_gitlab_build_id_is_one_buildguard_takes() -> None:
    build_id = template()["variables"]["BUILD_ID"].replace("${CI_PIPELINE_ID}", "1234567")
    assert re.fullmatch(r"[A-Za-z0-9._:-]{6,128}", build_id)


@pytest.mark.parametrize("doc", ["docs/github-actions.md", "docs/cloudbuild.md", "README.md"])
def test_every_buildguard_command_in_the_ci_docs_exists(doc: str) -> None:
    text = (ROOT / doc).read_text()
    # the action's `command:`/`args:` pairs are commands too
    pairs = re.findall(r"command: ([\w-]+), args: ([^}\n]+?) ?\}", text)
    commands = buildguard_commands(text)
    commands += [buildguard_commands(f"buildguard {c} {a}")[0] for c, a in pairs]
    assert commands, doc
    shown = [c for c in commands if not any("…" in w or "..." in w or w.isupper() for w in c)]
    wrong = {" ".join(c): problem(c) for c in shown if problem(c)}
    assert wrong == {}
