"""``action.yml`` run for real by a local runner that executes composite steps as GitHub
does (tests/support/actionrunner.py): pass, fail, an unreadable image, and the install."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from actionrunner import ActionRun, parse_outputs, run_action

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = "oci-layout:examples/images/layout"
RECORD = "examples/images/record.json"


def action(tmp_path: Path, **inputs: str) -> ActionRun:
    temp = tmp_path / "runner-temp"
    temp.mkdir(exist_ok=True)
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "BUILDGUARD_CACHE": str(tmp_path / "cache"),
    }
    return run_action(ROOT, inputs, workdir=ROOT, runner_temp=temp, env=env)


def test_output_file_syntax() -> None:
    text = 'a=1\nreport<<EOF_X\n{\n  "ok": true\n}\nEOF_X\nb=x=y\n'
    assert parse_outputs(text) == {"a": "1", "report": '{\n  "ok": true\n}', "b": "x=y"}


def test_verify_passes_with_the_report_as_output_and_a_summary(tmp_path: Path) -> None:
    run = action(
        tmp_path,
        command="verify",
        args=f"{LAYOUT}:fresh --record '{RECORD}'",
        install="false",
    )
    assert run.exit_code == 0, run.logs
    assert run.outputs["exit-code"] == "0"
    report = json.loads(run.outputs["report"])
    assert report["ok"] is True
    assert json.loads(Path(run.outputs["report-file"]).read_text()) == report
    assert "### buildguard verify: ✅ pass" in run.summary
    assert "bundle `/app/v5-frontend`: ok" in run.summary


def test_verify_fails_with_the_findings_in_the_summary(tmp_path: Path) -> None:
    run = action(
        tmp_path, command="verify", args=f"{LAYOUT}:stale --record {RECORD}", install="false"
    )
    assert run.exit_code == 1
    assert run.outputs["exit-code"] == "1"
    report = json.loads(run.outputs["report"])
    assert report["ok"] is False
    assert "### buildguard verify: ❌ fail" in run.summary
    codes = {f["code"] for f in report["findings"] if f["severity"] == "error"}
    assert "BUILD_ID_MISMATCH" in codes
    for code in codes:
        assert f"`{code}`" in run.summary


def test_an_unreadable_image_is_exit_3_with_its_error_document(tmp_path: Path) -> None:
    run = action(
        tmp_path,
        command="verify",
        args=f"oci-layout:{tmp_path}/missing:t --expect-build-id b-123456",
        install="false",
    )
    assert run.exit_code == 3
    assert run.outputs["exit-code"] == "3"
    document = json.loads(run.outputs["report"])
    assert document["ok"] is False and document["error"]["exit_code"] == 3
    assert "unreadable error (exit 3)" in run.summary


def test_arguments_are_split_without_expansion(tmp_path: Path) -> None:
    run = action(
        tmp_path,
        command="verify",
        args=f"{LAYOUT}:fresh --record {RECORD} --expect-build-id '$BUILD_ID'",
        install="false",
    )
    # '$BUILD_ID' reaches buildguard as those characters: a build id no bundle has
    assert run.exit_code == 1
    assert json.loads(run.outputs["report"])["expected"]["build_id"] == "$BUILD_ID"


@pytest.mark.install
def test_the_action_installs_buildguard_from_its_checkout(tmp_path: Path) -> None:
    run = action(tmp_path, command="verify", args=f"{LAYOUT}:stale --record {RECORD}")
    assert run.exit_code == 1, run.logs
    assert (tmp_path / "runner-temp/buildguard-venv/bin/buildguard").exists()
    assert "buildguard " in run.logs["install"]
    assert json.loads(run.outputs["report"])["ok"] is False
