"""Local equivalents of the public images the pipelines name, built without a registry.

Nothing can be pulled here, so every public image a pipeline or Dockerfile names is built on
the local daemon under that very name, from one Debian 12 rootfs (`scripts/make-test-rootfs`,
cached in ~/.cache/buildguard-test) plus what the host already has: its docker CLI, its Node,
Python packages as wheels downloaded by the host's pip, and the example app's npm packages in
a cache filled by the host's npm. Containers cannot reach the package indexes (no settings,
no certificate bundle), so pip and npm inside them run offline against what is baked in.
`EQUIVALENTS` is the table docs/testing.md shows.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import officialnginx

ROOT = Path(__file__).resolve().parents[2]
STANDINS = Path(__file__).resolve().parent / "standins"
ROOTFS_IMAGE = "buildguard-test/debian:bookworm"
PYTHON_BASE = "python:3.11-slim-bookworm"
DOCKER_BUILDER = "gcr.io/cloud-builders/docker"
CLOUD_SDK = "gcr.io/google.com/cloudsdktool/cloud-sdk:slim"
GKE_DEPLOY = "gcr.io/cloud-builders/gke-deploy"
NGINX_BASE = "nginx:stable-bookworm"
# Build-time extras the wheelhouse needs for `pip wheel .` (setuptools' build isolation).
BUILD_REQUIREMENTS = ("setuptools>=68", "wheel")


def cache_dir() -> Path:
    base = os.environ.get("BUILDGUARD_TEST_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "buildguard-test"
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def rootfs_tarball() -> Path:
    """The cached rootfs (built by scripts/setup; built here if missing)."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts/make-test-rootfs")],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=1200,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/make-test-rootfs failed:\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1])


def _fill_once(target: Path, fill: Callable[[Path], None]) -> Path:
    """Fill ``target`` through a temp dir renamed into place: a half-filled cache never
    counts as filled."""
    if target.is_dir():
        return target
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        fill(work)
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def wheelhouse() -> Path:
    """Wheels of buildguard's dependencies (and its build backend) for CPython 3.11 on
    x86_64 glibc, i.e. Debian 12's Python in the images, downloaded by the host's pip."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # the step images install the [gcp] extra
    gcp = project["project"]["optional-dependencies"]["gcp"]
    requirements = sorted({*project["project"]["dependencies"], *gcp, *BUILD_REQUIREMENTS})
    target = cache_dir() / f"wheelhouse-{_key(*requirements)}"

    def fill(work: Path) -> None:
        done = subprocess.run(
            [
                "python3",
                "-m",
                "pip",
                "download",
                "--quiet",
                "--only-binary=:all:",
                "--dest",
                str(work),
                *requirements,
            ],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=900,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pip download failed:\n{done.stdout}{done.stderr}")

    return _fill_once(target, fill)


def npm_cache(app: Path) -> Path:
    """An npm cache holding exactly the packages of ``app``'s lockfile (host npm, online)."""
    lock = (app / "package-lock.json").read_bytes()
    target = cache_dir() / f"npm-cache-{hashlib.sha256(lock).hexdigest()[:12]}"

    def fill(work: Path) -> None:
        project = work / "project"
        project.mkdir()
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(app / name, project / name)
        subprocess.run(
            [
                "npm",
                "ci",
                "--cache",
                str(work / "cache"),
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
            ],
            cwd=project,
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=900,
        )
        shutil.rmtree(project)
        shutil.rmtree(work / "cache" / "_logs", ignore_errors=True)

    return _fill_once(target, fill) / "cache"


def host_node() -> tuple[Path, Path, str]:
    """The host's node binary, its npm package folder and its major version."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    assert node and npm, "Node and npm are needed (the example app needs Node >= 20.19)"
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    root = subprocess.run(
        [npm, "root", "-g"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return Path(node).resolve(), Path(root) / "npm", version.lstrip("v").split(".")[0]


def node_base_name() -> str:
    """The public Node image the host's Node stands in for (its major version)."""
    return f"node:{host_node()[2]}-bookworm-slim"


@dataclass(frozen=True)
class Equivalent:
    name: str
    what: str
    dockerfile: str
    files: Callable[[], dict[str, Path]]


def _node_files() -> dict[str, Path]:
    node, npm, _ = host_node()
    return {"node": node, "npm": npm, "npm-cache": npm_cache(ROOT / "examples/vite-app")}


