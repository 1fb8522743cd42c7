"""What ``gcloud builds submit`` uploads and what ``docker build`` sends as the context.

``.gcloudignore``: the Cloud SDK's own rules (``googlecloudsdk/command_lib/util/
gcloudignore.py`` and ``glob.py``), reimplemented because no library reads them: patterns
are matched right to left one path part at a time (``fnmatch``), so a pattern without a
leading ``/`` matches at any depth, except a leading ``*`` part, which matches one part;
``**`` matches any number of parts; ``/`` at the end means folders only. For each folder of
a path from the top, then the path itself, the last matching pattern decides (``!``
re-includes), and an ignored folder leaves out all it holds; the upload root itself is
never matched. ``#!include:FILE`` (a file in the same folder) inserts that file's patterns,
one level deep. With no ``.gcloudignore``, gcloud
uses its generated default (``.gcloudignore``, ``.git``, ``.gitignore``, plus
``#!include:.gitignore`` when a ``.gitignore`` exists) if the folder has ``.git`` or
``.gitignore``, and uploads everything otherwise.

``.dockerignore``: moby's patternmatcher rules (patterns cleaned and anchored at the
context root, ``**`` for any folders, the last matching pattern wins, a match on a parent
folder covers what is inside); a ``<Dockerfile>.dockerignore`` beside the Dockerfile wins
over the context's (BuildKit).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass

from buildguard._lint.workspace import Workspace, WorkspaceFile, normalise

DEFAULT_GCLOUDIGNORE = (".gcloudignore", ".git", ".gitignore")
_INCLUDE = "!include:"
_ODD_BACKSLASHES = re.compile(r"(?<!\\)\\(\\\\)*$")


@dataclass(frozen=True)
class GcloudPattern:
    parts: tuple[str, ...]
    negated: bool
    dir_only: bool
    line: int


def _strip_spaces(line: str) -> str:
    """Trailing unescaped spaces removed, escaped spaces unescaped (gcloud's rule)."""
    end = len(line)
    while end > 0 and line[end - 1] == " ":
        backslashes = 0
        i = end - 2
        while i >= 0 and line[i] == "\\":
            backslashes += 1
            i -= 1
        if backslashes % 2:
            break
        end -= 1
    return line[:end].replace("\\ ", " ")


def _unescape(text: str) -> str:
    return re.sub(r"\\([^\\])", r"\1", text).replace("\\\\", "\\")


def _pattern(line: str, number: int) -> GcloudPattern | None:
    negated = line.startswith("!")
    if negated:
        line = line[1:]
    dir_only = line.endswith("/")
    if dir_only:
        line = line[:-1]
    line = _strip_spaces(line)
    if _ODD_BACKSLASHES.search(line):
        return None
    line = _unescape(line)
    if not line:
        return None
    return GcloudPattern(tuple(line.split("/")), negated, dir_only, number)


def _matches(parts: tuple[str, ...], path: tuple[str, ...] | None) -> bool:
    """gcloud's ``Glob._MatchesHelper``: the pattern's parts against the path's, right to
    left (``path`` None: above the root, where only an anchored pattern has parts left)."""
    if not parts:
        return True
    if path is None:
        return False
    last, rest = parts[-1], parts[:-1]
    part, remaining = (path[-1], path[:-1]) if path else ("", None)
    if last == "**":
        anchored = rest if rest[:1] == ("",) else ("", *rest)
        return any(_matches(anchored, path[:i]) for i in range(len(path) + 1))
    if last == "*" and not rest and remaining and len("/".join(remaining)) > 1:
        # a leading `*` is one part only (`*/bar` is not `a/b/bar`); gcloud measures the
        # rest of the path in characters, so a one-character folder slips through
        return False
    if not fnmatch.fnmatchcase(part, last):
        return False
    return _matches(rest, remaining)


@dataclass(frozen=True)
class GcloudIgnore:
    """The upload rules of one folder; ``file`` is None for gcloud's generated default."""

    folder: str
    file: WorkspaceFile | None
    patterns: tuple[GcloudPattern, ...]
    includes_gitignore: bool

    def ignores(self, path: str, *, is_dir: bool) -> bool:
        """Whether ``path`` (relative to :attr:`folder`) is left out of the upload: for each
        of its folders from the top and then itself, the last pattern that matches decides,
        and an ignored folder leaves out everything in it (the root is never matched)."""
        parts = tuple(p for p in path.split("/") if p and p != ".")
        for length in range(1, len(parts) + 1):
            prefix = parts[:length]
            prefix_is_dir = length < len(parts) or is_dir
            verdict = None
            for pattern in self.patterns:
                if pattern.dir_only and not prefix_is_dir:
                    continue
                if _matches(pattern.parts, prefix):
                    verdict = not pattern.negated
            if verdict:
                return True
        return False


def _patterns(
    text: str, workspace: Workspace, folder: str, depth: int
) -> tuple[list[GcloudPattern], bool]:
    found: list[GcloudPattern] = []
    includes_gitignore = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            directive = line[1:].lstrip()
            if directive.startswith(_INCLUDE):
                name = directive[len(_INCLUDE) :]
                if "/" in name or depth > 0:
                    continue
                includes_gitignore = includes_gitignore or name == ".gitignore"
                included = workspace.get(posixpath.join(folder, name))
                if included is not None:
                    found.extend(_patterns(included.text, workspace, folder, depth + 1)[0])
            continue
        stripped = _strip_spaces(line)
        if not stripped or _ODD_BACKSLASHES.search(stripped):
            continue
        pattern = _pattern(line, number)
        if pattern is not None:
            found.append(pattern)
    return found, includes_gitignore


def gcloudignore_for(workspace: Workspace, folder: str) -> GcloudIgnore:
    """What ``gcloud builds submit FOLDER`` leaves out."""
    folder = normalise(folder) or "."
    file = workspace.get(posixpath.join(folder, ".gcloudignore"), "gcloudignore")
    if file is not None:
        patterns, includes = _patterns(file.text, workspace, folder, 0)
        return GcloudIgnore(folder, file, tuple(patterns), includes)
    has_gitignore = workspace.get(posixpath.join(folder, ".gitignore"), "gitignore") is not None
    if not has_gitignore and not workspace.exists(posixpath.join(folder, ".git")):
        return GcloudIgnore(folder, None, (), False)
    text = "\n".join(DEFAULT_GCLOUDIGNORE) + ("\n#!include:.gitignore" if has_gitignore else "")
    patterns, includes = _patterns(text, workspace, folder, 0)
    return GcloudIgnore(folder, None, tuple(patterns), includes)


def _docker_regex(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern[i + 1 : i + 2] == "*":
                i += 1
                if pattern[i + 1 : i + 2] == "/":
                    i += 1
                    out.append("(.*/)?")
                else:
                    out.append(".*")
            else:
                out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    out.append("$")
    try:
        return re.compile("".join(out))
    except re.error:
        return re.compile(re.escape(pattern) + "$")


@dataclass(frozen=True)
class DockerIgnore:
    file: WorkspaceFile | None
    patterns: tuple[tuple[re.Pattern[str], bool], ...]

    def ignores(self, path: str) -> bool:
        """Whether ``path`` (relative to the context) is left out of the context."""
        parts = [p for p in path.split("/") if p and p != "."]
        candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        ignored = False
        for regex, exclusion in self.patterns:
            if any(regex.match(c) for c in candidates):
                ignored = not exclusion
        return ignored


def _docker_patterns(text: str) -> tuple[tuple[re.Pattern[str], bool], ...]:
    found = []
    for raw in text.lstrip("\ufeff").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        if not line:
            continue
        line = posixpath.normpath(line)
        if len(line) > 1 and line.startswith("/"):
            line = line.lstrip("/")
        found.append((_docker_regex(line), exclusion))
    return tuple(found)


def dockerignore_for(workspace: Workspace, dockerfile: str | None, context: str) -> DockerIgnore:
    """The ignore file ``docker build`` applies to ``context`` for ``dockerfile``."""
    candidates = [f"{dockerfile}.dockerignore"] if dockerfile else []
    candidates.append(posixpath.join(context, ".dockerignore"))
    for candidate in candidates:
        file = workspace.get(candidate, "dockerignore")
        if file is not None:
            return DockerIgnore(file, _docker_patterns(file.text))
    return DockerIgnore(None, ())
