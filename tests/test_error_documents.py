"""Errors are documents too (issue 20, point 5): with ``--json``, exit 2, 3 and 4 print one
JSON document on stdout; ``--report FILE`` writes the same document and ``--junit FILE`` a
suite with one test case in ``<error>`` — for ``verify`` (and ``--from-build``),
``verify-live`` and ``inspect``. Run through the installed CLI against unreadable images (a
missing archive, a missing layout, a registry on loopback that answers 404), an unreachable
site, bad flags, no build id, and a bug forced in-process (exit 4).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from clitools import buildguard_cli
from services import free_port
from tinysite import TinySite, write_manifest

from buildguard._cli.errordocs import (
    ErrorOutputs,
    emit_for,
    emit_for_arguments,
    writes_error_documents,
)
from buildguard._formats.errordoc import (
    error_json,
    error_report,
    sarif_invocation,
)
from buildguard._formats.junit import error_junit
from buildguard._internal import redact
from buildguard.models import ErrorReport

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schemas/error-report.schema.json").read_text())
FRESH = f"oci-layout:{ROOT / 'examples/images/layout'}:fresh"
NO_BUILD = {"BUILD_ID": "", "COMMIT_SHA": ""}
BUILD = {"BUILD_ID": "example-build-0002", "COMMIT_SHA": ""}
KINDS = {2: "usage", 3: "unreadable", 4: "internal"}


def _check_document(text: str, exit_code: int) -> dict[str, Any]:
    """``text`` is exactly one error document of ``exit_code``, valid by the schema."""
    document = json.loads(text)  # one document and nothing else: json.loads refuses more
    jsonschema.validate(document, SCHEMA)
    assert document["schema_version"] == 1 and document["ok"] is False
    error = document["error"]
    assert set(error) == {"kind", "exit_code", "message", "hint"}
    assert error["exit_code"] == exit_code and error["kind"] == KINDS[exit_code]
    assert error["message"]
    return document


def _check_junit(path: Path, document: dict[str, Any]) -> ET.Element:
    root = ET.fromstring(path.read_bytes())
    assert root.tag == "testsuites" and root.get("errors") == "1"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    cases = suites[0].findall("testcase")
    assert len(cases) == 1
    assert cases[0].find("failure") is None
    error = cases[0].find("error")
    assert error is not None
    assert error.get("type") == document["error"]["kind"]
    assert error.get("message") == document["error"]["message"]
    assert document["error"]["message"] in (error.text or "")
    if document["error"]["hint"]:
        assert document["error"]["hint"] in (error.text or "")
    return suites[0]


def _run_all_outputs(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, junit: bool = True
) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    report, junit_file = tmp_path / "report.json", tmp_path / "junit.xml"
    extra = ["--report", str(report)] + (["--junit", str(junit_file)] if junit else [])
    done = buildguard_cli(*args, "--json", *extra, cwd=tmp_path, env=env)
    return done, report, junit_file


def _assert_everywhere(
    done: subprocess.CompletedProcess[str], report: Path, junit: Path, exit_code: int
) -> dict[str, Any]:
    assert done.returncode == exit_code, done.stderr
    document = _check_document(done.stdout, exit_code)
    assert json.loads(report.read_text()) == document
    _check_junit(junit, document)
    assert document["error"]["message"] in done.stderr  # the human line stays on stderr
    return document


# ------------------------------------------------------------------------------ verify


def test_verify_missing_archive_is_an_unreadable_document(tmp_path: Path) -> None:
    done, report, junit = _run_all_outputs(
        tmp_path, "verify", f"docker-archive:{tmp_path / 'absent.tar'}", env=BUILD
    )
    document = _assert_everywhere(done, report, junit, 3)
    assert "absent.tar" in document["error"]["message"]


def test_verify_missing_layout_is_an_unreadable_document(tmp_path: Path) -> None:
    done, report, junit = _run_all_outputs(
        tmp_path, "verify", f"oci-layout:{tmp_path / 'nolayout'}:v1", env=BUILD
    )
    document = _assert_everywhere(done, report, junit, 3)
    assert document["error"]["hint"]  # the layout hint names how to make one


def test_verify_registry_answering_404_is_an_unreadable_document(tmp_path: Path) -> None:
    with TinySite() as site:  # a loopback HTTP server that answers 404 to /v2/...
        host = site.url.split("//", 1)[1].rstrip("/")
        done, report, junit = _run_all_outputs(tmp_path, "verify", f"{host}/app:tag", env=BUILD)
    document = _assert_everywhere(done, report, junit, 3)
    assert "404" in document["error"]["message"]
    suite = ET.fromstring(junit.read_bytes()).find("testsuite")
    assert suite is not None and f"{host}/app:tag" in (suite.get("name") or "")


def test_verify_without_a_build_id_is_a_usage_document(tmp_path: Path) -> None:
    done, report, junit = _run_all_outputs(tmp_path, "verify", FRESH, env=NO_BUILD)
    document = _assert_everywhere(done, report, junit, 2)
    assert "build id" in document["error"]["message"]
    assert document["error"]["hint"]


def test_verify_bad_flag_value_is_a_usage_document(tmp_path: Path) -> None:
    """argparse refuses the command line before there are options; the outputs are still
    read from it."""
    done, report, junit = _run_all_outputs(
        tmp_path, "verify", FRESH, "--platform", "no/such/thing/really", env=BUILD
    )
    _assert_everywhere(done, report, junit, 2)
    done, report, junit = _run_all_outputs(tmp_path, "verify", FRESH, "--no-such-flag", env=BUILD)
    document = _assert_everywhere(done, report, junit, 2)
    assert "--no-such-flag" in document["error"]["message"]
    assert "--help" in document["error"]["hint"]


def test_verify_from_build_usage_error_is_a_document(tmp_path: Path) -> None:
    done, report, junit = _run_all_outputs(
        tmp_path, "verify", "--from-build", "b1", "--expect-build-id", "x"
    )
    document = _assert_everywhere(done, report, junit, 2)
    assert "--from-build" in document["error"]["message"]


def test_without_json_stdout_stays_empty_but_files_are_written(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    done = buildguard_cli(
        "verify", f"docker-archive:{tmp_path / 'x.tar'}", "--report", str(report), env=BUILD
    )
    assert done.returncode == 3 and done.stdout == ""
    _check_document(report.read_text(), 3)


def test_a_passing_verify_adds_no_error_document(tmp_path: Path) -> None:
    done, report, junit = _run_all_outputs(tmp_path, "verify", FRESH, env=BUILD)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    assert "error" not in json.loads(report.read_text())
    assert ET.fromstring(junit.read_bytes()).get("errors") is None


# ------------------------------------------------------------------- verify-live, inspect


def test_verify_live_unreachable_site_is_an_unreadable_document(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "buildguard-manifest.json")
    url = f"http://127.0.0.1:{free_port()}/"
    done, report, junit = _run_all_outputs(
        tmp_path, "verify-live", url, "--manifest", str(manifest)
    )
    document = _assert_everywhere(done, report, junit, 3)
    assert "127.0.0.1" in document["error"]["message"]


def test_verify_live_bad_flag_value_is_a_usage_document(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "buildguard-manifest.json")
    done, report, junit = _run_all_outputs(
        tmp_path,
        "verify-live",
        "http://127.0.0.1:1/",
        "--manifest",
        str(manifest),
        "--samples",
        "x",
    )
    document = _assert_everywhere(done, report, junit, 2)
    assert "--samples" in document["error"]["message"]
    done, report, junit = _run_all_outputs(
        tmp_path, "verify-live", "http://127.0.0.1:1/", "--manifest", str(manifest), "--wait", "1y"
    )
    _assert_everywhere(done, report, junit, 2)


@pytest.mark.parametrize(
    ("image", "code"),
    [
        ("docker-archive:{tmp}/absent.tar", 3),
        ("oci-layout:{tmp}/nolayout", 3),
        ("no-registry-here:1", 2),
    ],
)
def test_inspect_errors_are_documents(tmp_path: Path, image: str, code: int) -> None:
    done = buildguard_cli("inspect", image.format(tmp=tmp_path), "--json")
    assert done.returncode == code, done.stderr
    _check_document(done.stdout, code)


def test_inspect_writes_no_file_it_has_no_flag_for(tmp_path: Path) -> None:
    """inspect has no --report: a command line refused for naming one writes no file."""
    done = buildguard_cli("inspect", FRESH, "--json", "--report", "r.json", cwd=tmp_path)
    assert done.returncode == 2
    assert "--report" in _check_document(done.stdout, 2)["error"]["message"]
    assert not (tmp_path / "r.json").exists()


def test_inspect_registry_404_is_a_document(tmp_path: Path) -> None:
    with TinySite() as site:
        host = site.url.split("//", 1)[1].rstrip("/")
        done = buildguard_cli("inspect", f"{host}/app:tag", "--json")
    assert done.returncode == 3, done.stderr
    _check_document(done.stdout, 3)


def _tampered_layout(tmp_path: Path) -> str:
    """A copy of the example layout whose ``fresh`` image has one flipped bit in a layer."""
    layout = tmp_path / "layout"
    shutil.copytree(ROOT / "examples/images/layout", layout)
    index = json.loads((layout / "index.json").read_text())
    (entry,) = [
        m
        for m in index["manifests"]
        if m["annotations"]["org.opencontainers.image.ref.name"] == "fresh"
    ]
    blobs = layout / "blobs/sha256"
    manifest = json.loads((blobs / entry["digest"].split(":")[1]).read_text())
    layer = blobs / manifest["layers"][-1]["digest"].split(":")[1]
    data = bytearray(layer.read_bytes())
    data[len(data) // 2] ^= 1
    layer.write_bytes(bytes(data))
    return f"oci-layout:{layout}:fresh"


def test_a_tampered_blob_is_an_unreadable_document(tmp_path: Path) -> None:
    image = _tampered_layout(tmp_path)
    done, report, junit = _run_all_outputs(tmp_path, "verify", image, "--no-cache", env=BUILD)
    document = _assert_everywhere(done, report, junit, 3)
    assert "does not match" in document["error"]["message"]
    done = buildguard_cli("inspect", image, "--json", "--no-cache")
    assert done.returncode == 3, done.stderr
    assert "does not match" in _check_document(done.stdout, 3)["error"]["message"]


# ------------------------------------------------------------------------- exit 4

# Replaces a library function with one that fails the way a bug would, then runs the CLI.
CRASH = """
import importlib, sys
module = importlib.import_module(sys.argv[1])
def broken(*args, **kwargs):
    raise KeyError("an unexpected key")
