"""cloudbuild.example.yaml run end to end by the local Cloud Build runner: the real step
images (built by steps/cloudbuild.yaml), the real npm build of examples/vite-app, a real
dockerd building and pushing to a real htpasswd registry, and the nginx image deployed by the
`gcloud run deploy` stand-in and fetched over loopback.

Three outcomes: a fresh build passes every step and the pushed digest carries `verified`;
the incident (the npm step gone, an old dist/ still in the workspace) fails at seal; a
Dockerfile that copies a stale folder, with seal bypassed, fails at the daemon verify naming
the COPY layer. In the failing builds nothing reaches the registry.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from attestkeys import make_key
from clitools import buildguard_cli
from cloudbuild_fixtures import StepImages, docker_auth
from cloudbuild_runner import BuildResult, CloudBuildRunner
from services import AuthRegistry, Dockerd
from viteapp import copy_app, npm_build

pytestmark = [pytest.mark.cloudbuild, pytest.mark.npm]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "cloudbuild.example.yaml"
APP_DIR = "examples/vite-app"
BUNDLE = "/usr/share/nginx/html"
COMMIT = "c0ffee" + "1" * 34
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    )
)
ALL_STEPS = [
    "lint",
    "record",
    "build",
    "seal",
    "docker-build",
    "verify-image",
    "push",
    "verify-pushed",
    "deploy",
    "verify-live",
]


def example_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return config


def without_step(config: dict[str, Any], step_id: str) -> dict[str, Any]:
    changed = copy.deepcopy(config)
    changed["steps"] = [s for s in changed["steps"] if s.get("id") != step_id]
    assert len(changed["steps"]) == len(config["steps"]) - 1
    return changed


@pytest.fixture(scope="module")
def earlier_release(installed_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/ of an earlier build of the app, sealed, dated three hours back: what a
    workspace or a checked-in folder still holds when nobody rebuilds."""
    app = copy_app(installed_app, tmp_path_factory.mktemp("earlier") / "app")
    env = {"BUILD_ID": "earlier-build-0001", "COMMIT_SHA": "e" * 40}
    assert buildguard_cli("record", "--clean", "dist", cwd=app, env=env).returncode == 0
    npm_build(app)
    assert buildguard_cli("seal", "dist", cwd=app).returncode == 0
    past = time.time() - 3 * 3600
    for path in (app / "dist").rglob("*"):
        os.utime(path, (past, past))
    return app / "dist"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """What `gcloud builds submit .` uploads for the example: its config and the app."""
    root = tmp_path / "workspace"
    shutil.copytree(
        ROOT / APP_DIR,
        root / APP_DIR,
        ignore=shutil.ignore_patterns("node_modules", "dist", ".buildguard"),
    )
    shutil.copy2(EXAMPLE, root / EXAMPLE.name)
    return root


def run_example(
    cloudbuild: CloudBuildRunner,
    step_images: StepImages,
    registry: AuthRegistry,
    workspace: Path,
    config: dict[str, Any],
    repository: str,
    attest_key: str = "",
) -> BuildResult:
    return cloudbuild.run(
        config,
        workspace,
        substitutions={
            "_IMAGE": f"{registry.host}/{repository}",
            "_BUILDGUARD": step_images.registry,
            # no Cloud KMS here (tests/test_attest_kms.py covers gcpkms://): a key file in
            # the workspace, or none
            "_ATTEST_KEY": attest_key,
            "COMMIT_SHA": COMMIT,
        },
        docker_config=docker_auth(registry),
    )


def registry_get(registry: AuthRegistry, path: str) -> httpx.Response:
    return httpx.get(
        f"{registry.url}{path}",
        headers={"Authorization": registry.auth_header(), "Accept": MANIFEST_TYPES},
    )


def assert_nothing_pushed(registry: AuthRegistry, repository: str, result: BuildResult) -> None:
    assert result.images == []
    tags = registry_get(registry, f"/v2/{repository}/tags/list")
    assert tags.status_code == 404, tags.text
    assert "NAME_UNKNOWN" in tags.text


def steps_run(result: BuildResult) -> list[str]:
    return [r.step.id or "" for r in result.steps if r.exit_code is not None]


