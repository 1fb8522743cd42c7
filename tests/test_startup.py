"""Start-up stays fast: what the common paths import (times are measured in bench/, never
asserted here; what a path imports is exact and is what decides its start-up cost)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRESH = f"oci-layout:{ROOT / 'examples/images/layout'}:fresh"
RECORD = str(ROOT / "examples/images/record.json")

PROBE = """
import json, sys
from buildguard._cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = ("pydantic", "httpx", "docker", "google", "magic", "zstandard", "isal",
         "sortedcontainers", "pathspec")
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in heavy})),
      file=sys.stderr)
"""


def _imported(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "BUILD_ID": "", "COMMIT_SHA": ""},
        check=False,
    )
    result: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return result


def test_version_imports_nothing_heavy() -> None:
    assert _imported("--version") == []


def test_verify_of_a_layout_imports_no_network_daemon_or_cloud_library() -> None:
    modules = _imported("verify", FRESH, "--record", RECORD)
    assert "pydantic" in modules  # the report is a model
    assert not {"httpx", "docker", "google", "magic", "pathspec"} & set(modules), modules
