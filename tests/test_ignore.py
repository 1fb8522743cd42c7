"""The gitignore pre-check never changes a verdict: same answers as pathspec, on any input."""

from __future__ import annotations

import pathspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildguard._internal.ignore import (
    FolderChecks,
    IgnoreRules,
    _has_top_level_alternation,
    _position_free,
)

VITE_GITIGNORE = """\
logs
*.log
npm-debug.log*
node_modules
dist
dist-ssr
*.local
.vscode/*
!.vscode/extensions.json
.idea
.DS_Store
*.sw?
coverage/
/build
src/**/generated/
""".splitlines()

VITE_RULES = IgnoreRules(VITE_GITIGNORE)
VITE_SPEC = pathspec.GitIgnoreSpec.from_lines(VITE_GITIGNORE, backend="simple")

# glob and regex characters, so pathspec's regexes hold every construct it writes
LINE = st.text(alphabet="ab/*?[]!\\#. -^$()|+{}P<>=:", min_size=0, max_size=12)
SEGMENT = st.text(alphabet="ab.-*?[]\\!#()|P<> \udcff", min_size=1, max_size=6)
PATH = st.lists(SEGMENT, min_size=1, max_size=4).map("/".join) | st.sampled_from(
    [
        "a.log",
        "x/node_modules/",
        "dist/",
        ".vscode/extensions.json",
        "src/a/generated/",
        "build",
        "build/",
        "a/build",
        "keep.log",
    ]
)


def pathspec_verdict(lines: list[str], path: str) -> bool | None:
    return pathspec.GitIgnoreSpec.from_lines(lines, backend="simple").check_file(path).include


@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")
@settings(derandomize=True, max_examples=700, deadline=None)
@given(st.lists(LINE, max_size=6), st.lists(PATH, min_size=1, max_size=5))
def test_same_verdict_as_pathspec(lines: list[str], paths: list[str]) -> None:
    try:
        expected = [pathspec_verdict(lines, path) for path in paths]
    except Exception:  # pathspec refuses the pattern: so must we
        with pytest.raises(Exception):  # noqa: B017
            IgnoreRules(lines)
        return
    rules = IgnoreRules(lines)
    assert [rules.verdict(path) for path in paths] == expected


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.lists(PATH, min_size=1, max_size=20))
def test_same_verdict_on_a_real_gitignore(paths: list[str]) -> None:
    assert [VITE_RULES.verdict(p) for p in paths] == [
        VITE_SPEC.check_file(p).include for p in paths
    ]


def test_the_pre_check_is_built_for_real_gitignores() -> None:
    """Else every path would go through pathspec's slow loop (a speed matter only)."""
    assert IgnoreRules(VITE_GITIGNORE)._precheck is not None
    assert IgnoreRules(["a(?P<x>b"])._precheck is not None  # escaped by pathspec: no group
    # `(?P<` inside a character class is not a group: the union is not provably the same
    odd = IgnoreRules(["[(?P<q>]x"])
    assert odd._precheck is None
    assert odd.verdict("(x") is True and odd.verdict("ax") is None


@pytest.mark.parametrize(
    ("regex", "top"),
    [
        ("a|b", True),
        ("(a|b)", False),
        ("[|]", False),
        ("\\|", False),
        ("[]|]", False),
        ("[^]|]x", False),
        ("a(?:b)|c", True),
        ("\\\\|a", True),
    ],
)
def test_top_level_alternation(regex: str, top: bool) -> None:
    assert _has_top_level_alternation(regex) is top


FOLDER = st.lists(
    st.sampled_from(["a", "b", "x y", "node_modules", "dist", "\udcff"]), min_size=0, max_size=3
)
FOLDER_LINE = LINE | st.sampled_from(
    [
        "/b",
        "b",
        "b/",
        "/x y/b",
        "x y/b",
        "*",
        "!b",
        "!/b",
        "a/**/b",
        "**/b",
        "/a",
        "dist/",
        "*.js",
        "!*.js",
    ]
)
NAME = SEGMENT | st.sampled_from(["a", "b", "x y", "c.js", "dist", "\udcff.js"])


@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")
@settings(derandomize=True, max_examples=800, deadline=None)
@given(
    FOLDER,
    st.lists(st.tuples(st.integers(0, 3), st.lists(FOLDER_LINE, max_size=4)), max_size=3),
    st.lists(st.tuples(NAME, st.booleans()), min_size=1, max_size=6),
)
def test_folder_checks_give_the_verdict_of_every_gitignore_in_turn(
    folder: list[str], levels: list[tuple[int, list[str]]], entries: list[tuple[str, bool]]
) -> None:
    """A .gitignore at several depths of the folder (the deeper later), then the excludes."""
    rel_dir = "".join(f"{part}/" for part in folder)
    try:
        stack = tuple(
            ("".join(f"{part}/" for part in folder[: min(depth, len(folder))]), IgnoreRules(lines))
            for depth, lines in sorted(levels, key=lambda level: level[0])
        )
        specs = [
            (base, pathspec.GitIgnoreSpec.from_lines(lines, backend="simple"))
            for (base, _), (_, lines) in zip(stack, sorted(levels, key=lambda x: x[0]), strict=True)
        ]
    except Exception:
        return  # patterns pathspec refuses are covered above
    checks = FolderChecks(rel_dir, stack)
    for name, is_dir in entries:
        verdict = None
        for base, spec in specs:
            result = spec.check_file((rel_dir + name)[len(base) :] + ("/" if is_dir else ""))
            if result.include is not None:
                verdict = result.include
        assert checks.ignored(name, is_dir) is bool(verdict)


@pytest.mark.parametrize(
    ("body", "free"),
    [
        ("a/b", True),
        ("(?:.+/)?x$", True),
        ("[^/]*", True),
        ("^a", False),
        ("\\Aa", False),
        ("\\ba", False),
        ("(?<=/)a", False),
        ("\\^a", True),
        ("[\\^]a", True),
    ],
)
def test_position_free(body: str, free: bool) -> None:
    assert _position_free(body) is free