def equivalents(docker_cli: str) -> list[Equivalent]:
    cli = {"docker": Path(docker_cli).resolve()}
    return [
        Equivalent(
            PYTHON_BASE,
            "Debian 12's Python 3.11 as a venv in /usr/local (python, "
            "pip on PATH); pip runs offline: PIP_NO_INDEX=1, PIP_FIND_LINKS=/opt/"
            "wheelhouse (buildguard's dependencies and setuptools, from the host's pip)",
            """FROM {rootfs}
COPY wheelhouse /opt/wheelhouse
RUN python3 -m venv /usr/local && /usr/local/bin/pip --version
ENV LANG=C.UTF-8 PIP_NO_INDEX=1 PIP_FIND_LINKS=/opt/wheelhouse \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
CMD ["python3"]
""",
            lambda: {"wheelhouse": wheelhouse()},
        ),
        Equivalent(
            node_base_name(),
            "the host's own Node and npm in /usr/local as in the "
            "official image (Debian 12 base, so python3, python3-venv and libmagic1 are "
            "already there and the step Dockerfile's apt-get is skipped); npm runs "
            "offline (npm_config_offline) against /opt/npm-cache, filled with the "
            "example app's packages by the host's npm",
            """FROM {rootfs}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY npm-cache /opt/npm-cache
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
ENV npm_config_cache=/opt/npm-cache npm_config_offline=true \\
    npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
CMD ["node"]
""",
            _node_files,
        ),
        Equivalent(
            DOCKER_BUILDER,
            "the host's docker CLI as /usr/bin/docker, entrypoint `docker`",
            """FROM {rootfs}
COPY docker /usr/bin/docker
ENTRYPOINT ["docker"]
""",
            lambda: cli,
        ),
        Equivalent(
            CLOUD_SDK,
            "the docker CLI and a `gcloud` stand-in (tests/support/standins/gcloud) "
            "that implements only `gcloud run deploy SERVICE --image IMAGE` (runs IMAGE "
            "on the local daemon, network `cloudbuild`, PORT=8080 published on "
            "127.0.0.1, and prints the service URL once it answers) and `gcloud run "
            "services describe SERVICE --format 'value(status.url)'`",
            """FROM {rootfs}
COPY docker /usr/bin/docker
COPY gcloud /usr/local/bin/gcloud
CMD ["bash"]
""",
            lambda: {**cli, "gcloud": STANDINS / "gcloud"},
        ),
        Equivalent(
            GKE_DEPLOY,
            "the docker CLI and a `gke-deploy` stand-in (tests/support/standins/gke-deploy) "
            "that implements only `gke-deploy run --filename PATH --location L --cluster C "
            "[--image IMAGE]`: each Deployment (pinned by digest) runs as a container on the "
            "local daemon, and the Ingress's catch-all path, followed to its Service and "
            "Deployment, is published on 127.0.0.1 at the port of $_SITE_URL",
            """FROM {rootfs}
COPY docker /usr/bin/docker
COPY gke-deploy /usr/local/bin/gke-deploy
CMD ["bash"]
""",
            lambda: {**cli, "gke-deploy": STANDINS / "gke-deploy"},
        ),
        Equivalent(
            NGINX_BASE,
            "Debian 12's nginx (1.22) laid out as the official image: "
            "conf.d/default.conf serving /usr/share/nginx/html on port 80, index.html and "
            "50x.html in /usr/share/nginx/html (a layer of their own, as "
            "tests/support/officialnginx.py writes them), logs to stdout/stderr, "
            "`nginx -g 'daemon off;'`",
            """FROM {rootfs}
COPY default.conf /etc/nginx/conf.d/default.conf
RUN rm -f /etc/nginx/sites-enabled/default \\
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
RUN """
            + officialnginx.pages_step().replace("{", "{{").replace("}", "}}")
            + """
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
""",
            lambda: {"default.conf": STANDINS / "nginx-default.conf"},
        ),
    ]


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copy2(source, target)


def build_all(dockerd: Any, workdir: Path, log: Callable[[str], None] = print) -> list[Equivalent]:
    """Import the rootfs and build every equivalent on ``dockerd`` under its public name."""
    started = time.monotonic()
    dockerd.docker("import", str(rootfs_tarball()), ROOTFS_IMAGE, timeout=600)
    log(f"imported {ROOTFS_IMAGE} in {time.monotonic() - started:.1f}s")
    built = equivalents(dockerd.cli)
    for index, item in enumerate(built):
        started = time.monotonic()
        context = workdir / f"context-{index}"
        context.mkdir(parents=True)
        (context / "Dockerfile").write_text(item.dockerfile.format(rootfs=ROOTFS_IMAGE))
        for name, source in item.files().items():
            _copy(source, context / name)
        dockerd.build(context, item.name)
        shutil.rmtree(context)
        log(f"built {item.name} in {time.monotonic() - started:.1f}s")
    return built
