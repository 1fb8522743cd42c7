"""Ignore-file rules: BG-IGN001 (``.gcloudignore`` uploads a local build output that
``.gitignore`` keeps out of Git) and BG-IGN002 (``.gcloudignore`` keeps the sources out)."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from buildguard._internal.ignore import IgnoreRules, rules_for
from buildguard._lint.ignorefiles import GcloudIgnore, gcloudignore_for
from buildguard._lint.outputs import USUAL_OUTPUTS
from buildguard._lint.rule import LintContext, Rule, finding
from buildguard._lint.workspace import Workspace
from buildguard._models.lintreport import LintFinding


def _projects(workspace: Workspace, folder: str) -> list[str]:
    """Folders holding a package.json at or under ``folder``, relative to ``folder``."""
    found = []
    for package in workspace.of_kind("package-json"):
        directory = posixpath.dirname(package.path) or "."
        if folder == ".":
            found.append(directory)
        elif directory == folder or directory.startswith(f"{folder}/"):
            found.append(posixpath.relpath(directory, folder))
    if not found and workspace.get(posixpath.join(folder, "package.json")) is not None:
        found.append(".")
    return sorted(set(found))


def _join(project: str, name: str) -> str:
    return name if project == "." else f"{project}/{name}"


def _gitignore(workspace: Workspace, folder: str) -> IgnoreRules | None:
    """The ``.gitignore`` of ``folder``, read as ``record`` reads one."""
    file = workspace.get(posixpath.join(folder, ".gitignore"), "gitignore")
    return rules_for(tuple(file.lines)) if file is not None else None


def _ign001(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    for file in workspace.of_kind("gcloudignore"):
        folder = posixpath.dirname(file.path) or "."
        rules = gcloudignore_for(workspace, folder)
        gitignore = _gitignore(workspace, folder)
        if rules.includes_gitignore or gitignore is None:
            continue
        uploaded = [
            _join(project, name)
            for project in _projects(workspace, folder)
            for name in USUAL_OUTPUTS
            if gitignore.verdict(_join(project, name) + "/") is True
            and not rules.ignores(_join(project, name), is_dir=True)
        ]
        if uploaded:
            names = ", ".join(f"{u}/" for u in uploaded)
            yield finding(
                IGN001,
                file,
                1,
                f"{file.path} has no `#!include:.gitignore` and does not exclude {names}, "
                f"which {_join(folder, '.gitignore')} ignores: `gcloud builds "
                "submit` uploads the local, possibly stale, build output with the sources",
                "add `#!include:.gitignore` to .gcloudignore (or list the output folders)",
            )


def _blame(rules: GcloudIgnore, path: str, *, is_dir: bool) -> int:
    """The line of the last pattern that on its own leaves ``path`` out."""
    line = 1
    for pattern in rules.patterns:
        alone = GcloudIgnore(rules.folder, rules.file, (pattern,), False)
        if not pattern.negated and alone.ignores(path, is_dir=is_dir):
            line = pattern.line
    return line


def _ign002(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    for file in workspace.of_kind("gcloudignore"):
        folder = posixpath.dirname(file.path) or "."
        rules = gcloudignore_for(workspace, folder)
        for project in _projects(workspace, folder):
            left_out: list[tuple[str, bool]] = []
            package = _join(project, "package.json")
            if rules.ignores(package, is_dir=False):
                left_out.append((package, False))
            source = _join(project, "src")
            if workspace.exists(posixpath.join(folder, source)) and rules.ignores(
                source, is_dir=True
            ):
                left_out.append((source, True))
            if not left_out:
                continue
            names = " and ".join(f"{p}/" if d else p for p, d in left_out)
            yield finding(
                IGN002,
                file,
                _blame(rules, left_out[0][0], is_dir=left_out[0][1]),
                f"{file.path} leaves {names} out of the upload: the cloud build cannot build "
                "the bundle, so only output built beforehand (and possibly stale) reaches "
                "the image",
                "upload the sources and build in the pipeline; exclude node_modules/ and the "
                "output folders instead",
            )


IGN001 = Rule(
    id="BG-IGN001",
    severity="error",
    title=".gcloudignore uploads a build output folder that .gitignore ignores",
    help=(
        "`gcloud builds submit` uploads the folder through .gcloudignore only; a "
        ".gcloudignore without `#!include:.gitignore` ignores nothing that .gitignore "
        "ignores, so a local dist/ (built from other sources, hours old) is uploaded and a "
        "Dockerfile's COPY dist ships it. Fix: add `#!include:.gitignore`, or list the "
        "output folders."
    ),
    check=_ign001,
)
IGN002 = Rule(
    id="BG-IGN002",
    severity="error",
    title=".gcloudignore excludes the sources (src/, package.json)",
    help=(
        "With the sources left out of the upload, the cloud build cannot build the bundle, "
        "so only output built beforehand can reach the image. Fix: upload the sources and "
        "build in the pipeline; exclude node_modules/ and the output folders instead."
    ),
    check=_ign002,
)

RULES = (IGN001, IGN002)
