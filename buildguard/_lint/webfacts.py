"""What the repository's own files say about the web app, read once per workspace: the URL
literals of its sources and bundles, the nginx configs, the Kubernetes objects.

Shared by the nginx, Ingress and URL rules (NG004 needs the bundle's API calls and the
Ingresses; the URL rules need the literals), each parse cached by :meth:`Workspace.parsed`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path, PurePosixPath

from buildguard._lint import ingressmodel, jsurls, nginxconf, yamlfile
from buildguard._lint.workspace import Workspace, WorkspaceFile

SCRIPT_SUFFIXES = (".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs")


def project_dir(path: str) -> str:
    """The folder a source file's project lives in (the one holding ``src/``)."""
    parts = PurePosixPath(path).parts
    if "src" in parts[:-1]:
        index = len(parts) - 1 - parts[::-1].index("src")
        return "/".join(parts[:index]) or "."
    return str(PurePosixPath(path).parent)


def env_for(workspace: Workspace, path: str) -> dict[str, str]:
    """The production env values the project of ``path`` sees (its ``.env*`` files)."""
    folder = project_dir(path)
    files = {}
    for name in jsurls.ENV_FILES:
        found = workspace.get(name if folder == "." else f"{folder}/{name}", "env-file")
        if found is not None:
            files[name] = found.text
    return jsurls.env_values(files)


def literals(workspace: Workspace, file: WorkspaceFile) -> list[jsurls.UrlLiteral]:
    """The URL literals of one source or bundle script (none for other files)."""
    if not file.path.lower().endswith(SCRIPT_SUFFIXES):
        return []

    def read() -> list[jsurls.UrlLiteral]:
        env = env_for(workspace, file.path) if file.kind == "source" else {}
        return jsurls.url_literals(file.path, file.text, env)

    return workspace.derived(("url-literals", file.path), read)


def script_files(workspace: Workspace) -> list[WorkspaceFile]:
    return [
        f for f in workspace.of_kind("source", "bundle") if f.path.lower().endswith(SCRIPT_SUFFIXES)
    ]


@cache
def _nginx_reader(root: Path) -> Callable[[WorkspaceFile], nginxconf.NginxConfig]:
    def read(file: WorkspaceFile) -> nginxconf.NginxConfig:
        return nginxconf.read_config(root, file.path)

    return read


def nginx_configs(workspace: Workspace) -> list[nginxconf.NginxConfig]:
    reader = _nginx_reader(workspace.root)
    found = [workspace.parsed(f, reader) for f in workspace.of_kind("nginx")]
    return [c for c in found if c is not None]


def cluster(workspace: Workspace) -> ingressmodel.Cluster:
    """The Kubernetes objects of every file lint read, once per workspace."""

    def read() -> ingressmodel.Cluster:
        pairs = []
        for f in workspace.of_kind("kubernetes"):
            docs = workspace.parsed(f, yamlfile.load_templated_documents)
            if docs is not None:
                pairs.append((f.path, docs))
        return ingressmodel.read_cluster(pairs)

    return workspace.derived("cluster", read)
