"""The command-line contract of DESIGN.md, rule by rule, through the installed CLI.

Only the rules scripts outside the repo depend on (defaults, exit codes, JSON shape) and that
no other test pins; each test names the rule it holds the code to.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from clitools import buildguard_cli

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = ROOT / "examples/images/layout"
FRESH = f"oci-layout:{LAYOUT}:fresh"
RECORD = str(ROOT / "examples/images/record.json")
FRESH_BUILD = "example-build-0002"
NO_ENV = {"BUILD_ID": "", "COMMIT_SHA": ""}
BUILD_ID = "contract-build-1"


def _git_repo(folder: Path) -> str:
    """A git checkout with one commit in ``folder``; its HEAD."""
    git = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t"]
    (folder / "README").write_text("x\n")
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()


def _json(done: subprocess.CompletedProcess[str]) -> dict:  # type: ignore[type-arg]
    doc = json.loads(done.stdout)
    assert isinstance(doc, dict)
    return doc


# ------------------------------------------------------------------------------ defaults


def test_expect_commit_defaults_to_git_head_where_a_git_checkout_is(tmp_path: Path) -> None:
    """`--expect-commit` defaults to $COMMIT_SHA, then `git rev-parse HEAD` where a .git
    exists: the fresh bundle's commit (b...b) is not this checkout's HEAD, so it fails."""
    head = _git_repo(tmp_path)
    done = buildguard_cli("verify", FRESH, "--json", cwd=tmp_path,
                          env={"BUILD_ID": FRESH_BUILD, "COMMIT_SHA": ""})
    report = _json(done)
    assert report["expected"]["commit"] == head
    assert "COMMIT_MISMATCH" in [f["code"] for f in report["findings"]]
    assert done.returncode == 1
    # $COMMIT_SHA comes first
    done = buildguard_cli("verify", FRESH, "--json", cwd=tmp_path,
                          env={"BUILD_ID": FRESH_BUILD, "COMMIT_SHA": "b" * 40})
    assert done.returncode == 0, done.stderr
    assert _json(done)["expected"]["commit"] == "b" * 40


# ------------------------------------------------------------------------------ seal


def test_exemption_never_counts_a_source_that_lies_under_the_sealed_folder(
    tmp_path: Path,
) -> None:
    """A record entry under the folder being sealed never vouches for an old file, also
    when the whole source tree lies under it (`seal .` with SOURCE_DIR app/)."""
    (tmp_path / "app/src").mkdir(parents=True)
    logo = tmp_path / "app/src/logo.txt"
    logo.write_text("old source\n")
    past = time.time() - 3600
    os.utime(logo, (past, past))
    done = buildguard_cli("record", "app", cwd=tmp_path,
                          env={"BUILD_ID": BUILD_ID, "COMMIT_SHA": "c"})
    assert done.returncode == 0, done.stderr
    (tmp_path / "index.js").write_text(f'const id = "{BUILD_ID}";\n')
    done = buildguard_cli("seal", ".", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "stale: app/src/logo.txt" in done.stderr
    assert not (tmp_path / "buildguard-manifest.json").exists()