def test_fresh_build_passes_every_step_and_tags_the_verified_digest(
    cloudbuild: CloudBuildRunner,
    cloudbuild_dockerd: Dockerd,
    step_images: StepImages,
    cloudbuild_registry: AuthRegistry,
    workspace: Path,
    deployed: None,
) -> None:
    repository = "fresh/frontend"
    key = make_key(workspace, "vsa")  # the workspace is the step's /workspace
    result = run_example(
        cloudbuild,
        step_images,
        cloudbuild_registry,
        workspace,
        example_config(),
        repository,
        attest_key=f"file:/workspace/{key.private.name}",
    )
    ran = steps_run(result)
    # what a failing step printed is in result.log
    assert ran[:7] == ALL_STEPS[:7], result.log
    assert all(r.ok for r in result.steps[:7]), result.log
    reference = (workspace / "image.ref").read_text().strip()
    name, _, digest = reference.partition("@")
    assert name == f"{cloudbuild_registry.host}/{repository}"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert f"bundle {BUNDLE}: ok (build {result.build_id}" in result.step("verify-image").log

    # the registry really serves that digest under the build's tag
    served = registry_get(cloudbuild_registry, f"/v2/{repository}/manifests/{result.build_id}")
    assert served.headers["docker-content-digest"] == digest

    # verify by digest, then `verified` on exactly that digest
    assert result.step("verify-pushed").ok, result.log
    verified = registry_get(cloudbuild_registry, f"/v2/{repository}/manifests/verified")
    assert verified.status_code == 200, verified.text
    assert verified.headers["docker-content-digest"] == digest
    # and a signed VSA of that digest that verify-attestation accepts
    config_dir = workspace.parent / "attest-docker-config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "config.json").write_text(json.dumps(docker_auth(cloudbuild_registry)))
    attested = buildguard_cli(
        "verify-attestation",
        reference,
        "--key",
        str(key.public),
        "--expect-build-id",
        result.build_id,
        "--expect-commit",
        COMMIT,
        env={"DOCKER_CONFIG": str(config_dir)},
    )
    assert attested.returncode == 0, attested.stdout + attested.stderr + result.log
    assert key.private_pem.splitlines()[1] not in result.log

    # deployed by digest: the nginx container serves this build's bundle, not the manifest
    assert result.step("deploy").ok, result.log
    service = cloudbuild_dockerd.client.containers.get("frontend")
    assert service.attrs["Config"]["Image"] == reference
    url = re.search(r"Service URL: (http://127\.0\.0\.1:\d+)", result.step("deploy").log)
    assert url, result.step("deploy").log
    page = httpx.get(url.group(1) + "/")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"
    script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
    assert script, page.text
    assert result.build_id in httpx.get(url.group(1) + script.group(1)).text
    assert httpx.get(url.group(1) + "/buildguard-manifest.json").status_code == 404
    assert (workspace / "service.url").read_text().strip() == url.group(1)

    # and verify-live found this build's bundle served there
    assert result.step("verify-live").ok, result.step("verify-live").log
    assert url.group(1) in result.step("verify-live").log

    # images: pushed again after the steps, and recorded with the same digest
    assert result.status == "SUCCESS", result.log
    assert [(i.name, i.digest) for i in result.images] == [
        (f"{cloudbuild_registry.host}/{repository}:{result.build_id}", digest)
    ]


