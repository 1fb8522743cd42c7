"""The Markdown job summary made from each kind of JSON document buildguard writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from buildguard._formats.markdown import MAX_ROWS, render_markdown


def finding(i: int) -> dict[str, object]:
    return {"code": "FILE_STALE", "severity": "error", "path": f"/a/{i}.js", "message": "old"}


def test_error_document_names_kind_exit_and_fix() -> None:
    text = render_markdown(
        {
            "schema_version": 1,
            "ok": False,
            "error": {"kind": "unreadable", "exit_code": 3, "message": "no | such", "hint": "fix"},
        }
    )
    assert "unreadable error (exit 3)" in text
    assert "no \\| such" in text  # a table-breaking bar is escaped
    assert "**Fix:** fix" in text


def test_many_findings_are_capped_with_a_count() -> None:
    doc = {
        "ok": False,
        "image": {"reference": "r", "digest": "sha256:x"},
        "expected": {"build_id": "b"},
        "bundles": [{"root": "/a", "ok": False, "build_id": "old", "files_compared": 3}],
        "findings": [finding(i) for i in range(MAX_ROWS + 7)],
    }
    text = render_markdown(doc)
    assert text.count("| `FILE_STALE` |") == MAX_ROWS
    assert "… and 7 more" in text
    assert "❌ fail" in text


def test_live_and_lint_reports() -> None:
    live = render_markdown(
        {
            "ok": True,
            "url": "http://127.0.0.1/",
            "assets": [{}, {}],
            "findings": [
                {
                    "code": "LIVE_ENTRY_CACHEABLE",
                    "severity": "warning",
                    "url": "u",
                    "message": "m",
                    "hint": "h",
                }
            ],
        }
    )
    assert "verify-live: ✅ pass" in live and "2 assets" in live and "*h*" in live
    lint = render_markdown(
        {
            "ok": False,
            "files": [{"path": "Dockerfile", "kind": "dockerfile"}],
            "findings": [
                {
                    "rule": "BG-DF001",
                    "severity": "error",
                    "path": "Dockerfile",
                    "line": 3,
                    "message": "m",
                    "hint": "h",
                }
            ],
        }
    )
    assert "`BG-DF001`" in lint and "Dockerfile:3" in lint


def test_module_entry_point(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(
        json.dumps({"ok": False, "error": {"kind": "usage", "exit_code": 2, "message": "m"}})
    )
    done = subprocess.run(
        [sys.executable, "-m", "buildguard._formats.markdown", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "usage error (exit 2)" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "buildguard._formats.markdown", str(tmp_path / "none.json")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "cannot read the report" in bad.stderr
