"""examples/gke/cloudbuild.yaml run end to end by the local Cloud Build runner: lint first,
record/build/seal, the image from an official-nginx-like base with its defaults removed,
verify before and after the push, the digest deployed by the `gke-deploy` stand-in behind the
Ingress's catch-all path, and verify-live of the site it serves. A broken Ingress stops the
pipeline at lint, before anything is built or pushed."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import httpx
import pytest
from cloudbuild_fixtures import StepImages, docker_auth
from cloudbuild_runner import BuildResult, CloudBuildRunner
from services import AuthRegistry, Dockerd

pytestmark = pytest.mark.cloudbuild

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples/gke"
STEPS = [
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """What `gcloud builds submit .` uploads from examples/gke."""
    root = tmp_path / "workspace"
    shutil.copytree(
        EXAMPLE, root, ignore=shutil.ignore_patterns("node_modules", "dist", ".buildguard")
    )
    return root


def run(
    cloudbuild: CloudBuildRunner,
    step_images: StepImages,
    registry: AuthRegistry,
    workspace: Path,
    site: str,
) -> BuildResult:
    return cloudbuild.run(
        EXAMPLE / "cloudbuild.yaml",
        workspace,
        substitutions={
            "_IMAGE": f"{registry.host}/gke/frontend",
            "_BUILDGUARD": step_images.registry,
            "_ATTEST_KEY": "",  # no Cloud KMS here: tests/test_attest_kms.py covers --attest
            "_SITE_URL": site,
            "COMMIT_SHA": "9" * 40,
        },
        docker_config=docker_auth(registry),
    )


def test_the_gke_pipeline_lints_builds_verifies_deploys_the_digest_and_verifies_the_site(
    cloudbuild: CloudBuildRunner,
    cloudbuild_dockerd: Dockerd,
    step_images: StepImages,
    cloudbuild_registry: AuthRegistry,
    workspace: Path,
    deployed: None,
) -> None:
    site = f"http://127.0.0.1:{free_port()}/"
    result = run(cloudbuild, step_images, cloudbuild_registry, workspace, site)
    assert [r.step.id for r in result.steps if r.ok] == STEPS, result.log
    assert result.status == "SUCCESS", result.log
    reference = (workspace / "image.ref").read_text().strip()
    assert re.fullmatch(
        rf"{re.escape(cloudbuild_registry.host)}/gke/frontend@sha256:[0-9a-f]{{64}}", reference
    )
    # the Deployment runs the verified digest, never a tag
    assert (
        cloudbuild_dockerd.client.containers.get("frontend").attrs["Config"]["Image"] == reference
    )
    assert (
        f"bundle /usr/share/nginx/html: ok (build {result.build_id}"
        in result.step("verify-image").log
    )
    page = httpx.get(site)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
    assert script, page.text
    assert result.build_id in httpx.get(site.rstrip("/") + script.group(1)).text
    # an API call that reaches the frontend is a 404, never the entry page
    api = httpx.get(site + "api/v5/sessions")
    assert api.status_code == 404 and "<html" not in api.text
    assert result.step("verify-live").ok, result.step("verify-live").log


def test_an_ingress_that_matches_one_url_stops_the_pipeline_at_lint(
    cloudbuild: CloudBuildRunner,
    step_images: StepImages,
    cloudbuild_registry: AuthRegistry,
    workspace: Path,
) -> None:
    ingress = workspace / "k8s/ingress.yaml"
    ingress.write_text(ingress.read_text().replace("path: /api/v5/*", "path: /api/v5"))
    result = run(cloudbuild, step_images, cloudbuild_registry, workspace, "http://127.0.0.1:9/")
    assert result.status == "FAILURE"
    assert result.failed_step == "lint"
    assert "BG-IN001" in result.step("lint").log
    assert result.images == []
