"""FILE_EXTRA on hand-made trees (issue 20): a base image's file is named as such with both
fixes in its hint; ``--allow-extra GLOB`` allows exactly the extras git would match.

The glob matching is checked against git itself (``git check-ignore --no-index`` on a
``.gitignore`` at the bundle root), so "gitignore-style" means what git means.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from clitools import buildguard_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from test_checks import EXPECT, FILES, LAYERS, STARTED, Entry, codes, sealed

from buildguard import Expectations
from buildguard._checks.checks import check_image
from buildguard._checks.extras import ExtraAllowance, glob_for
from buildguard.errors import UsageError
from buildguard.models import Finding

OLD = int((STARTED - timedelta(days=90)).timestamp())


def with_base_pages() -> tuple[dict[str, Entry], dict[str, bytes]]:
    """A bundle copied (layer 1) over a folder a base layer (0) filled, as the official
    nginx image's /usr/share/nginx/html: index.html overwritten, 50x.html kept."""
    tree, raw, _ = sealed(FILES)
    tree["/app/dist/50x.html"] = Entry("file", 5, "0" * 64, OLD, 0)
    return tree, raw


def extras(findings: list[Finding]) -> dict[str, Finding]:
    return {f.path or "": f for f in findings if f.code == "FILE_EXTRA"}


def test_a_base_image_file_names_its_layer_and_both_fixes() -> None:
    tree, raw = with_base_pages()
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT)
    assert codes(findings) == ["FILE_EXTRA"]  # no FILE_STALE: the base's age is no evidence
    extra = extras(findings)["/app/dist/50x.html"]
    assert extra.severity == "error" and extra.layer == 0
    assert "came from layer 0 (/bin/sh -c #(nop) ADD)" in extra.message
    assert "below layer 1 (/bin/sh -c #(nop) COPY dir:abc in /app/dist)" in extra.message
    assert "base image" in extra.message
    assert extra.hint is not None
    assert "RUN rm -rf /app/dist/* before the COPY" in extra.hint
    assert "--allow-extra 50x.html" in extra.hint


def test_a_name_that_is_not_utf8_gets_a_typeable_glob_and_a_bundle_at_root_no_rm() -> None:
    tree, raw = with_base_pages()
    tree["/app/dist/caf\udce9.html"] = Entry("file", 1, "3" * 64, OLD, 0)
    report_findings = check_image(tree, raw, LAYERS, EXPECT)[1]
    extra = extras(report_findings)["/app/dist/caf\\xe9.html"]
    assert extra.hint is not None and "--allow-extra 'caf?.html' if caf\\xe9.html" in extra.hint
    extra.model_dump_json()  # the hint is text a report can hold
    assert ExtraAllowance(("caf?.html",)).allows("caf\udce9.html")
    rooted = {p.removeprefix("/app/dist"): e for p, e in tree.items() if p != "/app/dist"}
    manifest = {"/buildguard-manifest.json": raw["/app/dist/buildguard-manifest.json"]}
    at_root = extras(check_image(rooted, manifest, LAYERS, EXPECT)[1])["/50x.html"]
    assert at_root.hint == "pass --allow-extra 50x.html if 50x.html is meant to be served"


def test_an_extra_of_the_bundle_layer_gets_the_allow_extra_fix_only() -> None:
    tree, raw, _ = sealed(FILES)
    tree["/app/dist/assets/old-chunk.js"] = Entry("file", 3, "1" * 64, OLD, 1)
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT)
    assert codes(findings) == ["FILE_EXTRA", "FILE_STALE"]
    extra = extras(findings)["/app/dist/assets/old-chunk.js"]
    assert "below" not in extra.message and "written by layer 1" in extra.message
    assert extra.hint is not None and "rm -rf" not in extra.hint
    assert "--allow-extra assets/old-chunk.js" in extra.hint


@pytest.mark.parametrize(
    ("allow", "allowed", "failed"),
    [
        (True, {"50x.html", "assets/old.js", "assets/sub/x.js"}, set()),
        (("50x.html",), {"50x.html"}, {"assets/old.js", "assets/sub/x.js"}),
        (("other.html",), set(), {"50x.html", "assets/old.js", "assets/sub/x.js"}),
        (("assets/*.js",), {"assets/old.js"}, {"50x.html", "assets/sub/x.js"}),
        (("assets/",), {"assets/old.js", "assets/sub/x.js"}, {"50x.html"}),
        (("*.js", "!x.js"), {"assets/old.js"}, {"50x.html", "assets/sub/x.js"}),
        (("50x.html", "**/x.js"), {"50x.html", "assets/sub/x.js"}, {"assets/old.js"}),
        ((), set(), {"50x.html", "assets/old.js", "assets/sub/x.js"}),
    ],
)
def test_allow_extra_globs_allow_only_the_matching_extras(
    allow: bool | tuple[str, ...], allowed: set[str], failed: set[str]
) -> None:
    tree, raw = with_base_pages()
    tree["/app/dist/assets/old.js"] = Entry("file", 3, "1" * 64, OLD, 1)
    tree["/app/dist/assets/sub/x.js"] = Entry("file", 3, "2" * 64, OLD, 1)
    bundles, findings, _ = check_image(tree, raw, LAYERS, EXPECT, allow_extra=allow)
    found = {path.removeprefix("/app/dist/"): f for path, f in extras(findings).items()}
    assert {p for p, f in found.items() if f.severity == "info"} == allowed
    assert {p for p, f in found.items() if f.severity == "error"} == failed
    assert bundles[0].ok is (not failed)
    for path in allowed:
        assert found[path].hint is None and "(allowed by --allow-extra" in found[path].message
    stale = {f.path for f in findings if f.code == "FILE_STALE"}
    assert stale == {f"/app/dist/{p}" for p in failed if p != "50x.html"}