setattr(module, sys.argv[2], broken)
from buildguard._cli import main
sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.parametrize(
    ("module", "function", "command"),
    [
        ("buildguard._verify.verifier", "verify", ["verify", FRESH]),
        ("buildguard._inspect", "inspect_stream", ["inspect", FRESH]),
        ("buildguard._live.verifier", "verify_live", ["verify-live", "http://127.0.0.1:1/"]),
    ],
)
def test_an_internal_error_is_a_document_and_one_line(
    tmp_path: Path, module: str, function: str, command: list[str]
) -> None:
    if command[0] == "verify-live":
        command = [*command, "--manifest", str(write_manifest(tmp_path / "m.json"))]
    outputs = ["--json"]
    if command[0] != "inspect":
        outputs += ["--report", str(tmp_path / "r.json"), "--junit", str(tmp_path / "j.xml")]
    done = subprocess.run(
        [sys.executable, "-c", CRASH, module, function, *command, *outputs],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **BUILD},
        check=False,
    )
    assert done.returncode == 4, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("buildguard: internal error"), done.stderr
    assert "Traceback" not in done.stderr
    document = _check_document(done.stdout, 4)
    assert "KeyError" in document["error"]["message"]
    assert "-v" in document["error"]["hint"]
    if command[0] != "inspect":
        assert json.loads((tmp_path / "r.json").read_text()) == document
        _check_junit(tmp_path / "j.xml", document)


