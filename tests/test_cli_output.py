"""Output rules: progress on a terminal only; plain text and clean JSON otherwise."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

from clitools import buildguard_cli, console_script, drain_terminal

ROOT = Path(__file__).resolve().parent.parent
STALE = f"oci-layout:{ROOT / 'examples/images/layout'}:stale"
RECORD = str(ROOT / "examples/images/record.json")
ENV = {"BUILD_ID": "", "COMMIT_SHA": ""}


def test_plain_output_when_not_a_terminal(tmp_path: Path) -> None:
    done = buildguard_cli("verify", STALE, "--record", RECORD, cwd=tmp_path, env=ENV)
    assert done.returncode == 1
    assert done.stdout.startswith("FAIL: ")
    assert "\r" not in done.stdout + done.stderr and "\033" not in done.stdout + done.stderr
    assert "reading layer" not in done.stderr


def test_json_is_the_only_thing_on_stdout(tmp_path: Path) -> None:
    done = buildguard_cli("verify", STALE, "--record", RECORD, "--json", cwd=tmp_path, env=ENV)
    assert done.returncode == 1
    assert json.loads(done.stdout)["ok"] is False
    assert done.stderr.startswith("FAIL: ")
    inspect = buildguard_cli("inspect", STALE, "--json", cwd=tmp_path)
    assert json.loads(inspect.stdout)["manifests"][0]["build_id"] == "example-build-0001"


def test_progress_is_shown_on_a_terminal(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [console_script(), "verify", STALE, "--record", RECORD],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        cwd=tmp_path,
        env={**os.environ, **ENV},
    )
    os.close(follower)
    output = drain_terminal(leader)
    assert proc.wait(timeout=60) == 1
    text = output.decode()
    assert "reading layer 1/1 sha256:" in text
    assert "\r\033[K" in text, "the progress line is cleared before the report"
    assert "FAIL: " in text
