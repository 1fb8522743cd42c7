"""Session fixtures that start REAL services: dockerd, a base image and registries.

They fail (never skip) when a binary is missing; run the fast tests with ``-m "not docker"``.
Tests that use any of these fixtures are marked ``docker`` automatically.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from cloudbuild_fixtures import (
    cloudbuild,
    cloudbuild_dockerd,
    cloudbuild_registry,
    deployed,
    local_images,
    step_images,
)
from services import (
    AuthRegistry,
    Dockerd,
    Registry,
    ServiceError,
    make_base_image,
    start_auth_registry,
    start_dockerd,
    start_registry,
)
from terminal import report
from viteapp import install_app

__all__ = [
    "cloudbuild",
    "cloudbuild_dockerd",
    "cloudbuild_registry",
    "deployed",
    "local_images",
    "step_images",
]

SERVICE_FIXTURES = frozenset(
    {
        "dockerd",
        "base_image",
        "registry",
        "auth_registry",
        "cloudbuild_dockerd",
        "cloudbuild_registry",
        "local_images",
        "cloudbuild",
        "step_images",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.docker)


def _fail(what: str, exc: ServiceError) -> NoReturn:
    try:
        pytest.fail(f"{what} could not be started:\n{exc}", pytrace=False)
    except pytest.fail.Exception as failed:
        raise failed from None  # the ServiceError text is already in the message


def _report(config: pytest.Config, message: str) -> None:
    report(config, message)


@pytest.fixture(autouse=True)
def _own_layer_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets an empty layer-index cache of its own (verify and inspect use one by
    default), so a layer cached by one test never answers for another."""
    cache = tmp_path_factory.mktemp("layer-cache")
    monkeypatch.setenv("BUILDGUARD_CACHE", str(cache))
    monkeypatch.delenv("BUILDGUARD_CACHE_KEY", raising=False)
    return cache


@pytest.fixture(scope="session")
def dockerd(pytestconfig: pytest.Config) -> Iterator[Dockerd]:
    """A real dockerd: ``.host``, ``.env``, ``.client``, ``.cli``, ``.pid``, ``.dir``, ``.log``."""
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        try:
            daemon = stack.enter_context(start_dockerd())
        except ServiceError as exc:
            _fail("dockerd", exc)
        _report(
            pytestconfig,
            f"dockerd pid {daemon.pid} on {daemon.host} (API {daemon.api_version}, "
            f"cli {daemon.cli}) ready in {time.monotonic() - started:.1f}s",
        )
        yield daemon


@pytest.fixture(scope="session")
def base_image(
    dockerd: Dockerd, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> str:
    """Tag of a busybox-static base image with a shell (``RUN`` works on it)."""
    started = time.monotonic()
    try:
        tag = make_base_image(dockerd, tmp_path_factory.mktemp("base-image"))
    except ServiceError as exc:
        _fail("base image", exc)
    _report(pytestconfig, f"base image {tag} ready in {time.monotonic() - started:.1f}s")
    return tag


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """An open registry: ``.host`` ("127.0.0.1:PORT"), ``.url``, ``.pid``, ``.dir``."""
    try:
        reg = start_registry(tmp_path_factory.mktemp("registry"), {})
    except ServiceError as exc:
        _fail("registry", exc)
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthRegistry]:
    """An htpasswd registry: ``.host``, ``.url``, ``.username``, ``.password``,
    ``.write_docker_config(dir)``."""
    try:
        reg = start_auth_registry(tmp_path_factory.mktemp("auth-registry"))
    except ServiceError as exc:
        _fail("htpasswd registry", exc)
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def docker_config_dir(tmp_path: Path) -> Path:
    """An empty dir to use as DOCKER_CONFIG for one test."""
    path = tmp_path / "docker-config"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def installed_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example Vite app with `npm ci` done, once per session; copy it per test."""
    return install_app(tmp_path_factory.mktemp("vite") / "app")