# ------------------------------------------------------------------------- secrets


def test_a_credential_in_the_reference_is_in_no_document(tmp_path: Path) -> None:
    secret = "Sup3rSecretPw"
    done, report, junit = _run_all_outputs(
        tmp_path, "verify", f"docker://user:{secret}@127.0.0.1:1/app:1", env=BUILD
    )
    _assert_everywhere(done, report, junit, 2)
    for text in (done.stdout, done.stderr, report.read_text(), junit.read_text()):
        assert secret not in text


# ------------------------------------------------------------------------- units


@pytest.mark.parametrize("code", [2, 3, 4])
def test_rendering_matches_the_schema_and_model(code: int) -> None:
    document = error_report(code, "it broke", "fix it")
    text = error_json(document)
    assert text.endswith("}\n")
    parsed = _check_document(text, code)
    assert ErrorReport.model_validate_json(text) == document
    assert parsed["error"]["hint"] == "fix it"
    assert json.loads(error_json(error_report(code, "no hint")))["error"]["hint"] is None


@pytest.mark.parametrize("code", [0, 1, 5, 130])
def test_no_error_document_for_other_exit_codes(code: int) -> None:
    with pytest.raises(ValueError, match="no error document"):
        error_report(code, "x")


def test_junit_has_one_error_case() -> None:
    root = ET.fromstring(error_junit(error_report(3, "gone", "look"), "buildguard verify x"))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 1
    error = cases[0].find("error")
    assert error is not None and error.get("type") == "unreadable"
    assert error.text == "gone\nhint: look"


