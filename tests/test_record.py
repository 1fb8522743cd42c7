"""record: the source digest, ignore rules, symlinks, --clean, commit and the env file."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from clitools import buildguard_cli

import buildguard
from buildguard._record.recorder import load_record, source_digest
from buildguard.errors import UsageError
from buildguard.models import FileEntry, Record

ENV = {"BUILD_ID": "build-0001"}


def make_tree(root: Path, files: dict[str, bytes], order: list[str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in order or list(files):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
    return root


TREE = {
    "index.html": b"<html></html>\n",
    "src/main.js": b"console.log('hi')\n",
    "src/lib/util.js": b"export const x = 1\n",
    "public/robots.txt": b"User-agent: *\n",
}


def digest_of(root: Path) -> str:
    return buildguard.record(
        root, buildguard.RecordOptions(out=None, env_file=None), environ=ENV
    ).source_digest


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "app", TREE)


def test_same_tree_same_digest_whatever_the_creation_order(tmp_path: Path) -> None:
    a = make_tree(tmp_path / "a", TREE)
    b = make_tree(tmp_path / "b", TREE, order=list(reversed(TREE)))
    assert digest_of(a) == digest_of(b)


def test_digest_ignores_entry_order() -> None:
    entries = [
        FileEntry(path=p, sha256=f"{i:064x}", size=1, mode=0o644, mtime="2026-01-01T00:00:00Z")
        for i, p in enumerate(["b", "a", "c/d", "c"])
    ]
    assert source_digest(entries) == source_digest(list(reversed(entries)))


def test_digest_ignores_mtimes(tree: Path) -> None:
    before = digest_of(tree)
    for path in tree.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
    assert digest_of(tree) == before


def test_one_byte_changes_the_digest(tree: Path) -> None:
    before = digest_of(tree)
    target = tree / "src/lib/util.js"
    data = bytearray(target.read_bytes())
    data[-2] ^= 0x01
    target.write_bytes(bytes(data))
    assert digest_of(tree) != before


def test_one_path_changes_the_digest(tree: Path) -> None:
    before = digest_of(tree)
    (tree / "src/lib/util.js").rename(tree / "src/lib/utils.js")
    assert digest_of(tree) != before


def test_moving_a_file_between_folders_changes_the_digest(tree: Path) -> None:
    before = digest_of(tree)
    (tree / "src/lib/util.js").rename(tree / "src/util.js")
    assert digest_of(tree) != before


def test_exec_bit_changes_the_digest_but_other_mode_bits_do_not(tree: Path) -> None:
    target = tree / "src/main.js"
    target.chmod(0o644)
    before = digest_of(tree)
    target.chmod(0o664)
    assert digest_of(tree) == before, "group write is umask noise, not content"
    target.chmod(0o755)
    assert digest_of(tree) != before


def test_symlinks_are_recorded_as_links_and_never_followed(tmp_path: Path, tree: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not part of the app")
    (tree / "escape").symlink_to(outside)
    (tree / "link.js").symlink_to("src/main.js")
    rec = buildguard.record(tree, buildguard.RecordOptions(out=None, env_file=None), environ=ENV)
    by_path = {f.path: f for f in rec.files}
    assert by_path["escape"].type == "symlink"
    assert by_path["escape"].link_target == str(outside)
    assert by_path["link.js"].link_target == "src/main.js"
    assert not any("secret" in p for p in by_path)
    before = rec.source_digest
    (tree / "link.js").unlink()
    (tree / "link.js").symlink_to("index.html")
    assert digest_of(tree) != before, "a retargeted link is a change"


def test_gitignore_semantics_and_default_excludes(tree: Path) -> None:
    (tree / ".gitignore").write_text("*.log\nbuild/\n!keep.log\n")
    (tree / "src/.gitignore").write_text("generated.js\n")
    extra = {
        "debug.log": b"x",
        "keep.log": b"kept",
        "build/out.js": b"x",
        "src/generated.js": b"x",
        "generated.js": b"not ignored at the root",
        "node_modules/vite/index.js": b"x",
        ".git/HEAD": b"ref: refs/heads/main\n",
        ".buildguard/record.json": b"{}",
    }
    make_tree(tree, extra)
    rec = buildguard.record(
        tree, buildguard.RecordOptions(out=None, env_file=None, excludes=["public/"]), environ=ENV
    )
    paths = {f.path for f in rec.files}
    assert paths == {
        ".gitignore",
        "src/.gitignore",
        "index.html",
        "src/main.js",
        "src/lib/util.js",
        "keep.log",
        "generated.js",
    }


def test_clean_removes_the_old_output_and_excludes_it(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree)
    make_tree(tree, {"dist/assets/old.js": b"old bundle"})
    rec = buildguard.record(".", buildguard.RecordOptions(clean=["dist"]), environ=ENV)
    assert not (tree / "dist").exists()
    assert rec.cleaned == (str(tree / "dist"),)
    assert all(not f.path.startswith("dist") for f in rec.files)
    # the record and env file are written relative to the current directory
    assert load_record(".buildguard/record.json") == rec


@pytest.mark.parametrize("target", [".", "..", "/"])
def test_clean_refuses_the_source_or_an_ancestor(
    tree: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.chdir(tree)
    with pytest.raises(UsageError, match="refusing to clean"):
        buildguard.record(".", buildguard.RecordOptions(clean=[target]), environ=ENV)
    assert (tree / "src/main.js").exists(), "nothing lost"


def test_build_id_comes_only_from_the_flag_or_env(tree: Path) -> None:
    with pytest.raises(UsageError, match="no build id"):
        buildguard.record(tree, buildguard.RecordOptions(out=None, env_file=None), environ={})
    rec = buildguard.record(
        tree, buildguard.RecordOptions(out=None, env_file=None, build_id="flag-id-1"), environ={}
    )
    assert rec.build_id == "flag-id-1"
    with pytest.raises(UsageError, match="not usable"):
        buildguard.record(
            tree, buildguard.RecordOptions(out=None, env_file=None, build_id="a b"), environ={}
        )


def test_commit_order_flag_env_git_then_warning(tree: Path) -> None:
    rec = buildguard.record(tree, buildguard.RecordOptions(out=None, env_file=None), environ=ENV)
    assert rec.commit is None
    assert any("no commit known" in w for w in rec.warnings)
    env = {**ENV, "COMMIT_SHA": "c0ffee"}
    assert (
        buildguard.record(
            tree, buildguard.RecordOptions(out=None, env_file=None), environ=env
        ).commit
        == "c0ffee"
    )
    rec = buildguard.record(
        tree, buildguard.RecordOptions(out=None, env_file=None, commit="abc123"), environ=env
    )
    assert rec.commit == "abc123"
    git = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    rec = buildguard.record(
        tree, buildguard.RecordOptions(out=None, env_file=None), environ={**ENV, "COMMIT_SHA": ""}
    )
    assert rec.commit == head
    assert rec.warnings == ()


def test_env_file_carries_the_build_id_under_every_name(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree)
    buildguard.record(".", environ={**ENV, "COMMIT_SHA": "abc"})
    env_file = tree / ".buildguard/build.env"
    shell = subprocess.run(
        ["sh", "-c", f"set -a; . {env_file}; set +a; env"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    ).stdout.splitlines()
    for name in (
        "BUILDGUARD_BUILD_ID",
        "VITE_BUILDGUARD_BUILD_ID",
        "REACT_APP_BUILDGUARD_BUILD_ID",
        "NEXT_PUBLIC_BUILDGUARD_BUILD_ID",
    ):
        assert f"{name}=build-0001" in shell
    assert "BUILDGUARD_COMMIT=abc" in shell


def test_record_file_round_trips_and_is_strict(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "rec.json"
    rec = buildguard.record(tree, buildguard.RecordOptions(out=out, env_file=None), environ=ENV)
    assert Record.model_validate_json(out.read_bytes()) == rec
    assert rec.started_at.utcoffset() is not None
    assert '"started_at": "' in out.read_text() and 'Z"' in out.read_text()


def test_digest_is_pinned_to_the_value_of_the_first_release(tmp_path: Path) -> None:
    """Computed by the code before the speed work (commit 7c00826); it must never move."""
    root = tmp_path / "app"
    files = {
        "index.html": (b"<html></html>\n", 0o644),
        "src/main.js": (b"console.log('hi')\n", 0o644),
        "src/run.sh": (b"#!/bin/sh\n", 0o755),
        "public/café.txt": (b"\xe9", 0o600),
        "empty": (b"", 0o644),
    }
    for name, (data, mode) in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
    (root / "link.js").symlink_to("src/main.js")
    assert digest_of(root) == (
        "sha256:e9bb91ae4f6cebc80b94a186c5a2ddde5c2f3c37ca2b56ae6e94c82fe45aa5be"
    )


def _by_hand(entries: list[tuple[bytes, str, bool, bytes]]) -> str:
    digest = hashlib.sha256(b"buildguard-source-digest-v1\n")
    for name, kind, executable, content in sorted(entries):
        sha = hashlib.sha256(content).hexdigest().encode()
        digest.update(
            b"%s\0%s\0%s\0%s\n" % (kind.encode(), name, b"x" if executable else b"-", sha)
        )
    return f"sha256:{digest.hexdigest()}"


def test_names_that_are_not_utf8_are_written_escaped_and_digested_by_their_bytes(
    tmp_path: Path,
) -> None:
    root = tmp_path / "app"
    raw = os.fsencode(root)
    os.makedirs(raw + b"/d\xff")
    contents = {
        b"caf\xe9.js": b"latin-1 name",
        b"a\\b.js": b"a backslash",
        b"x\\xff": b"looks escaped",
        b"d\xff/in.js": b"in a folder",
    }
    for name, data in contents.items():
        with open(raw + b"/" + name, "wb") as handle:
            handle.write(data)
    os.symlink(b"caf\xe9.js", raw + b"/link\xff")
    out = tmp_path / "record.json"
    rec = buildguard.record(root, buildguard.RecordOptions(out=out, env_file=None), environ=ENV)
    by_path = {f.path: f for f in rec.files}
    assert set(by_path) == {"caf\\xe9.js", "a\\\\b.js", "x\\\\xff", "d\\xff/in.js", "link\\xff"}
    assert by_path["link\\xff"].link_target == "caf\\xe9.js"
    assert load_record(out) == rec, "the file is valid JSON and reads back the same"
    expected = _by_hand(
        [(name, "file", False, data) for name, data in contents.items()]
        + [(b"link\xff", "symlink", False, b"caf\xe9.js")]
    )
    assert rec.source_digest == expected
    assert source_digest(rec.files) == expected


def test_record_cli_with_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    with open(os.fsencode(root) + b"/caf\xe9.js", "wb") as handle:
        handle.write(b"x")
    done = buildguard_cli("record", ".", cwd=root, env=ENV)
    assert done.returncode == 0, done.stderr
    assert "caf\\\\xe9.js" in (root / ".buildguard/record.json").read_text()
