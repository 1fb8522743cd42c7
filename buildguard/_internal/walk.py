"""Walking a source tree or a bundle folder: regular files and symlinks, never followed.

Names are read as bytes and carried as the internal ``str`` of
:mod:`buildguard._internal.pathescape` (``surrogateescape``), so a name that is not UTF-8 is
kept byte for byte. Folders are listed sorted by name and walked depth first from a stack,
the order record and seal have always written their file lists in.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from buildguard._internal.ignore import FolderChecks, Stack, rules_for
from buildguard._internal.pathescape import decode_name, encode_name, escape, unescape
from buildguard.errors import UsageError

GITIGNORE = ".gitignore"


class Found(NamedTuple):
    name: str  # relative POSIX path, internal form
    path: bytes  # the path to open
    is_link: bool


def as_text(path: bytes | str | os.PathLike[str]) -> str:
    """A path of the file system as models and messages write it (the escaped form)."""
    return escape(decode_name(os.fsencode(path)))


def path_from_text(text: str) -> str:
    """The file system path that :func:`as_text` wrote as ``text``.

    Raises :class:`ValueError` for text that is not in the escaped form.
    """
    return os.fsdecode(encode_name(unescape(text)))


def _listing(directory: bytes, what: str) -> list[tuple[str, os.DirEntry[bytes]]]:
    try:
        with os.scandir(directory) as entries:
            return sorted(
                (entry.name.decode("utf-8", "surrogateescape"), entry) for entry in entries
            )  # decode_name, inlined: once per entry
    except OSError as exc:
        raise UsageError(
            f"cannot list {what} folder {as_text(directory)}: {exc.strerror}",
            hint=f"check the permissions of the {what} tree",
        ) from exc


def _gitignore_lines(entries: list[tuple[str, os.DirEntry[bytes]]]) -> tuple[str, ...] | None:
    for name, entry in entries:
        if name == GITIGNORE:
            if not entry.is_file(follow_symlinks=False):  # a symlink or folder: not read
                return None
            try:
                with open(entry.path, "rb") as handle:
                    text = handle.read().decode("utf-8", errors="replace")
            except OSError:
                return None
            return tuple(text.splitlines())
    return None


def walk_sources(root: str | os.PathLike[str], excludes: Sequence[str]) -> Iterator[Found]:
    """Every regular file and symlink of the source tree that is kept.

    ``.gitignore`` files apply as git applies them; ``excludes`` (gitignore patterns
    relative to ``root``) apply last. Ignored folders are not entered.
    """
    exclude = ("", rules_for(tuple(excludes)))
    stack: list[tuple[str, bytes, Stack]] = [("", os.fsencode(root), ())]
    while stack:
        rel_dir, directory, specs = stack.pop()
        entries = _listing(directory, "source")
        own = _gitignore_lines(entries)
        if own is not None:
            specs = (*specs, (rel_dir, rules_for(own)))
        checks = FolderChecks(rel_dir, (*specs, exclude))
        for name, entry in entries:
            is_dir = entry.is_dir(follow_symlinks=False)
            if checks and checks.ignored(name, is_dir):
                continue
            rel = rel_dir + name
            if is_dir:
                stack.append((rel + "/", entry.path, specs))
            elif entry.is_file(follow_symlinks=False):
                yield Found(rel, entry.path, False)
            elif entry.is_symlink():
                yield Found(rel, entry.path, True)


def walk_bundle(root: str | os.PathLike[str], skip: str) -> Iterator[Found]:
    """Every regular file and symlink under ``root``, except ``skip`` at its top."""
    stack: list[tuple[str, bytes]] = [("", os.fsencode(root))]
    while stack:
        rel_dir, directory = stack.pop()
        for name, entry in _listing(directory, "output"):
            rel = rel_dir + name
            if entry.is_dir(follow_symlinks=False):
                stack.append((rel + "/", entry.path))
            elif rel == skip:
                continue
            elif entry.is_file(follow_symlinks=False):
                yield Found(rel, entry.path, False)
            elif entry.is_symlink():
                yield Found(rel, entry.path, True)
