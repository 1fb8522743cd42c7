"""Gitignore rules as git applies them, with pathspec deciding and a cheap pre-check.

pathspec's ``GitIgnoreSpec.check_file`` tries every pattern of a spec in Python (~10 µs per
path for a typical frontend ``.gitignore``), and ``record`` asks it about every entry of the
tree for every ``.gitignore`` above it. Almost every answer is "no pattern matches". So each
spec also gets one compiled regex, the alternation of pathspec's *own* pattern regexes: when
it does not match, no pattern matches and the spec has no say; when it matches, pathspec's
``check_file`` gives the verdict as before. The pre-check is built only when it is provably
the same union (see :func:`_union`); otherwise every path goes to pathspec.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import pathspec

# `(?P<name>` whose `(` is not escaped (an even run of backslashes before it)
_NAMED_GROUP = re.compile(r"(?<!\\)((?:\\\\)*)\(\?P<[^>]*>")
_ANY_PREFIX = "^(?:.+/)?"  # pathspec's "at any depth" start of an unanchored pattern


def _has_top_level_alternation(regex: str) -> bool:
    """Whether ``regex`` has a ``|`` outside every group and character class."""
    depth = 0
    i = 0
    n = len(regex)
    while i < n:
        char = regex[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i += 1
            if i < n and regex[i] == "^":
                i += 1
            if i < n and regex[i] == "]":  # a leading ] is a literal
                i += 1
            while i < n and regex[i] != "]":
                i += 2 if regex[i] == "\\" else 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
        i += 1
    return False


def _strip_named_groups(regex: str) -> str | None:
    """``regex`` with each named group made non-capturing, or None when that is not provably
    the same regex (a ``(?P<`` text that is not a group, or a back-reference)."""
    if "(?P=" in regex:
        return None
    try:
        groups = len(re.compile(regex).groupindex)
    except re.error:
        return None
    stripped, count = _NAMED_GROUP.subn(r"\1(?:", regex)
    return stripped if count == groups else None


def _union_body(spec: pathspec.GitIgnoreSpec) -> str | None:
    """A regex ``B`` such that ``^(?:B)`` matches (``.match``) a path exactly when some
    pattern's regex finds it (``.search``, as pathspec does); None when that cannot be built
    safely; ``(?!)`` when no line is a pattern."""
    factored: list[str] = []  # patterns that match at any depth: the shared prefix taken out
    anchored: list[str] = []
    for pattern in spec.patterns:
        if pattern.include is None:
            continue
        compiled = getattr(pattern, "regex", None)
        regex = getattr(compiled, "pattern", None)
        if (
            not isinstance(compiled, re.Pattern)
            or compiled.flags != re.UNICODE
            or not isinstance(regex, str)
            or not regex.startswith("^")
            or _has_top_level_alternation(regex)
        ):
            return None
        plain = _strip_named_groups(regex)
        if plain is None:
            return None
        if plain.startswith(_ANY_PREFIX):
            factored.append(plain[len(_ANY_PREFIX) :])
        else:
            anchored.append(plain[1:])
    branches = [f"(?:{body})" for body in anchored]
    if factored:
        branches.insert(0, "(?:.+/)?(?:" + "|".join(f"(?:{body})" for body in factored) + ")")
    return "|".join(branches) if branches else "(?!)"


def _compile(regex: str) -> re.Pattern[str] | None:
    try:
        return re.compile(regex)
    except re.error:
        return None


def _position_free(body: str) -> bool:
    """Whether ``body`` matches the same wherever its text starts in a longer string: no
    ``^``, ``\\A``, ``\\b``, ``\\B`` or lookbehind (``$`` and ``\\Z`` look at the end,
    which is the same)."""
    i = 0
    n = len(body)
    while i < n:
        char = body[i]
        if char == "\\":
            if body[i + 1 : i + 2] in ("A", "b", "B"):
                return False
            i += 2
            continue
        if char == "[":
            i += 1
            if i < n and body[i] == "^":
                i += 1
            if i < n and body[i] == "]":
                i += 1
            while i < n and body[i] != "]":
                i += 2 if body[i] == "\\" else 1
        elif char == "^" or body.startswith(("(?<=", "(?<!"), i):
            return False
        i += 1
    return True


class IgnoreRules:
    """The patterns of one ``.gitignore`` (or the exclude list), as pathspec reads them."""

    __slots__ = ("_precheck", "_spec", "body", "decides")

    def __init__(self, lines: Sequence[str]) -> None:
        # the pure-Python backend: the same answers on every machine, whatever is installed
        self._spec = pathspec.GitIgnoreSpec.from_lines(list(lines), backend="simple")
        body = _union_body(self._spec)
        self._precheck = None if body is None else _compile(f"^(?:{body})")
        embeddable = body is not None and self._precheck is not None and _position_free(body)
        self.body = body if embeddable else None
        """The pre-check without its anchor, when it may be embedded after other text."""
        self.decides = any(p.include is not None for p in self._spec.patterns)
        """False when no line is a pattern (comments, blank lines): no verdict ever."""

    def verdict(self, path: str) -> bool | None:
        """True: ignored; False: re-included (``!pattern``); None: no pattern matches.

        ``path`` is relative to the rules' folder, with a trailing ``/`` for a folder.
        """
        if self._precheck is not None and self._precheck.match(path) is None:
            return None
        return self._spec.check_file(path).include


@lru_cache(maxsize=256)
def rules_for(lines: tuple[str, ...]) -> IgnoreRules:
    """Compiled once per distinct content (a monorepo repeats the same ``.gitignore``)."""
    return IgnoreRules(lines)


Stack = tuple[tuple[str, IgnoreRules], ...]
"""The rules in force in a folder: ``(folder relative to the root + "/", rules)``, outermost
first; a deeper ``.gitignore`` comes later and so wins."""


class FolderChecks:
    """The ignore rules in force in one folder, asked about each of its entries.

    Each rules object sees the entry's path relative to its own folder, i.e. the full
    relative path minus the first ``len(base)`` characters. One regex per distinct
    combination answers "no rules object has a matching pattern" for all of them at once:
    the alternation, for each, of skipping exactly that many characters and then its
    pre-check. Only when it matches do the rules answer one by one.
    """

    __slots__ = ("_any", "_checks", "_rel_dir")

    def __init__(self, rel_dir: str, stack: Stack) -> None:
        active = tuple((len(base), rules) for base, rules in stack if rules.decides)
        self._rel_dir = rel_dir
        self._checks = [(rel_dir[skip:], rules) for skip, rules in active]
        self._any = _combined(active) if active else None

    def __bool__(self) -> bool:
        return bool(self._checks)

    def ignored(self, name: str, is_dir: bool) -> bool:
        """Git's rule: the last matching pattern of the deepest ``.gitignore`` that has one."""
        suffix = "/" if is_dir else ""
        if self._any is not None and self._any.match(self._rel_dir + name + suffix) is None:
            return False
        verdict: bool | None = None
        for prefix, rules in self._checks:
            result = rules.verdict(prefix + name + suffix)
            if result is not None:
                verdict = result
        return bool(verdict)


@lru_cache(maxsize=512)
def _combined(active: tuple[tuple[int, IgnoreRules], ...]) -> re.Pattern[str] | None:
    branches = []
    for skip, rules in active:
        if rules.body is None:
            return None
        branches.append(f"(?s:.{{{skip}}})(?:{rules.body})" if skip else f"(?:{rules.body})")
    return _compile("^(?:" + "|".join(branches) + ")")
