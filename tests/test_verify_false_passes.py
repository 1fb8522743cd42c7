"""Images crafted so that a careless reader would pass them while the runtime serves
something else under the bundle's path: each is a real image (OCI layout or docker save
archive), verified through the library as the CLI does."""

from __future__ import annotations

import hashlib
from pathlib import Path

from imagecorpus import d, f, tar_bytes, write_layout

import buildguard
from buildguard.models import BundleManifest, FileEntry

BUILD = "false-pass-build"
BUNDLE = {"index.html": b"<html>", "assets/app.js": b"console.log(1)"}


def _manifest(files: dict[str, bytes], build_id: str = BUILD) -> bytes:
    return BundleManifest(
        build_id=build_id, commit=None, source_digest="sha256:" + "a" * 64,
        record_started_at="2026-01-01T00:00:00Z", sealed_at="2026-01-01T00:01:00Z",
        freshness="timestamps",
        files=tuple(FileEntry(path=p, sha256=hashlib.sha256(b).hexdigest(), size=len(b),
                              mode=0o644, mtime="2026-01-01T00:00:30Z")
                    for p, b in files.items()),
    ).model_dump_json().encode()


def _bundle_layer(root: str = "app/web") -> bytes:
    return tar_bytes([d("app"), d(root), *(f(f"{root}/{p}", b) for p, b in BUNDLE.items()),
                      f(f"{root}/buildguard-manifest.json", _manifest(BUNDLE))])


def _verify(ref: str, **kw: object) -> buildguard.VerifyReport:
    return buildguard.verify(ref, expect_build_id=BUILD, no_cache=True, environ={},
                             **kw)  # type: ignore[arg-type]


def _errors(report: buildguard.VerifyReport) -> list[tuple[str, str | None]]:
    return sorted((x.code, x.path) for x in report.findings if x.severity == "error")


def test_a_bundle_nested_in_the_named_path_is_checked_too(tmp_path: Path) -> None:
    """`--path /app/web` names a sealed bundle; a later layer adds /app/web/x with a
    manifest of its own (junk, or another build's) and a file. The folder is served under
    /app/web, so it must be judged: before, it was left out of /app/web's extra-file check
    (as a nested bundle) and never checked itself, and verify passed."""
    later = tar_bytes([d("app/web/x"), f("app/web/x/buildguard-manifest.json", b"junk"),
                       f("app/web/x/evil.js", b"evil")])
    write_layout(tmp_path / "img", [_bundle_layer(), later])
    ref = f"oci-layout:{tmp_path / 'img'}:latest"
    named = _verify(ref, paths=["/app/web"])
    everything = _verify(ref)
    assert not named.ok and not everything.ok
    assert _errors(named) == _errors(everything) == [
        ("MANIFEST_INVALID", "/app/web/x/buildguard-manifest.json")]
    assert {b.root for b in named.bundles} == {"/app/web", "/app/web/x"}


def test_a_nested_bundle_of_another_build_fails_under_the_named_path(tmp_path: Path) -> None:
    other = {"old.js": b"old"}
    later = tar_bytes([d("app/web/x"), f("app/web/x/old.js", b"old"),
                       f("app/web/x/buildguard-manifest.json", _manifest(other, "old-build"))])
    write_layout(tmp_path / "img", [_bundle_layer(), later])
    report = _verify(f"oci-layout:{tmp_path / 'img'}:latest", paths=["/app/web/"])
    assert ("BUILD_ID_MISMATCH", "/app/web/x/buildguard-manifest.json") in _errors(report)
    assert {b.root: b.ok for b in report.bundles} == {"/app/web": True, "/app/web/x": False}
