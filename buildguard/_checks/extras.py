"""What ``--allow-extra`` allows: every extra file, or those matching gitignore-style globs.

The globs are matched by pathspec's ``GitIgnoreSpec`` (the gitignore reading ``record``
already uses, see :mod:`buildguard._internal.ignore`) against the path relative to the
bundle root: ``50x.html`` matches that name at any depth, ``config/*.json`` only under the
root's ``config``, ``!keep.txt`` takes a file back. A glob that pathspec refuses, or that
is no pattern at all (empty, a comment, an unclosed ``[``), is a usage error: a typo must
not silently allow nothing.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

from buildguard.errors import UsageError

if TYPE_CHECKING:
    import pathspec

AllowExtra = bool | tuple[str, ...]
"""``True``: every extra file is allowed; a tuple: the extras matching those globs."""

_GLOB_SPECIAL = re.compile(r"[\\*?\[]")
_UNDECODABLE = re.compile("[\udc80-\udcff]")


@functools.lru_cache(maxsize=16)
def _spec(globs: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    """The spec of ``globs``, each checked to be a pattern (built once per set of globs:
    ``Expectations`` checks them, the file checks match with them)."""
    import pathspec  # only when globs are given: a verify without them never loads it

    for glob in globs:
        try:
            one = pathspec.GitIgnoreSpec.from_lines([glob], backend="simple")
        except (ValueError, TypeError) as exc:  # GitIgnorePatternError is a ValueError
            raise _bad(glob, f"it is not a gitignore pattern ({exc})") from None
        if not any(p.include is not None for p in one.patterns):
            raise _bad(glob, "it is no pattern (empty, a comment, or an unclosed '[')")
    return pathspec.GitIgnoreSpec.from_lines(list(globs), backend="simple")


def _bad(glob: str, why: str) -> UsageError:
    return UsageError(
        f"--allow-extra {glob!r}: {why}",
        hint="give a gitignore-style glob relative to the bundle root, e.g. "
        "--allow-extra 50x.html or --allow-extra 'config/*.json'",
    )


def check_allow_extra(allow: AllowExtra | Sequence[str]) -> AllowExtra:
    """``allow`` as :data:`AllowExtra` (a list becomes a tuple); raises :class:`UsageError`
    for a glob that is not one."""
    if isinstance(allow, bool):
        return allow
    if isinstance(allow, str):
        raise UsageError(
            f"allow_extra={allow!r}: give True or a tuple of globs, not a single string"
        )
    globs = tuple(allow)
    _spec(globs)
    return globs


class ExtraAllowance:
    """The extras one verify allows."""

    __slots__ = ("_spec", "everything", "globs")

    def __init__(self, allow: AllowExtra | Sequence[str]) -> None:
        checked = check_allow_extra(allow)
        self.everything = checked is True
        self.globs: tuple[str, ...] = () if isinstance(checked, bool) else checked
        self._spec = _spec(self.globs) if self.globs else None

    def allows(self, relative: str) -> bool:
        """Whether the extra file at ``relative`` (to its bundle root) is allowed."""
        if self.everything:
            return True
        return self._spec is not None and self._spec.match_file(relative)

    def flag(self) -> str:
        """How the allowance was given, for a message."""
        if self.everything:
            return "--allow-extra"
        return " ".join(f"--allow-extra {shlex.quote(g)}" for g in self.globs)


def glob_for(relative: str) -> str:
    """A gitignore glob that matches ``relative`` (a file's path relative to its bundle
    root) itself, special characters escaped, shell-quoted where a shell would change it:
    what a hint suggests to ``--allow-extra``. A byte of the name that is not UTF-8 becomes
    ``?`` (which matches it)."""
    glob = _GLOB_SPECIAL.sub(lambda m: "\\" + m.group(0), relative)
    # a byte that is not UTF-8 cannot be typed: `?` matches it (one byte, for git too)
    glob = _UNDECODABLE.sub("?", glob)
    if glob.startswith(("!", "#")):
        glob = "\\" + glob
    if glob.endswith(" "):
        glob = glob[:-1] + "\\ "
    return shlex.quote(glob)
