"""The command-line contract of DESIGN.md, rule by rule, through the installed CLI.

Only the rules scripts outside the repo depend on (defaults, exit codes, JSON shape) and that
no other test pins; each test names the rule it holds the code to.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
from clitools import buildguard_cli, console_script, drain_terminal
from imagecorpus import d, f, tar_bytes, write_layout

import buildguard

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
    return subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def _json(done: subprocess.CompletedProcess[str]) -> dict:  # type: ignore[type-arg]
    doc = json.loads(done.stdout)
    assert isinstance(doc, dict)
    return doc


# ------------------------------------------------------------------------------ defaults


def test_expect_commit_defaults_to_git_head_where_a_git_checkout_is(tmp_path: Path) -> None:
    """`--expect-commit` defaults to $COMMIT_SHA, then `git rev-parse HEAD` where a .git
    exists: the fresh bundle's commit (b...b) is not this checkout's HEAD, so it fails."""
    head = _git_repo(tmp_path)
    done = buildguard_cli(
        "verify", FRESH, "--json", cwd=tmp_path, env={"BUILD_ID": FRESH_BUILD, "COMMIT_SHA": ""}
    )
    report = _json(done)
    assert report["expected"]["commit"] == head
    mismatch = [f for f in report["findings"] if f["code"] == "COMMIT_MISMATCH"]
    assert len(mismatch) == 1
    assert "expected from git rev-parse HEAD in" in mismatch[0]["message"]
    assert done.returncode == 1
    # $COMMIT_SHA comes first
    done = buildguard_cli(
        "verify",
        FRESH,
        "--json",
        cwd=tmp_path,
        env={"BUILD_ID": FRESH_BUILD, "COMMIT_SHA": "b" * 40},
    )
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
    done = buildguard_cli(
        "record", "app", cwd=tmp_path, env={"BUILD_ID": BUILD_ID, "COMMIT_SHA": "c"}
    )
    assert done.returncode == 0, done.stderr
    (tmp_path / "index.js").write_text(f'const id = "{BUILD_ID}";\n')
    done = buildguard_cli("seal", ".", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "stale: app/src/logo.txt" in done.stderr
    assert not (tmp_path / "buildguard-manifest.json").exists()


@pytest.mark.parametrize(
    ("name", "seals"),
    [
        ("app.js", True),
        ("app.mjs", True),
        ("index.html", True),
        ("style.css", True),
        ("data.json", False),
        ("app.js.map", False),
    ],
)
def test_the_canary_is_looked_for_by_extension(tmp_path: Path, name: str, seals: bool) -> None:
    """Only a .js, .mjs, .html or .css file holding the build id counts as the canary."""
    done = buildguard_cli(
        "record", "--clean", "dist", cwd=tmp_path, env={"BUILD_ID": BUILD_ID, "COMMIT_SHA": "c"}
    )
    assert done.returncode == 0, done.stderr
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / name).write_text(f'"{BUILD_ID}"\n')
    (tmp_path / "dist/other.js").write_text("no id here\n")
    done = buildguard_cli("seal", "dist", cwd=tmp_path)
    assert done.returncode == (0 if seals else 1), done.stdout + done.stderr
    assert (tmp_path / "dist/buildguard-manifest.json").exists() is seals


@pytest.mark.parametrize(("seconds", "seals"), [(-1.5, True), (-2.5, False)])
def test_a_file_is_old_more_than_2_s_before_the_record_started(
    tmp_path: Path,
    seconds: float,
    seals: bool,
) -> None:
    done = buildguard_cli(
        "record", "--clean", "dist", cwd=tmp_path, env={"BUILD_ID": BUILD_ID, "COMMIT_SHA": "c"}
    )
    assert done.returncode == 0, done.stderr
    started = json.loads((tmp_path / ".buildguard/record.json").read_text())["started_at"]
    moment = datetime.fromisoformat(started).timestamp() + seconds
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist/app.js").write_text(f'"{BUILD_ID}"\n')
    os.utime(tmp_path / "dist/app.js", (moment, moment))
    done = buildguard_cli("seal", "dist", cwd=tmp_path)
    assert done.returncode == (0 if seals else 1), done.stdout + done.stderr
    assert ("stale: app.js" in done.stderr) is not seals


@pytest.mark.parametrize(("ahead", "seals"), [(1.0, True), (4.0, False)])
def test_a_file_is_suspicious_more_than_2_s_after_now(
    tmp_path: Path,
    ahead: float,
    seals: bool,
) -> None:
    """(4 s rather than just over 2: the seal's own clock runs a little after ours.)"""
    done = buildguard_cli(
        "record", "--clean", "dist", cwd=tmp_path, env={"BUILD_ID": BUILD_ID, "COMMIT_SHA": "c"}
    )
    assert done.returncode == 0, done.stderr
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist/app.js").write_text(f'"{BUILD_ID}"\n')
    moment = time.time() + ahead
    os.utime(tmp_path / "dist/app.js", (moment, moment))
    done = buildguard_cli("seal", "dist", cwd=tmp_path)
    assert done.returncode == (0 if seals else 1), done.stdout + done.stderr
    assert ("future-dated: app.js" in done.stderr) is not seals


# ------------------------------------------------------------------------------ verify


def test_verify_uses_the_default_record_else_warns_and_skips_the_source_check(
    tmp_path: Path,
) -> None:
    env = {"BUILD_ID": FRESH_BUILD, "COMMIT_SHA": "b" * 40}
    done = buildguard_cli("verify", FRESH, "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    report = _json(done)
    assert report["expected"]["record"] is None
    assert "SOURCE_UNCHECKED" in [f["code"] for f in report["findings"]]
    assert "WARN SOURCE_UNCHECKED" in done.stderr

    (tmp_path / ".buildguard").mkdir()
    (tmp_path / ".buildguard/record.json").write_bytes(Path(RECORD).read_bytes())
    done = buildguard_cli("verify", FRESH, "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    report = _json(done)
    assert report["expected"]["record"] == ".buildguard/record.json"
    assert (
        report["expected"]["source_digest"] == json.loads(Path(RECORD).read_text())["source_digest"]
    )
    assert report["findings"] == []

    for bad in ("missing.json", ".buildguard"):  # absent, and a folder
        done = buildguard_cli("verify", FRESH, "--record", bad, "--json", cwd=tmp_path, env=env)
        assert done.returncode == 2, done.stderr
        assert _json(done)["error"]["kind"] == "usage"  # errors are documents too


def test_image_read_errors_are_exit_3(tmp_path: Path) -> None:
    env = {"BUILD_ID": FRESH_BUILD, "COMMIT_SHA": ""}
    for command in ("verify", "inspect"):
        for ref in (
            f"oci-layout:{tmp_path / 'none'}:t",
            f"docker-archive:{tmp_path / 'x.tar'}",
            f"oci-layout:{LAYOUT}:no-such-tag",
        ):
            done = buildguard_cli(command, ref, cwd=tmp_path, env=env)
            assert done.returncode == 3, (command, ref, done.stderr)
            assert "Traceback" not in done.stderr


# ------------------------------------------------------------------------------ JSON shape

RECORD_FIELDS = {"schema_version", "build_id", "commit", "started_at", "source_digest", "files"}
MANIFEST_FIELDS = {
    "schema_version",
    "build_id",
    "commit",
    "source_digest",
    "record_started_at",
    "sealed_at",
    "files",
    "freshness",
}
MANIFEST_FILE_FIELDS = {"path", "sha256", "size", "mode", "mtime", "media_type"}
VERIFY_FIELDS = {"schema_version", "ok", "image", "expected", "bundles", "findings"}
FINDING_FIELDS = {"code", "severity", "path", "layer", "message"}
INSPECT_FIELDS = {"schema_version", "image", "layers", "manifests", "files"}
INSPECT_FILE_FIELDS = {"path", "type", "size", "sha256", "mtime", "layer"}


def _utc(text: str) -> None:
    """An RFC 3339 time in UTC, as the contract writes times."""
    assert text.endswith("Z"), text
    assert datetime.fromisoformat(text).utcoffset() is not None


def test_the_field_names_scripts_rely_on(tmp_path: Path) -> None:
    done = buildguard_cli(
        "record", "--clean", "dist", cwd=tmp_path, env={"BUILD_ID": BUILD_ID, "COMMIT_SHA": "c"}
    )
    assert done.returncode == 0, done.stderr
    rec = json.loads((tmp_path / ".buildguard/record.json").read_text())
    assert set(rec) >= RECORD_FIELDS and rec["schema_version"] == 1
    _utc(rec["started_at"])
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist/app.js").write_text(f'"{BUILD_ID}"\n')
    assert buildguard_cli("seal", "dist", cwd=tmp_path).returncode == 0
    manifest = json.loads((tmp_path / "dist/buildguard-manifest.json").read_text())
    assert set(manifest) >= MANIFEST_FIELDS and manifest["freshness"] == "canary"
    assert set(manifest["files"][0]) >= MANIFEST_FILE_FIELDS
    for moment in (
        manifest["record_started_at"],
        manifest["sealed_at"],
        manifest["files"][0]["mtime"],
    ):
        _utc(moment)

    stale = f"oci-layout:{LAYOUT}:stale"
    done = buildguard_cli("verify", stale, "--record", RECORD, "--json", cwd=tmp_path, env=NO_ENV)
    assert done.returncode == 1
    report = _json(done)
    assert set(report) >= VERIFY_FIELDS and report["ok"] is False
    assert report["image"]["reference"] == stale
    assert report["image"]["digest"].startswith("sha256:")
    assert {"build_id", "commit"} <= set(report["expected"])
    assert {"root", "build_id", "commit"} <= set(report["bundles"][0])
    assert report["findings"] and all(set(f) >= FINDING_FIELDS for f in report["findings"])
    assert {f["severity"] for f in report["findings"]} <= {"error", "warning", "info"}

    done = buildguard_cli("inspect", stale, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    inspected = _json(done)
    assert set(inspected) >= INSPECT_FIELDS
    assert {"digest", "size", "created_by"} <= set(inspected["layers"][0])
    assert all(set(f) >= INSPECT_FILE_FIELDS for f in inspected["files"])
    _utc(inspected["files"][0]["mtime"])


def test_inspect_hashes_every_file_and_counts_layers_from_the_bottom(tmp_path: Path) -> None:
    bottom = tar_bytes([d("etc"), f("etc/os", "debian"), d("app"), f("app/a.js", "zero")])
    top = tar_bytes([d("app"), f("app/a.js", "one"), d("srv"), f("srv/x.js", "x")])
    write_layout(
        tmp_path / "l",
        [bottom, top],
        tag="t",
        history=[{"created_by": "base"}, {"created_by": "COPY app"}],
    )
    ref = f"oci-layout:{tmp_path / 'l'}:t"
    everything = _json(buildguard_cli("inspect", ref, "--json"))
    assert [(x["index"], x["created_by"]) for x in everything["layers"]] == [
        (0, "base"),
        (1, "COPY app"),
    ]
    files = {x["path"]: x for x in everything["files"] if x["type"] == "file"}
    want = {"/etc/os": (b"debian", 0), "/app/a.js": (b"one", 1), "/srv/x.js": (b"x", 1)}
    assert {p: (x["sha256"], x["layer"]) for p, x in files.items()} == {
        p: (hashlib.sha256(data).hexdigest(), layer) for p, (data, layer) in want.items()
    }
    under = _json(buildguard_cli("inspect", ref, "--json", "--path", "/app"))
    assert [x["path"] for x in under["files"]] == ["/app", "/app/a.js"]


# ------------------------------------------------------------------------------ flags


USAGE = {
    "record": ["--out", "--build-id", "--commit", "--clean", "--exclude", "--env-file", "-v"],
    "seal": ["--record", "--require-canary", "--no-canary", "-v"],
    "verify": [
        "--expect-build-id",
        "--expect-commit",
        "--record",
        "--path",
        "--platform",
        "--allow-extra",
        "--insecure-registry",
        "--json",
        "--report",
        "--junit",
        "--mark-verified",
        "--from-build",
        "--project",
        "--region",
        "--cache",
        "--no-cache",
        "-v",
    ],
    "inspect": [
        "--path",
        "--platform",
        "--insecure-registry",
        "--json",
        "--cache",
        "--no-cache",
        "-v",
    ],
    "run": ["--source", "--dist", "--build-id", "--commit", "--no-canary", "-v"],
}


@pytest.mark.parametrize("command", sorted(USAGE))
def test_every_flag_of_the_usage_block_exists(command: str) -> None:
    done = buildguard_cli(command, "--help")
    assert done.returncode == 0, done.stderr
    spelled = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", done.stdout))
    assert set(USAGE[command]) <= spelled, set(USAGE[command]) - spelled


@pytest.mark.parametrize(
    ("command", "abbreviated"),
    [
        ("verify", "--expect-build=x"),
        ("verify", "--allow-ex"),
        ("seal", "--no-can"),
        ("verify-live", "--sample=2"),
    ],
)
def test_an_abbreviated_flag_is_a_usage_error(command: str, abbreviated: str) -> None:
    """Only the contract's spellings are accepted: a prefix of a flag is exit 2."""
    given = ["--manifest", "m.json"] if command == "verify-live" else []
    done = buildguard_cli(command, *given, abbreviated, "x")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "unrecognized arguments" in done.stderr


def test_short_verbosity_flags_still_combine(tmp_path: Path) -> None:
    done = buildguard_cli(
        "-vv",
        "verify",
        FRESH,
        "--record",
        RECORD,
        "-vv",
        cwd=tmp_path,
        env={"BUILD_ID": FRESH_BUILD, "COMMIT_SHA": "b" * 40},
    )
    assert done.returncode == 0, done.stderr
    assert "DEBUG" in done.stderr or "debug" in done.stderr


# ------------------------------------------------------------------------------ output


def test_no_progress_when_only_stderr_is_a_terminal(tmp_path: Path) -> None:
    """Plain output when stdout is not a terminal, whatever stderr is."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [console_script(), "verify", FRESH, "--record", RECORD],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        cwd=tmp_path,
        env={**os.environ, **NO_ENV},
    )
    os.close(follower)
    stdout, _ = proc.communicate(timeout=120)
    err = drain_terminal(leader)
    assert proc.returncode == 0, err
    assert stdout.startswith(b"PASS: ")
    assert b"reading layer" not in err and b"\033" not in err + stdout


# ------------------------------------------------------------------------------ Python API


def test_the_python_api_returns_models_and_raises_typed_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    rec = buildguard.record(
        ".", buildguard.RecordOptions(build_id=BUILD_ID, commit="c", clean=["dist"])
    )
    assert isinstance(rec, buildguard.Record)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist/app.js").write_text(f'"{BUILD_ID}"\n')
    assert isinstance(buildguard.seal("dist"), buildguard.BundleManifest)

    failed = buildguard.verify(
        f"oci-layout:{LAYOUT}:stale", buildguard.Expectations(records=(RECORD,)), environ={}
    )
    assert isinstance(failed, buildguard.VerifyReport) and failed.ok is False  # no exception
    assert isinstance(buildguard.inspect(FRESH), buildguard.InspectReport)

    with pytest.raises(buildguard.UsageError) as usage:
        buildguard.verify(FRESH, buildguard.Expectations(records=("missing.json",)))
    assert usage.value.exit_code == 2
    with pytest.raises(buildguard.ImageReadError) as unread:
        buildguard.verify(
            f"oci-layout:{tmp_path / 'none'}:t", buildguard.Expectations(build_id=BUILD_ID)
        )
    assert unread.value.exit_code == 3
    with pytest.raises(buildguard.ImageReadError):
        buildguard.inspect(f"oci-layout:{tmp_path / 'none'}:t")


# ------------------------------------------------------------------------------ exit codes


def test_an_output_path_that_cannot_be_written_is_exit_2_not_a_bug(tmp_path: Path) -> None:
    """--out, --env-file, --report, --junit naming a path under a file: a usage error."""
    (tmp_path / "afile").write_text("x\n")
    env = {"BUILD_ID": FRESH_BUILD, "COMMIT_SHA": "b" * 40}
    done = buildguard_cli("verify", FRESH, "--junit", "out/junit.xml", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out/junit.xml").read_bytes().startswith(b"<?xml version=")
    for args in (
        ["verify", FRESH, "--report", "afile/report.json"],
        ["verify", FRESH, "--junit", "afile/junit.xml"],
        ["record", "--out", "afile/record.json"],
        ["record", "--env-file", "afile/build.env"],
    ):
        done = buildguard_cli(*args, cwd=tmp_path, env=env)
        assert done.returncode == 2, (args, done.stderr)
        assert "cannot write afile/" in done.stderr and "internal error" not in done.stderr