def test_sarif_invocation_is_an_unsuccessful_run() -> None:
    invocation = sarif_invocation(error_report(2, "bad flag", "see --help"))
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and "bad flag" in note["message"]["text"]


def test_documents_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact, "_remembered", set())
    redact.remember_arguments(["https://someone:T0pS3cretValue@example.test/x"])
    document = error_report(3, "failed for T0pS3cretValue", "https://a:b@host/")
    for text in (error_json(document), error_junit(document, "s T0pS3cretValue").decode()):
        assert "T0pS3cretValue" not in text
        assert "a:b@" not in text


# ------------------------------------------------- the CLI function other commands reuse


def _lint_like_parser() -> argparse.ArgumentParser:
    """A command whose outputs are ``--format json|sarif`` and ``--output FILE`` (as lint's)."""

    def outputs(args: argparse.Namespace) -> ErrorOutputs:
        to_file = getattr(args, "output", None)
        fmt = getattr(args, "format", None)
        return ErrorOutputs(
            suite="buildguard lint",
            json=fmt == "json" and not to_file,
            report=to_file if fmt == "json" else None,
            sarif_stdout=fmt == "sarif" and not to_file,
            sarif=to_file if fmt == "sarif" else None,
        )

    parser = argparse.ArgumentParser(prog="buildguard lint")
    parser.add_argument("--format", choices=["text", "json", "sarif"], default="text")
    parser.add_argument("--output")
    writes_error_documents(parser, outputs)
    return parser


@pytest.mark.parametrize("to_file", [False, True])
def test_a_command_with_its_own_outputs_gets_sarif(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], to_file: bool
) -> None:
    output = ["--output", str(tmp_path / "out.sarif")] if to_file else []
    args = _lint_like_parser().parse_args(["--format", "sarif", *output])
    emit_for(args, 3, "cannot read Dockerfile", "check the path")
    text = (tmp_path / "out.sarif").read_text() if to_file else capsys.readouterr().out
    log = json.loads(text)
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert run["results"] == []
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    assert (
        "cannot read Dockerfile" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    )


def test_a_command_with_its_own_outputs_gets_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _lint_like_parser().parse_args(["--format", "json"])
    emit_for(args, 2, "bad rule", None)
    assert _check_document(capsys.readouterr().out, 2)["error"]["message"] == "bad rule"
    args = _lint_like_parser().parse_args(["--format", "text"])
    emit_for(args, 2, "bad rule", None)
    assert capsys.readouterr().out == ""  # text: the stderr line is all


def test_refused_arguments_read_the_outputs_leniently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = {"lint": _lint_like_parser()}
    report = tmp_path / "r.json"
    emit_for_arguments(
        commands,
        ["-v", "lint", "--bogus", "--format", "json", "--output", str(report), "--", "--json"],
        "unrecognized arguments: --bogus",
        "see --help",
    )
    assert capsys.readouterr().out == ""
    assert _check_document(report.read_text(), 2)["error"]["hint"] == "see --help"
    emit_for_arguments(
        commands, ["lint", "--format", "json", "--output"], "expected one argument", "x"
    )
    assert capsys.readouterr().out == ""  # even the outputs cannot be read: nothing