def test_pushed_image_carries_the_build_id_and_revision_labels(
    cloudbuild: CloudBuildRunner,
    cloudbuild_dockerd: Dockerd,
    step_images: StepImages,
    cloudbuild_registry: AuthRegistry,
    workspace: Path,
) -> None:
    config = example_config()
    config["steps"] = [
        s for s in config["steps"] if s["id"] in ("record", "build", "seal", "docker-build")
    ]
    config.pop("images")
    result = run_example(
        cloudbuild, step_images, cloudbuild_registry, workspace, config, "labels/frontend"
    )
    assert result.status == "SUCCESS", result.log
    image = cloudbuild_dockerd.client.images.get(
        f"{cloudbuild_registry.host}/labels/frontend:{result.build_id}"
    )
    labels = image.attrs["Config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == COMMIT
    assert labels["io.github.buildguard.build-id"] == result.build_id
    manifest = json.loads((workspace / APP_DIR / "dist/buildguard-manifest.json").read_text())
    assert (manifest["build_id"], manifest["commit"]) == (result.build_id, COMMIT)


def test_incident_old_dist_without_the_npm_step_fails_at_seal(
    cloudbuild: CloudBuildRunner,
    step_images: StepImages,
    cloudbuild_registry: AuthRegistry,
    workspace: Path,
    earlier_release: Path,
) -> None:
    shutil.copytree(earlier_release, workspace / APP_DIR / "dist")
    repository = "incident/frontend"
    result = run_example(
        cloudbuild,
        step_images,
        cloudbuild_registry,
        workspace,
        without_step(example_config(), "build"),
        repository,
    )
    assert result.status == "FAILURE"
    assert steps_run(result) == ["lint", "record", "seal"]
    assert result.failed_step == "seal"
    assert result.step("seal").exit_code == 1
    assert "dist" in result.step("seal").log
    assert not (workspace / APP_DIR / "dist").exists()  # record --clean removed the old one
    assert_nothing_pushed(cloudbuild_registry, repository, result)


def test_stale_folder_copied_with_seal_bypassed_fails_at_the_daemon_verify(
    cloudbuild: CloudBuildRunner,
    step_images: StepImages,
    cloudbuild_registry: AuthRegistry,
    workspace: Path,
    earlier_release: Path,
) -> None:
    app = workspace / APP_DIR
    shutil.copytree(earlier_release, app / "release")
    dockerfile = app / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace(f"COPY dist {BUNDLE}", f"COPY release {BUNDLE}")
    )
    repository = "stale/frontend"
    result = run_example(
        cloudbuild,
        step_images,
        cloudbuild_registry,
        workspace,
        without_step(example_config(), "seal"),
        repository,
    )
    assert result.status == "FAILURE"
    assert steps_run(result) == ["lint", "record", "build", "docker-build", "verify-image"]
    assert result.failed_step == "verify-image"
    log = result.step("verify-image").log
    assert result.step("verify-image").exit_code == 1, log
    assert "BUILD_ID_MISMATCH" in log
    assert "earlier-build-0001" in log
    # the finding names the layer that put the files there: the Dockerfile's COPY
    assert re.search(rf"layer \d+ sha256:[0-9a-f]+ +\S.* COPY dir:[0-9a-f]+ in {BUNDLE}\s", log), (
        log
    )
    assert_nothing_pushed(cloudbuild_registry, repository, result)


def test_multistage_dockerfile_seals_in_the_build_stage_and_never_replays_a_cached_bundle(
    cloudbuild: CloudBuildRunner,
    step_images: StepImages,
    workspace: Path,
) -> None:
    image = "multistage/frontend"
    config = {
        "options": {"automapSubstitutions": True},
        "steps": [
            {
                "id": "docker-build",
                "name": "gcr.io/cloud-builders/docker",
                "dir": APP_DIR,
                "args": [
                    "build",
                    "--file=multistage.Dockerfile",
                    "--build-arg=BUILD_ID=$BUILD_ID",
                    "--build-arg=COMMIT_SHA=$COMMIT_SHA",
                    f"--build-arg=BUILDGUARD_NODE={step_images.node}",
                    f"--tag={image}:$BUILD_ID",
                    ".",
                ],
            },
            {
                "id": "verify-image",
                "name": step_images.buildguard,
                "dir": APP_DIR,
                "args": ["verify", f"docker-daemon:{image}:$BUILD_ID", "--path", BUNDLE],
            },
        ],
    }
    first = cloudbuild.run(config, workspace, substitutions={"COMMIT_SHA": COMMIT})
    assert first.status == "SUCCESS", first.log
    assert f"bundle {BUNDLE}: ok (build {first.build_id}" in first.step("verify-image").log
    # the same sources again: `npm ci` comes from the cache, the bundle is rebuilt
    second = cloudbuild.run(config, workspace, substitutions={"COMMIT_SHA": COMMIT})
    assert second.status == "SUCCESS", second.log
    assert "Using cache" in second.step("docker-build").log
    assert f"bundle {BUNDLE}: ok (build {second.build_id}" in second.step("verify-image").log
