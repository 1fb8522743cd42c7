"""Run the installed console script, as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def console_script() -> str:
    beside = Path(sys.executable).parent / "buildguard"
    found = str(beside) if beside.exists() else shutil.which("buildguard")
    assert found, "the buildguard console script is not installed (pip install -e .)"
    return found


def buildguard_cli(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [console_script(), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def drain_terminal(leader: int) -> bytes:
    """Everything written to a pseudo-terminal until the child closes it (then closes our
    side)."""
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    return output
