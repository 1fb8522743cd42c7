"""The simple commands of a shell script, each with the folder it runs in.

Enough of POSIX shell for a pipeline's steps: backslash-newline continuations, ``&&``,
``||``, ``;``, ``|``, ``&``, comments, quotes (``shlex``), ``VAR=value`` prefixes, ``cd``
(which moves the commands after it), and ``sh -c '...'`` read as the script it runs. It
never runs anything; a line ``shlex`` cannot split is split on spaces.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from buildguard._lint.workspace import normalise

_OPERATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")", ";;", "|&"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SHELLS = frozenset({"sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/bash", "ash", "dash", "zsh"})
_WRAPPERS = frozenset({"sudo", "exec", "time", "command", "nohup"})
MAX_DEPTH = 4


@dataclass(frozen=True)
class Command:
    """One simple command: its words and the folder (relative to the root) it runs in;
    ``dir`` is None when the folder lies outside the workspace or cannot be known."""

    argv: tuple[str, ...]
    dir: str | None
    line: int = 0
    """0-based line of the script it came from"""


def join_dir(base: str | None, path: str) -> str | None:
    """``path`` (relative, or absolute under ``/workspace``) from ``base``, as a root path."""
    if base is None or "$" in path or "`" in path:
        return None
    if path.startswith("/"):
        if path == "/workspace" or path.startswith("/workspace/"):
            return normalise(path[len("/workspace") :] or ".")
        return None
    return normalise(f"{base}/{path}")


def _words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:
        return line.split()


def _logical_lines(script: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(script.splitlines()):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        lines.append((start, pending + raw))
        pending = ""
    if pending:
        lines.append((start, pending))
    return lines


def _strip_prefixes(words: list[str]) -> list[str]:
    while words and (_ASSIGNMENT.match(words[0]) or words[0] in _WRAPPERS):
        words = words[1:]
    if words and words[0] == "env":
        words = words[1:]
        while words and (_ASSIGNMENT.match(words[0]) or words[0].startswith("-")):
            words = words[1:]
    return words


def shell_script(argv: tuple[str, ...]) -> str | None:
    """The script of ``sh -c SCRIPT`` (also ``bash -ec`` and the like), else None."""
    if len(argv) < 3 or argv[0] not in _SHELLS:
        return None
    flag = argv[1]
    if flag.startswith("-") and not flag.startswith("--") and "c" in flag:
        return argv[2]
    return None


def commands(script: str, dir: str | None, *, depth: int = 0) -> list[Command]:
    """The simple commands of ``script`` run from ``dir``, in order."""
    found: list[Command] = []
    cwd = dir
    for number, line in _logical_lines(script):
        current: list[str] = []
        for word in [*_words(line), ";"]:
            if word not in _OPERATORS:
                current.append(word)
                continue
            cwd = _one(_strip_prefixes(current), cwd, number, found, depth)
            current = []
    return found


def _one(
    words: list[str], cwd: str | None, line: int, found: list[Command], depth: int
) -> str | None:
    """Add one simple command to ``found``; return the folder the next command runs in."""
    if not words:
        return cwd
    if words[0] in ("cd", "pushd"):
        target = next((w for w in words[1:] if not w.startswith("-")), None)
        return join_dir(cwd, target) if target is not None else cwd
    inner = shell_script(tuple(words))
    if inner is not None and depth < MAX_DEPTH:
        found.extend(commands(inner, cwd, depth=depth + 1))
        return cwd
    found.append(Command(tuple(words), cwd, line))
    return cwd


def argv_commands(argv: tuple[str, ...], dir: str | None) -> list[Command]:
    """A step given as words (Cloud Build's ``entrypoint`` + ``args``): one command, or the
    commands of the script when the words are ``sh -c SCRIPT``."""
    inner = shell_script(argv)
    if inner is not None:
        return commands(inner, dir)
    words = _strip_prefixes(list(argv))
    return [Command(tuple(words), dir)] if words else []
