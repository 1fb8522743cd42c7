"""The package stays typed (mypy --strict, pydantic plugin) and ruff-clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_mypy_strict_on_the_package() -> None:
    done = run_tool("mypy")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_clean() -> None:
    done = run_tool("ruff", "check", "buildguard", "tests", "bench")
    assert done.returncode == 0, done.stdout + done.stderr
