"""A new user's first hour (issue 20): the README's and docs/cloudbuild.md's commands, read
from the documents and run as written on a fresh Vite, Create React App and Next.js app,
with the real npm, dockerd, registry and nginx (tests/support/firsthour.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from docsteps import APPS
from firsthour import FirstHour, Services, make_nginx_base
from services import Dockerd, Registry

pytestmark = [pytest.mark.npm, pytest.mark.docker]


@pytest.fixture(scope="module")
def services(
    dockerd: Dockerd,
    registry: Registry,
    base_image: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Services]:
    make_nginx_base(dockerd, base_image, tmp_path_factory.mktemp("nginx-base"))
    yield Services(dockerd, registry)


@pytest.mark.parametrize("app", sorted(APPS))
def test_the_docs_commands_work_as_written(app: str, services: Services, tmp_path: Path) -> None:
    steps = FirstHour(APPS[app], services, tmp_path).run_all()
    # run_all raises at the first exit code the docs or the contract do not give, and on any
    # hint naming a command or flag that does not exist; this only checks it ran them all
    assert all(step.returncode == step.expected and not step.problems for step in steps)
    flows = {step.flow for step in steps}
    assert flows == {
        "docs/cloudbuild.md",
        "cloudbuild.example.yaml",
        "README.md",
        "first-hour mistakes",
    }
