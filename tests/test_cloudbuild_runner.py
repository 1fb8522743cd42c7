"""The local Cloud Build runner does what Cloud Build does with a step (on the docker builder
equivalent, no step images needed): shared /workspace and $HOME, working dir, env and
automapped substitutions, `$$`, scripts with and without a shebang, the docker socket, the
first failure stopping the build, `images:` pushed only after every step.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cloudbuild_fixtures import docker_auth
from cloudbuild_runner import CloudBuildRunner
from localimages import DOCKER_BUILDER
from services import AuthRegistry

pytestmark = pytest.mark.cloudbuild


def test_steps_share_workspace_and_home_and_see_what_cloud_build_gives_them(
    cloudbuild: CloudBuildRunner, tmp_path: Path
) -> None:
    config = {
        "substitutions": {"_GREETING": "hello"},
        "steps": [
            {
                "id": "write",
                "name": DOCKER_BUILDER,
                "entrypoint": "bash",
                "dir": "sub/dir",
                "args": [
                    "-c",
                    "pwd > /workspace/pwd && echo $_GREETING-$$USER_VAR > out && "
                    "echo kept > $$HOME/note",
                ],
                "env": ["USER_VAR=from-env", "BUILD=$BUILD_ID"],
            },
            {
                "id": "script",
                "name": DOCKER_BUILDER,
                "automapSubstitutions": True,
                "script": 'echo "$_GREETING $BUILD_ID $(cat $HOME/note)" > /workspace/script',
            },
            {
                "id": "bash",
                "name": DOCKER_BUILDER,
                "waitFor": ["write"],
                "script": "#!/usr/bin/env bash\n[[ -z ${_GREETING:-} ]] && echo no-automap > "
                "/workspace/bash; echo $0 >> /workspace/bash",
            },
            {
                "id": "daemon",
                "name": DOCKER_BUILDER,
                "args": ["version", "--format", "{{.Server.Version}}"],
            },
        ],
    }
    result = cloudbuild.run(config, tmp_path, build_id="runner-0001")
    assert result.status == "SUCCESS", result.log
    assert (tmp_path / "pwd").read_text() == "/workspace/sub/dir\n"
    assert (tmp_path / "sub/dir/out").read_text() == "hello-from-env\n"
    assert (tmp_path / "script").read_text() == "hello runner-0001 kept\n"
    assert (tmp_path / "bash").read_text().splitlines() == ["no-automap", "/builder/scripts/script"]
    assert result.step("daemon").log.strip().startswith("20.10")


def test_first_failing_step_stops_the_build_and_nothing_is_pushed(
    cloudbuild: CloudBuildRunner, cloudbuild_registry: AuthRegistry, tmp_path: Path
) -> None:
    image = f"{cloudbuild_registry.host}/runner/never:1"
    config = {
        "steps": [
            {"id": "tag", "name": DOCKER_BUILDER, "args": ["tag", DOCKER_BUILDER, image]},
            {"id": "fail", "name": DOCKER_BUILDER, "entrypoint": "sh", "args": ["-c", "exit 7"]},
            {
                "id": "after",
                "name": DOCKER_BUILDER,
                "entrypoint": "sh",
                "args": ["-c", "touch /workspace/after"],
            },
        ],
        "images": [image],
    }
    result = cloudbuild.run(config, tmp_path, docker_config=docker_auth(cloudbuild_registry))
    assert result.status == "FAILURE"
    assert result.failed_step == "fail"
    assert result.step("fail").exit_code == 7
    assert result.step("after").exit_code is None
    assert not (tmp_path / "after").exists()
    assert result.images == []


def test_images_are_pushed_after_the_steps_with_the_homes_credentials(
    cloudbuild: CloudBuildRunner, cloudbuild_registry: AuthRegistry, tmp_path: Path
) -> None:
    image = f"{cloudbuild_registry.host}/runner/pushed:1"
    config = {
        "steps": [{"name": DOCKER_BUILDER, "args": ["tag", DOCKER_BUILDER, image]}],
        "images": [image],
    }
    refused = cloudbuild.run(config, tmp_path)  # no credentials in /builder/home
    assert refused.status == "FAILURE" and "no basic auth credentials" in refused.push_log
    result = cloudbuild.run(config, tmp_path, docker_config=docker_auth(cloudbuild_registry))
    assert result.status == "SUCCESS", result.log
    assert [i.name for i in result.images] == [image]
    assert result.images[0].digest.startswith("sha256:")


def test_an_image_that_is_not_local_fails_the_step_instead_of_a_pull(
    cloudbuild: CloudBuildRunner, tmp_path: Path
) -> None:
    result = cloudbuild.run({"steps": [{"id": "x", "name": "ubuntu:nowhere"}]}, tmp_path)
    assert result.status == "FAILURE"
    assert "not on the local daemon and nothing can be pulled" in result.failure
