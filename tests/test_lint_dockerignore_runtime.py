"""lint's .dockerignore reading against the real docker CLI and dockerd 20.10.

For each set of patterns, the same context is sent by `docker build` to the real daemon
with `COPY . /ctx/`, and the files that reached the image are compared with what
`DockerIgnore.ignores` says, file by file. (The classic builder, the fixtures' dockerd:
the CLI applies .dockerignore when it makes the context; BuildKit's `<Dockerfile>.dockerignore`
is not covered here.)
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from linttree import write_tree
from services import Dockerd

from buildguard._lint.ignorefiles import dockerignore_for
from buildguard._lint.workspace import discover

FILES = [
    "dist/index.html",
    "dist/assets/app.js",
    "dist/keep.txt",
    "web/dist/index.html",
    "web/src/main.ts",
    "src/main.ts",
    "src/app.test.ts",
    "a/b/c/dist/x.js",
    "build.sh",
    "build/out.js",
    "node_modules/x/index.js",
    ".env",
    "README.md",
    "d1st/y",
]

PATTERNS = [
    "dist",
    "/dist/",
    "**/dist",
    "*\n!dist",
    "dist\n!dist/keep.txt",
    "*/dist",
    "d?st",
    "[a-c]*\n!build.sh",
    "**/*.ts\n!src/main.ts",
    "node_modules\n.env\n*.md",
    "build*",
    "./dist/../build",
    "# a comment\n  dist  \n",
]


def _in_image(dockerd: Dockerd, context: Path, tag: str) -> set[str]:
    dockerd.build(context, tag)
    container = dockerd.docker("create", tag, "none").stdout.strip()
    try:
        exported = dockerd.client.api.export(container)
        data = b"".join(exported)
    finally:
        dockerd.docker("rm", container)
        dockerd.docker("rmi", tag)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {
            m.name.removeprefix("ctx/")
            for m in tar.getmembers()
            if m.isfile() and m.name.startswith("ctx/")
        }


@pytest.mark.parametrize("patterns", PATTERNS)
def test_dockerignore_agrees_with_docker_build(
    dockerd: Dockerd, base_image: str, tmp_path: Path, patterns: str
) -> None:
    context = write_tree(
        tmp_path,
        {
            **{name: f"{name}\n" for name in FILES},
            ".dockerignore": patterns + "\n",
            "Dockerfile": f"FROM {base_image}\nCOPY . /ctx/\n",
        },
    )
    copied = _in_image(dockerd, context, "buildguard-test/lint-dockerignore:1")
    ours = dockerignore_for(discover([context]), "Dockerfile", ".")
    expected = {name for name in FILES if not ours.ignores(name)}
    assert copied - {"Dockerfile", ".dockerignore"} == expected, patterns
