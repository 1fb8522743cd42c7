"""record and seal write exactly what the plain reference algorithm writes (oddtree.py),
on a tree with odd names, symlinks and exec bits, whichever way the hashing runs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from clitools import buildguard_cli
from oddtree import make_odd_bundle, make_odd_tree, reference_manifest_json, reference_record_json

import buildguard
from buildguard._internal.hashing import choose_mode
from buildguard.models import MANIFEST_NAME, BundleManifest, Record

BUILD_ID = "odd-build-0042"
ENV = {"BUILD_ID": BUILD_ID, "COMMIT_SHA": "c0ffee"}


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_odd_tree(tmp_path_factory.mktemp("odd") / "app")


@pytest.mark.parametrize("mode", ["thread", "inline"])
def test_record_file_equals_the_reference(
    odd: Path, tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDGUARD_HASH_MODE", mode)
    out = tmp_path / "record.json"
    rec = buildguard.record(odd, buildguard.RecordOptions(out=out, env_file=None), environ=ENV)
    written = out.read_bytes()
    assert written == reference_record_json(odd, rec)
    assert Record.model_validate_json(written) == rec
    assert len(rec.files) > 600 and any("\\x" in f.path for f in rec.files)
    assert choose_mode() == mode


def test_record_through_the_cli_uses_processes_and_writes_the_same(
    odd: Path, tmp_path: Path
) -> None:
    out = tmp_path / "record.json"
    done = buildguard_cli(
        "record",
        str(odd),
        "--out",
        str(out),
        "--env-file",
        str(tmp_path / "env"),
        env={**ENV, "BUILDGUARD_HASH_MODE": "process"},
    )
    assert done.returncode == 0, done.stderr
    written = out.read_bytes()
    assert written == reference_record_json(odd, Record.model_validate_json(written))
    assert "recorded " in done.stdout


def _sealable(tmp_path: Path) -> tuple[Path, Path]:
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "src/main.js").write_text("console.log(1)\n")
    out = tmp_path / "record.json"
    buildguard.record(app, buildguard.RecordOptions(out=out, env_file=None), environ=ENV)
    time.sleep(0.01)
    make_odd_bundle(app / "dist", BUILD_ID)
    return app, out


@pytest.mark.parametrize("mode", ["thread", "inline"])
def test_manifest_equals_the_reference(
    tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDGUARD_HASH_MODE", mode)
    app, out = _sealable(tmp_path)
    manifest = buildguard.seal(app / "dist", record=out)
    written = (app / "dist" / MANIFEST_NAME).read_bytes()
    assert written == reference_manifest_json(app / "dist", manifest, BUILD_ID)
    assert BundleManifest.model_validate_json(written) == manifest
    assert "assets/straddle.js" in manifest.canary_files
    assert "caf\\xe9/chunk\\xe9.js" in manifest.canary_files
    types = {f.path: f.media_type for f in manifest.files}
    assert types["logo"] == "image/gif", "no extension: libmagic decides"
    assert types["empty.js"] == "text/javascript", "the extension decides first"
    assert types["latest.html"] == "inode/symlink"


def test_seal_through_the_cli_uses_processes_and_writes_the_same(tmp_path: Path) -> None:
    app, out = _sealable(tmp_path)
    done = buildguard_cli(
        "seal", str(app / "dist"), "--record", str(out), env={"BUILDGUARD_HASH_MODE": "process"}
    )
    assert done.returncode == 0, done.stderr
    written = (app / "dist" / MANIFEST_NAME).read_bytes()
    produced = BundleManifest.model_validate_json(written)
    assert written == reference_manifest_json(app / "dist", produced, BUILD_ID)


def test_record_of_the_same_tree_is_the_same_in_every_mode(
    odd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digests = set()
    for mode in ("thread", "inline"):
        monkeypatch.setenv("BUILDGUARD_HASH_MODE", mode)
        rec = buildguard.record(odd, buildguard.RecordOptions(out=None, env_file=None), environ=ENV)
        digests.add((rec.source_digest, rec.files))
    assert len(digests) == 1