@pytest.mark.parametrize("glob", ["\\", "a\\", "!", "", "#comment", "[", "  "])
def test_a_glob_that_is_no_pattern_is_a_usage_error(glob: str) -> None:
    with pytest.raises(UsageError, match="--allow-extra"):
        Expectations(allow_extra=("50x.html", glob))
    tree, raw = with_base_pages()
    with pytest.raises(UsageError):
        check_image(tree, raw, LAYERS, EXPECT, allow_extra=(glob,))


def test_expectations_take_a_list_as_a_tuple_and_refuse_a_bare_string() -> None:
    assert Expectations(allow_extra=["50x.html"]).allow_extra == ("50x.html",)  # type: ignore[arg-type]
    assert Expectations(allow_extra=True).allow_extra is True
    with pytest.raises(UsageError, match="not a single string"):
        Expectations(allow_extra="50x.html")  # type: ignore[arg-type]


# --------------------------------------------------------------- against git itself

GLOBS = [
    "50x.html",
    "/50x.html",
    "*.html",
    "config/*.json",
    "config/",
    "**/x.js",
    "assets/**",
    "a/**/b.js",
    "*.js\n!keep.js",
    "[0-9]*.html",
    "?0x.html",
    "sub/50x.html",
]
PATHS = [
    "50x.html",
    "sub/50x.html",
    "index.html",
    "config/a.json",
    "config/deep/a.json",
    "x.js",
    "assets/x.js",
    "assets/deep/y.css",
    "a/b.js",
    "a/q/r/b.js",
    "keep.js",
    "lib/keep.js",
    "other.html",
]


def git_matches(tmp_path: Path, lines: list[str], paths: list[str]) -> set[str]:
    git = shutil.which("git")
    assert git, "git is needed (apt-get install git)"
    repo = tmp_path / "repo"
    if not repo.exists():
        repo.mkdir()
        subprocess.run([git, "init", "-q", str(repo)], check=True, capture_output=True)
    (repo / ".gitignore").write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [git, "-C", str(repo), "check-ignore", "--no-index", "--stdin", "-z", "-v", "-n"],
        input="".join(p + "\0" for p in paths).encode("utf-8", "surrogateescape"),
        capture_output=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    fields = done.stdout.decode("utf-8", "surrogateescape").split("\0")
    matched = set()
    for source, _, pattern, path in zip(*[iter(fields[:-1])] * 4, strict=True):
        if source and not pattern.startswith("!"):
            matched.add(path)
    return matched


@pytest.mark.parametrize("glob", GLOBS)
def test_globs_match_what_git_matches(glob: str, tmp_path: Path) -> None:
    lines = glob.split("\n")
    allowance = ExtraAllowance(tuple(lines))
    assert {p for p in PATHS if allowance.allows(p)} == git_matches(tmp_path, lines, PATHS)


NAME = st.text(alphabet="ab.-_*?[]\\!# \udcff", min_size=1, max_size=6).filter(
    lambda s: s not in (".", "..") and not s.endswith(" ")
)


@settings(derandomize=True, max_examples=150, deadline=None)
@given(st.lists(NAME, min_size=1, max_size=3).map("/".join))
def test_the_hinted_glob_matches_its_file_for_git_and_for_us(relative: str) -> None:
    glob = shlex.split(glob_for(relative))[0]
    assert ExtraAllowance((glob,)).allows(relative)
    with tempfile.TemporaryDirectory() as tmp:
        assert git_matches(Path(tmp), [glob], [relative]) == {relative}


# ------------------------------------------------------------------ the command line


def test_a_bad_glob_is_exit_2_before_the_image_is_read(tmp_path: Path) -> None:
    missing = f"oci-layout:{tmp_path / 'no-such-layout'}"
    done = buildguard_cli(
        "verify", missing, "--allow-extra", "a\\", "--expect-build-id", "b-123456", cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert "--allow-extra 'a\\\\'" in done.stderr and "hint:" in done.stderr
    # a readable flag and the same missing layout: exit 3, so the 2 above came from the glob
    done = buildguard_cli(
        "verify",
        missing,
        "--allow-extra",
        "50x.html",
        "--expect-build-id",
        "b-123456",
        cwd=tmp_path,
    )
    assert done.returncode == 3, done.stderr


def test_a_glob_taken_for_the_image_says_where_to_put_it(tmp_path: Path) -> None:
    done = buildguard_cli("verify", "--allow-extra", "127.0.0.1:5000/app:1", cwd=tmp_path)
    assert done.returncode == 2
    assert "--allow-extra took '127.0.0.1:5000/app:1' as its GLOB" in done.stderr
    assert "--allow-extra=GLOB" in done.stderr
