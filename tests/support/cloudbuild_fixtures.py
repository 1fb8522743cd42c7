"""Session fixtures for the Cloud Build pipeline tests (imported by conftest.py).

- ``cloudbuild_dockerd``: a dockerd of its own with overlay2 on a tmpfs (the vfs daemon of
  the other tests copies a whole rootfs per container: ~7 s each here against ~0.5 s, and
  deleting its data root file by file took ~26 s), falling back to vfs on disk where that
  cannot start;
- ``local_images``: the local equivalents of the public images (localimages.py) built on it;
- ``cloudbuild``: a :class:`CloudBuildRunner` on it;
- ``cloudbuild_registry``: an htpasswd registry for the pipelines, its storage on a tmpfs;
- ``step_images``: steps/cloudbuild.yaml run through the runner, pushing both step images to
  that registry (the credentials reach the steps through /builder/home, as in Cloud Build).
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import localimages
import pytest
import terminal
from cloudbuild_runner import BuildResult, CloudBuildRunner
from services import (
    AuthRegistry,
    Dockerd,
    ServiceError,
    remove_tree,
    start_auth_registry,
    start_dockerd,
)

import buildguard

ROOT = Path(__file__).resolve().parents[2]
VERSION = buildguard.__version__
SOURCE_PATHS = ("pyproject.toml", "README.md", "LICENSE", "buildguard", "steps")
# The pipeline daemon's images and containers (~1.5 GB at the end of a session) live in
# memory: nothing to write to disk, nothing to delete file by file afterwards.
DATA_TMPFS_SIZE = "6g"
# The same for the registry the pipelines push to (step images and app images, ~1 GB).
REGISTRY_TMPFS_SIZE = "4g"


def report(config: pytest.Config, message: str) -> None:
    terminal.report(config, message, tag="cloudbuild")


def docker_auth(registry: AuthRegistry) -> dict[str, Any]:
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    return {"auths": {registry.host: {"auth": token}}}


def copy_source(target: Path) -> Path:
    """The files a `gcloud builds submit .` of this repo needs to build the step images."""
    target.mkdir(parents=True)
    for name in SOURCE_PATHS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source,
                target / name,
                ignore=shutil.ignore_patterns("__pycache__", "wheels", "*.egg-info"),
            )
        else:
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="session")
def cloudbuild_dockerd(pytestconfig: pytest.Config) -> Iterator[Dockerd]:
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        try:
            daemon = stack.enter_context(
                start_dockerd(storage_driver="overlay2", data_tmpfs_size=DATA_TMPFS_SIZE)
            )
            driver = "overlay2"
        except ServiceError as exc:
            report(pytestconfig, f"overlay2 dockerd failed, using vfs: {str(exc)[:200]}")
            try:
                daemon = stack.enter_context(start_dockerd())
            except ServiceError as exc2:
                pytest.fail(f"dockerd could not be started:\n{exc2}", pytrace=False)
            driver = "vfs"
        report(
            pytestconfig,
            f"dockerd ({driver}) pid {daemon.pid} ready in {time.monotonic() - started:.1f}s",
        )
        yield daemon
        stopping = time.monotonic()
    report(
        pytestconfig,
        f"dockerd ({driver}) stopped and removed in {time.monotonic() - stopping:.1f}s",
    )


@pytest.fixture(scope="session")
def cloudbuild_registry() -> Iterator[AuthRegistry]:
    """An htpasswd registry of the pipelines' own, its storage on a tmpfs."""
    root = Path(tempfile.mkdtemp(prefix="bgr-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={REGISTRY_TMPFS_SIZE}", "tmpfs", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        try:
            registry = start_auth_registry(root)
        except ServiceError as exc:
            pytest.fail(f"registry could not be started:\n{exc}", pytrace=False)
        try:
            yield registry
        finally:
            registry.stop()
    finally:
        if mounted.returncode == 0:
            remove_tree(root)  # unmounts first
        else:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def local_images(
    cloudbuild_dockerd: Dockerd,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> list[localimages.Equivalent]:
    started = time.monotonic()
    built = localimages.build_all(
        cloudbuild_dockerd,
        tmp_path_factory.mktemp("local-images"),
        log=lambda line: report(pytestconfig, line),
    )
    report(
        pytestconfig,
        f"{len(built)} local image equivalents built in {time.monotonic() - started:.1f}s",
    )
    return built


@pytest.fixture(scope="session")
def cloudbuild(cloudbuild_dockerd: Dockerd, local_images: list[Any]) -> CloudBuildRunner:
    return CloudBuildRunner(cloudbuild_dockerd.client, cloudbuild_dockerd.host)


@dataclass(frozen=True)
class StepImages:
    registry: str
    """Where steps/cloudbuild.yaml published them: ``HOST/buildguard``."""
    buildguard: str
    node: str
    result: BuildResult


@pytest.fixture(scope="session")
def step_images(
    cloudbuild: CloudBuildRunner,
    cloudbuild_registry: AuthRegistry,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> StepImages:
    started = time.monotonic()
    workspace = copy_source(tmp_path_factory.mktemp("steps-build") / "workspace")
    registry = f"{cloudbuild_registry.host}/buildguard"
    result = cloudbuild.run(
        ROOT / "steps/cloudbuild.yaml",
        workspace,
        substitutions={
            "_REGISTRY": registry,
            "_VERSION": VERSION,
            "_NODE_BASE": localimages.node_base_name(),
            "COMMIT_SHA": "5" * 40,
        },
        docker_config=docker_auth(cloudbuild_registry),
    )
    steps = ", ".join(f"{s.step.id} {s.seconds:.0f}s" for s in result.steps)
    report(
        pytestconfig,
        f"steps/cloudbuild.yaml: {result.status} in {time.monotonic() - started:.1f}s ({steps})",
    )
    assert result.status == "SUCCESS", result.log
    return StepImages(
        registry=registry,
        buildguard=f"{registry}/buildguard:{VERSION}",
        node=f"{registry}/buildguard-node:{VERSION}",
        result=result,
    )


@pytest.fixture
def deployed(cloudbuild_dockerd: Dockerd) -> Iterator[None]:
    """Removes, after the test, the containers a deploy stand-in started (label
    ``buildguard-test.deployed=1``)."""
    yield
    for container in cloudbuild_dockerd.client.containers.list(
        all=True, filters={"label": "buildguard-test.deployed=1"}
    ):
        container.remove(force=True)
