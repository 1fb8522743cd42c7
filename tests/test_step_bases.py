"""``steps/pin-bases.py`` pins the step images' bases by the digest their registry serves,
and writes nothing when a lookup fails."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from services import Registry

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "steps/pin-bases.py"
LAYOUT = ROOT / "examples/images/layout"

pytestmark = pytest.mark.docker  # the loopback registry and skopeo


def steps_with_bases(tmp_path: Path, python_base: str, node_base: str) -> Path:
    steps = tmp_path / "steps"
    shutil.copytree(ROOT / "steps", steps, ignore=shutil.ignore_patterns("wheels"))
    for path in (steps / "Dockerfile", steps / "cloudbuild.yaml"):
        text = re.sub(
            r"python:3\.11-slim-bookworm(@sha256:[0-9a-f]{64})?", python_base, path.read_text()
        )
        path.write_text(text)
    for path in (steps / "node.Dockerfile", steps / "cloudbuild.yaml"):
        text = re.sub(r"node:22-bookworm-slim(@sha256:[0-9a-f]{64})?", node_base, path.read_text())
        path.write_text(text)
    return steps


def push(registry: Registry, name: str) -> str:
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            f"oci:{LAYOUT}:stale",
            f"docker://{registry.host}/{name}",
        ],
        check=True,
        timeout=120,
    )
    repo, tag = name.split(":")
    head = httpx.head(
        f"{registry.url}/v2/{repo}/manifests/{tag}",
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json,"
            "application/vnd.oci.image.index.v1+json"
        },
    )
    return head.headers["Docker-Content-Digest"]


def pin(steps: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--steps",
            str(steps),
            "--skopeo-arg=--tls-verify=false",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_bases_are_tags_until_the_script_has_run() -> None:
    for path in (ROOT / "steps/Dockerfile", ROOT / "steps/node.Dockerfile"):
        (default,) = re.findall(r"^ARG \w+_BASE=(\S+)$", path.read_text(), re.M)
        assert "@sha256:" not in default or re.fullmatch(
            r"[^@]+:[^@]+@sha256:[0-9a-f]{64}", default
        )


def test_pinning_writes_the_registry_s_digest_and_check_agrees(
    registry: Registry, tmp_path: Path
) -> None:
    python = f"{registry.host}/library/python:3.11-slim-bookworm"
    node = f"{registry.host}/library/node:22-bookworm-slim"
    steps = steps_with_bases(tmp_path, python, node)
    digest = push(registry, "library/python:3.11-slim-bookworm")
    assert push(registry, "library/node:22-bookworm-slim") == digest
    assert pin(steps, "--check").returncode == 1  # tags only: not pinned
    done = pin(steps)
    assert done.returncode == 0, done.stderr
    assert f"ARG PYTHON_BASE={python}@{digest}\n" in (steps / "Dockerfile").read_text()
    assert f"ARG NODE_BASE={node}@{digest}\n" in (steps / "node.Dockerfile").read_text()
    config = (steps / "cloudbuild.yaml").read_text()
    assert f"_PYTHON_BASE: {python}@{digest}\n" in config
    assert f"_NODE_BASE: {node}@{digest}\n" in config
    assert pin(steps, "--check").returncode == 0
    # the tag moves: the pin is stale, and pinning again follows it
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            f"oci:{LAYOUT}:fresh",
            f"docker://{python}",
        ],
        check=True,
        timeout=120,
    )
    assert pin(steps, "--check").returncode == 1
    assert pin(steps).returncode == 0
    assert f"@{digest}" not in (steps / "Dockerfile").read_text()


def test_a_failed_lookup_changes_nothing(registry: Registry, tmp_path: Path) -> None:
    push(registry, "library/python:3.11-slim-bookworm")
    steps = steps_with_bases(
        tmp_path,
        f"{registry.host}/library/python:3.11-slim-bookworm",
        f"{registry.host}/library/node:no-such-tag",
    )
    before = {p.name: p.read_text() for p in steps.iterdir() if p.is_file()}
    done = pin(steps)
    assert done.returncode == 2
    assert "nothing was changed" in done.stderr
    assert {p.name: p.read_text() for p in steps.iterdir() if p.is_file()} == before
