"""Sealed images for the Cloud Build tests: a tiny bundle sealed by the real library,
packed by the real dockerd (``FROM scratch``) and pushed to a real loopback registry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx
from services import Dockerd

import buildguard

BUILD = "cb-build-fresh-0001"
OLD_BUILD = "cb-build-older-0001"
COMMIT = "c" * 40
OLD_COMMIT = "0" * 40
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def sealed_dist(root: Path, build_id: str, commit: str) -> Path:
    """A source tree recorded and a one-page bundle sealed for ``build_id``."""
    src, dist = root / "src", root / "dist"
    src.mkdir(parents=True)
    (src / "main.js").write_text(f"console.log('built from {commit}')\n")
    options = buildguard.RecordOptions(out=None, env_file=None, build_id=build_id, commit=commit)
    rec = buildguard.record(src, options)
    dist.mkdir()
    (dist / "index.html").write_text(f"<script>window.BUILD='{build_id}'</script>\n")
    (dist / "app.js").write_text(f"export const build = '{build_id}'\n")
    buildguard.seal(dist, record=rec)
    return dist


def build_and_push(
    dockerd: Dockerd, dist: Path, context: Path, tag: str, env: dict[str, str] | None = None
) -> str:
    """``FROM scratch`` + ``COPY dist /app/dist``, pushed; returns the pushed digest."""
    import shutil

    context.mkdir(parents=True)
    shutil.copytree(dist, context / "dist")
    (context / "Dockerfile").write_text("FROM scratch\nCOPY dist /app/dist\n")
    dockerd.build(context, tag)
    done = dockerd.docker("push", tag, env=env)
    return next(w for w in done.stdout.split() if w.startswith("sha256:"))


@dataclass(frozen=True)
class Images:
    host: str
    fresh: str
    """HOST/cb/app@DIGEST, sealed by BUILD with COMMIT."""
    web: str
    """HOST/cb/web@DIGEST, also sealed by BUILD."""
    stale: str
    """HOST/cb/app@DIGEST holding the bundle of OLD_BUILD."""


def tag_digest(
    base_url: str, repository: str, tag: str, headers: dict[str, str] | None = None
) -> str | None:
    """What ``tag`` names now (``Docker-Content-Digest``), or ``None`` when it does not exist."""
    accept = f"{DOCKER_V2}, {DOCKER_LIST}, application/vnd.oci.image.index.v1+json"
    got = httpx.get(
        f"{base_url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": accept, **(headers or {})},
        timeout=30,
    )
    if got.status_code == 404:
        return None
    assert got.status_code == 200, got.text
    return str(got.headers["docker-content-digest"])


def index_of(manifest_digest: str, size: int) -> bytes:
    """A Docker manifest list naming one manifest for linux/amd64 and linux/arm64."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_LIST,
            "manifests": [
                {
                    "mediaType": DOCKER_V2,
                    "digest": manifest_digest,
                    "size": size,
                    "platform": {"os": "linux", "architecture": arch},
                }
                for arch in ("amd64", "arm64")
            ],
        }
    ).encode()
