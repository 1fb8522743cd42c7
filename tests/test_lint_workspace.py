"""What lint finds in a repository (DESIGN's file kinds), and how it is given paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from linttree import write_tree

from buildguard._lint.workspace import discover
from buildguard.errors import UsageError

REPO = {
    "cloudbuild.yaml": "steps: []\n",
    "cloudbuild-prod.yml": "steps: []\n",
    ".github/workflows/ci.yml": "on: push\njobs: {}\n",
    "Dockerfile": "FROM nginx\n",
    "deploy/web.dockerfile": "FROM nginx\n",
    "Dockerfile.dev": "FROM node\n",
    "web.Dockerfile.dockerignore": "dist\n",
    ".dockerignore": "node_modules\n",
    ".gcloudignore": ".git\n",
    ".gitignore": "dist/\n",
    "nginx/default.conf": "server { listen 80; }\n",
    "nginx/site.conf.template": "server { listen ${PORT}; }\n",
    "nginx-combined.conf": "events {}\n",
    "k8s/all.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n",
    "k8s/values.yaml": "replicas: 2\n",  # YAML that is not Kubernetes: not read
    "package.json": "{}\n",
    "vite.config.ts": "export default {}\n",
    "angular.json": "{}\n",
    ".env.production": "VITE_API=/api\n",
    "src/api/client.ts": "fetch('/api/v5/x')\n",
    "src/styles.css": "a{}\n",  # not a source lint reads
    "dist/assets/index-1.js": "fetch('/api')\n",
    "dist/index.html": "<script></script>\n",
    "dist/assets/index-1.css": "a{}\n",
    "node_modules/x/Dockerfile": "FROM x\n",
    "node_modules/x/src/a.js": "x\n",
    "README.md": "# hi\n",
}


def test_discover_finds_every_kind_and_skips_node_modules(tmp_path: Path) -> None:
    workspace = discover([write_tree(tmp_path, REPO)])
    assert {f.path: f.kind for f in workspace.files} == {
        "cloudbuild.yaml": "cloudbuild",
        "cloudbuild-prod.yml": "cloudbuild",
        ".github/workflows/ci.yml": "github-actions",
        "Dockerfile": "dockerfile",
        "deploy/web.dockerfile": "dockerfile",
        "Dockerfile.dev": "dockerfile",
        "web.Dockerfile.dockerignore": "dockerignore",
        ".dockerignore": "dockerignore",
        ".gcloudignore": "gcloudignore",
        ".gitignore": "gitignore",
        "nginx/default.conf": "nginx",
        "nginx/site.conf.template": "nginx",
        "nginx-combined.conf": "nginx",
        "k8s/all.yaml": "kubernetes",
        "package.json": "package-json",
        "vite.config.ts": "vite-config",
        "angular.json": "angular-json",
        ".env.production": "env-file",
        "src/api/client.ts": "source",
        "dist/assets/index-1.js": "bundle",
        "dist/index.html": "bundle",
    }


def test_a_sealed_bundle_anywhere_is_a_bundle(tmp_path: Path) -> None:
    files = {"public/app/buildguard-manifest.json": "{}", "public/app/main.js": "x"}
    workspace = discover([write_tree(tmp_path, files)])
    assert [(f.path, f.kind) for f in workspace.files] == [("public/app/main.js", "bundle")]


def test_files_named_directly_are_read_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"ci/build.yaml": "steps:\n  - name: x\n", "Containerfile": "FROM a\n"})
    monkeypatch.chdir(tmp_path)
    workspace = discover([Path("ci/build.yaml"), Path("Containerfile")])
    assert workspace.root == Path(os.getcwd())
    assert [(f.path, f.kind) for f in workspace.files] == [
        ("Containerfile", "dockerfile"),  # sniffed: a FROM line
        ("ci/build.yaml", "cloudbuild"),  # sniffed: a steps: list
    ]


def test_a_missing_path_or_a_file_of_no_known_kind_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        discover([tmp_path / "nope"])
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(UsageError, match="not a kind of file lint reads"):
        discover([tmp_path / "notes.txt"])


def test_get_reads_any_file_under_the_root_but_never_outside(tmp_path: Path) -> None:
    write_tree(tmp_path, {"repo/deploy/web.containerfile": "FROM a\n", "secret.txt": "x\n"})
    workspace = discover([tmp_path / "repo"])
    assert workspace.files == ()
    found = workspace.get("./deploy/../deploy/web.containerfile", "dockerfile")
    assert found is not None and found.path == "deploy/web.containerfile"
    assert workspace.get("../secret.txt") is None
    (tmp_path / "repo" / "link").symlink_to(tmp_path / "secret.txt")
    assert workspace.get("link") is None
    assert workspace.get("notes/build.sh") is None
    (tmp_path / "repo" / "build.sh").write_text("npm run build\n")
    assert workspace.get("build.sh") is not None  # read, but no kind lint lists
    assert [f.path for f in workspace.read_files()] == ["deploy/web.containerfile"]


def test_discover_follows_no_link_out_of_the_root(tmp_path: Path) -> None:
    write_tree(tmp_path, {"outside/Dockerfile": "FROM secret\n", "repo/Dockerfile": "FROM a\n"})
    (tmp_path / "repo" / "web.dockerfile").symlink_to(tmp_path / "outside" / "Dockerfile")
    (tmp_path / "repo" / "same.dockerfile").symlink_to(tmp_path / "repo" / "Dockerfile")
    (tmp_path / "repo" / "loop.dockerfile").symlink_to(tmp_path / "repo" / "loop.dockerfile")
    workspace = discover([tmp_path / "repo"])
    assert [f.path for f in workspace.files] == ["Dockerfile", "same.dockerfile"]


def test_a_file_and_a_relative_folder_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lint cloudbuild.yaml app/` from the repository (the root is the current folder)."""
    write_tree(tmp_path, {"cloudbuild.yaml": "steps: []\n", "app/Dockerfile": "FROM a\n"})
    monkeypatch.chdir(tmp_path)
    workspace = discover([Path("cloudbuild.yaml"), Path("app")])
    assert [f.path for f in workspace.files] == ["app/Dockerfile", "cloudbuild.yaml"]
