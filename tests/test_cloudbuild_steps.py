"""The step images of steps/: built by steps/cloudbuild.yaml through the local Cloud Build
runner from the locally made bases, then used as Cloud Build steps with /workspace mounted.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cloudbuild_fixtures import VERSION, StepImages
from cloudbuild_runner import CloudBuildRunner
from terminal import report

pytestmark = pytest.mark.cloudbuild

ROOT = Path(__file__).resolve().parent.parent


def test_steps_pipeline_builds_and_publishes_both_images(step_images: StepImages) -> None:
    result = step_images.result
    assert [s.step.id for s in result.steps if s.ok] == ["wheels", "buildguard", "buildguard-node"]
    pushed = {image.name: image.digest for image in result.images}
    assert set(pushed) == {step_images.buildguard, step_images.node}
    assert all(d.startswith("sha256:") for d in pushed.values())
    # the wheels step really built buildguard from this checkout
    assert f"buildguard_cli-{VERSION}-py3-none-any.whl" in result.step("wheels").log


def test_steps_pipeline_refuses_a_tag_that_is_not_the_package_version(
    cloudbuild: CloudBuildRunner, step_images: StepImages, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "buildguard").mkdir()
    shutil.copy2(ROOT / "buildguard/__init__.py", workspace / "buildguard")
    result = cloudbuild.run(
        ROOT / "steps/cloudbuild.yaml",
        workspace,
        substitutions={"_VERSION": "9.9.9", "_REGISTRY": f"{step_images.registry}-wrong"},
    )
    assert result.status == "FAILURE"
    assert result.failed_step == "wheels"
    assert f"buildguard/__init__.py says version {VERSION} but _VERSION is '9.9.9'" in result.log
    assert result.images == []


def test_buildguard_step_runs_version_and_a_record_seal_round_trip(
    cloudbuild: CloudBuildRunner, step_images: StepImages, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src/app.js").write_text("console.log('hello')\n")
    image = step_images.buildguard
    config = {
        "steps": [
            {"id": "version", "name": image, "args": ["--version"]},
            {
                "id": "record",
                "name": image,
                "args": ["record", "--clean", "dist"],
                "env": ["BUILD_ID=$BUILD_ID"],
            },
            {
                "id": "bundle",
                "name": image,
                "entrypoint": "sh",
                "args": [
                    "-c",
                    "mkdir dist && . .buildguard/build.env && "
                    "echo \"window.id='$$BUILDGUARD_BUILD_ID'\" > dist/app.js",
                ],
            },
            {"id": "seal", "name": image, "args": ["seal", "dist"]},
        ],
    }
    result = cloudbuild.run(config, workspace, build_id="round-trip-0001")
    assert result.status == "SUCCESS", result.log
    assert result.step("version").log.strip() == f"buildguard {VERSION}"
    manifest = json.loads((workspace / "dist/buildguard-manifest.json").read_text())
    assert manifest["build_id"] == "round-trip-0001"
    assert [f["path"] for f in manifest["files"]] == ["app.js"]
    assert manifest["freshness"] == "canary"


def test_node_step_records_builds_and_seals_in_one_step(
    cloudbuild: CloudBuildRunner, step_images: StepImages, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(
        ROOT / "examples/vite-app",
        workspace,
        ignore=shutil.ignore_patterns("node_modules", "dist", ".buildguard"),
    )
    config = {
        "steps": [
            {
                "id": "version",
                "name": step_images.node,
                "entrypoint": "node",
                "args": ["--version"],
            },
            {
                "id": "build",
                "name": step_images.node,
                "args": ["run", "--", "sh", "-c", "npm ci && npm run build"],
                "env": ["BUILD_ID=$BUILD_ID"],
            },
        ],
    }
    result = cloudbuild.run(config, workspace, build_id="node-step-0001")
    assert result.status == "SUCCESS", result.log
    manifest = json.loads((workspace / "dist/buildguard-manifest.json").read_text())
    assert manifest["build_id"] == "node-step-0001"
    assert manifest["freshness"] == "canary"
    assert any(p.endswith(".js") for p in manifest["canary_files"])


def test_step_images_carry_the_oci_labels_their_version_and_gcp(
    cloudbuild: CloudBuildRunner,
    step_images: StepImages,
    tmp_path: Path,
    pytestconfig: pytest.Config,
) -> None:
    sizes = []
    for name in (step_images.buildguard, step_images.node):
        image = cloudbuild.client.images.get(name)
        labels = image.attrs["Config"]["Labels"]
        assert labels["org.opencontainers.image.version"] == VERSION
        assert labels["org.opencontainers.image.revision"] == "5" * 40
        assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
        assert labels["org.opencontainers.image.source"].startswith("https://")
        assert labels["org.opencontainers.image.description"]
        sizes.append(f"{name.rsplit('/', 1)[1]} {image.attrs['Size'] / 2**20:.0f} MiB")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    config = {
        "steps": [
            {"id": "version", "name": step_images.buildguard, "args": ["--version"]},
            {"id": "node-version", "name": step_images.node, "args": ["--version"]},
            # the [gcp] extra is installed: the Google clients import
            {
                "id": "gcp",
                "name": step_images.buildguard,
                "entrypoint": "/opt/buildguard/bin/python",
                "args": [
                    "-c",
                    "import google.cloud.devtools.cloudbuild_v1, "
                    "google.cloud.artifactregistry_v1, google.cloud.storage",
                ],
            },
            # the docs' verify-only step as a non-root user
            {
                "id": "nonroot",
                "name": step_images.buildguard,
                "entrypoint": "sh",
                "args": [
                    "-c",
                    "setpriv --reuid=65534 --regid=65534 --clear-groups "
                    "env HOME=/tmp buildguard inspect --help >/dev/null && "
                    "setpriv --reuid=65534 --regid=65534 --clear-groups id -u",
                ],
            },
        ],
    }
    result = cloudbuild.run(config, workspace)
    assert result.status == "SUCCESS", result.log
    assert result.step("version").log.strip() == f"buildguard {VERSION}"
    assert result.step("node-version").log.strip() == f"buildguard {VERSION}"
    assert result.step("nonroot").log.strip() == "65534"
    report(pytestconfig, "step images: " + ", ".join(sizes))
