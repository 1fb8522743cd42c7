"""A crash is never a verdict: exit 4 with one line; ``-v`` shows the traceback; logging."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from buildguard._cli.logs import configure, level_for, redact

ROOT = Path(__file__).resolve().parent.parent
FRESH = f"oci-layout:{ROOT / 'examples/images/layout'}:fresh"
RECORD = str(ROOT / "examples/images/record.json")

# Replaces verify() with a function that fails the way a bug would, then runs the real CLI.
CRASH = """
import importlib, sys
module = importlib.import_module("buildguard._verify.verifier")
def broken(*args, **kwargs):
    raise KeyError("an unexpected key")
module.verify = broken
from buildguard._cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CRASH, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "BUILD_ID": "b-123456", **(env or {})},
        check=False,
    )


def test_unexpected_exception_exits_4_with_one_line() -> None:
    done = _run("verify", FRESH)
    assert done.returncode == 4, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "internal error" in lines[0] and "bug" in lines[0]
    assert "KeyError" in lines[0] and "-v" in lines[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("how", [["-v"], ["-vv"], ["LOG"]])
def test_verbose_shows_the_traceback(how: list[str]) -> None:
    if how == ["LOG"]:
        done = _run("verify", FRESH, env={"BUILDGUARD_LOG_LEVEL": "info"})
    else:
        done = _run("verify", *how, FRESH)
    assert done.returncode == 4
    assert "Traceback (most recent call last)" in done.stderr
    assert "in broken" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("buildguard: internal error")


def test_verbose_flag_before_or_after_the_command(tmp_path: Path) -> None:
    for args in (["-v", "verify", FRESH], ["verify", FRESH, "-v"]):
        done = subprocess.run(
            [sys.executable, "-m", "buildguard._cli", *args, "--record", RECORD],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            check=False,
            env={**os.environ, "BUILD_ID": "", "COMMIT_SHA": ""},
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("PASS: ")


def test_level_from_flags_and_environment(capsys: pytest.CaptureFixture[str]) -> None:
    assert level_for(0, {}) is None
    assert level_for(1, {}) == logging.INFO
    assert level_for(2, {}) == logging.DEBUG
    assert level_for(0, {"BUILDGUARD_LOG_LEVEL": "debug"}) == logging.DEBUG
    assert level_for(0, {"BUILDGUARD_LOG_LEVEL": "INFO"}) == logging.INFO
    assert level_for(0, {"BUILDGUARD_LOG_LEVEL": "loud"}) is None
    assert "ignoring $BUILDGUARD_LOG_LEVEL='loud'" in capsys.readouterr().err


def test_log_lines_go_to_stderr_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure(2, {})
    try:
        log = logging.getLogger("buildguard.test")
        log.debug(
            "GET %s with Authorization: Bearer %s",
            "https://r.example/v2/x?X-Goog-Signature=abc",
            "eyJhbGciOiJSUzI1NiJ9.secret-token-value",
        )
        log.info("password=%s", "hunter2hunter2")
    finally:
        configure(0, {})
    err = capsys.readouterr().err
    assert "buildguard: debug: GET https://r.example/v2/x?<query redacted>" in err
    assert "secret-token-value" not in err and "hunter2" not in err
    assert "X-Goog-Signature" not in err


def test_redact_patterns() -> None:
    assert redact("Basic dXNlcjpwYXNzd29yZA==") == "Basic <redacted>"
    assert redact("http://user:pw@host/x") == "http://<redacted>@host/x"
    assert redact("no secrets in GET /v2/app/manifests/latest 200") == (
        "no secrets in GET /v2/app/manifests/latest 200"
    )
