"""Smoke tests of the real services the end-to-end tests rely on (dockerd + registries)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest
from services import AuthRegistry, Dockerd, Registry

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


def _repo_digest(dockerd: Dockerd, ref: str, registry_host: str) -> str:
    """The digest dockerd recorded for ``ref`` when it pushed it to ``registry_host``."""
    out = dockerd.docker("image", "inspect", "--format", "{{json .RepoDigests}}", ref)
    digests: list[str] = json.loads(out.stdout)
    for repo_digest in digests:
        if repo_digest.startswith(f"{registry_host}/"):
            return repo_digest.split("@", 1)[1]
    raise AssertionError(f"no repo digest for {registry_host} in {digests}")


def _fetch_manifest(
    url: str, repo: str, tag: str, auth: tuple[str, str] | None = None
) -> tuple[httpx.Response, str]:
    resp = httpx.get(
        f"{url}/v2/{repo}/manifests/{tag}",
        headers={"Accept": MANIFEST_ACCEPT},
        auth=auth,
        timeout=30,
    )
    assert resp.status_code == 200, (resp.status_code, resp.text)
    body_digest = "sha256:" + hashlib.sha256(resp.content).hexdigest()
    assert resp.headers["Docker-Content-Digest"] == body_digest
    return resp, body_digest


@pytest.mark.docker
def test_build_and_push_to_real_registries(
    dockerd: Dockerd,
    base_image: str,
    registry: Registry,
    auth_registry: AuthRegistry,
    tmp_path: Path,
) -> None:
    # 1. FROM scratch + COPY, pushed to the open registry.
    scratch_ctx = tmp_path / "scratch"
    scratch_ctx.mkdir()
    (scratch_ctx / "hello.txt").write_text("hello from buildguard\n")
    (scratch_ctx / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    scratch_repo = "buildguard/smoke-scratch"
    scratch_ref = f"{registry.host}/{scratch_repo}:1"
    dockerd.build(scratch_ctx, scratch_ref)
    dockerd.docker("push", scratch_ref)

    resp, digest = _fetch_manifest(registry.url, scratch_repo, "1")
    manifest = resp.json()
    assert manifest["schemaVersion"] == 2
    assert len(manifest["layers"]) == 1
    assert digest == _repo_digest(dockerd, scratch_ref, registry.host)

    # 2. FROM the busybox base + RUN, pushed to the htpasswd registry via DOCKER_CONFIG.
    run_ctx = tmp_path / "run"
    run_ctx.mkdir()
    (run_ctx / "Dockerfile").write_text(
        f"FROM {base_image}\nRUN echo built-by-run > /run.txt && cat /run.txt\n"
    )
    run_repo = "buildguard/smoke-run"
    run_ref = f"{auth_registry.host}/{run_repo}:1"
    build = dockerd.build(run_ctx, run_ref)
    assert "built-by-run" in build.stdout
    cfg_dir = tmp_path / "docker-config"
    auth_registry.write_docker_config(cfg_dir)
    dockerd.docker("push", run_ref, env={"DOCKER_CONFIG": str(cfg_dir)})

    creds = (auth_registry.username, auth_registry.password)
    resp, digest = _fetch_manifest(auth_registry.url, run_repo, "1", auth=creds)
    manifest = resp.json()
    assert manifest["schemaVersion"] == 2
    assert len(manifest["layers"]) == 2  # base layer + RUN layer
    assert digest == _repo_digest(dockerd, run_ref, auth_registry.host)

    # Without the credentials the push is refused.
    denied = dockerd.docker("push", run_ref, check=False)
    assert denied.returncode != 0
    assert "no basic auth credentials" in denied.stderr + denied.stdout


@pytest.mark.docker
def test_auth_registry_requires_credentials(auth_registry: AuthRegistry) -> None:
    anon = httpx.get(f"{auth_registry.url}/v2/", timeout=10)
    assert anon.status_code == 401
    assert anon.headers["WWW-Authenticate"].startswith("Basic ")

    wrong = httpx.get(f"{auth_registry.url}/v2/", auth=(auth_registry.username, "nope"), timeout=10)
    assert wrong.status_code == 401

    ok = httpx.get(
        f"{auth_registry.url}/v2/",
        auth=(auth_registry.username, auth_registry.password),
        timeout=10,
    )
    assert ok.status_code == 200
    assert ok.headers["Docker-Distribution-API-Version"] == "registry/2.0"


@pytest.mark.docker
def test_open_registry_answers(registry: Registry) -> None:
    resp = httpx.get(f"{registry.url}/v2/", timeout=10)
    assert resp.status_code == 200
    assert registry.host == f"127.0.0.1:{registry.port}"
    assert registry.pid > 0
