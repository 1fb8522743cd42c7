"""verify's rules on hand-made trees: each finding code, and what must never fail or pass."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from buildguard._checks.checks import ResolvedExpectations, check_image
from buildguard.models import BundleManifest, FileEntry, LayerInfo

STARTED = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
SOURCE = "sha256:" + "a" * 64
LAYERS = [
    LayerInfo(index=0, digest="sha256:" + "0" * 64, size=10, created_by="/bin/sh -c #(nop) ADD"),
    LayerInfo(
        index=1,
        digest="sha256:" + "1" * 64,
        size=10,
        created_by="/bin/sh -c #(nop) COPY dir:abc in /app/dist",
    ),
    LayerInfo(
        index=2,
        digest="sha256:" + "2" * 64,
        size=10,
        created_by="/bin/sh -c echo hacked > /app/dist/app.js",
    ),
]


@dataclass(frozen=True)
class Entry:
    type: str
    size: int
    sha256: str | None
    mtime: int
    layer: int
    link_target: str | None = None
    mode: int = 0o644


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sealed(
    files: dict[str, bytes], build_id: str = "build-now", commit: str = "c1", at: datetime = STARTED
) -> tuple[dict[str, Entry], dict[str, bytes], BundleManifest]:
    manifest = BundleManifest(
        build_id=build_id,
        commit=commit,
        source_digest=SOURCE,
        record_started_at=at,
        sealed_at=at + timedelta(minutes=1),
        freshness="canary",
        files=tuple(
            FileEntry(path=p, sha256=sha(d), size=len(d), mode=0o644, mtime=at)
            for p, d in files.items()
        ),
    )
    raw = manifest.model_dump_json().encode()
    mtime = int((at + timedelta(seconds=30)).timestamp())
    tree = {f"/app/dist/{p}": Entry("file", len(d), sha(d), mtime, 1) for p, d in files.items()}
    tree["/app/dist"] = Entry("dir", 0, None, mtime, 1, mode=0o755)
    tree["/app/dist/buildguard-manifest.json"] = Entry("file", len(raw), sha(raw), mtime, 1)
    return tree, {"/app/dist/buildguard-manifest.json": raw}, manifest


EXPECT = ResolvedExpectations(
    build_id="build-now", commit="c1", source_digest=SOURCE, started_at=STARTED
)
FILES = {"index.html": b"<html>", "assets/app.js": b"console.log('build-now')"}


def codes(findings: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(f.code for f in findings if f.severity == "error")


def test_fresh_bundle_passes() -> None:
    tree, raw, _ = sealed(FILES)
    bundles, findings, compared = check_image(tree, raw, LAYERS, EXPECT)
    assert codes(findings) == []
    assert compared == 2 and bundles[0].ok and bundles[0].build_id == "build-now"


def test_reproducible_timestamps_do_not_fail_matching_content() -> None:
    tree, raw, _ = sealed(FILES)
    clamped = {p: Entry(e.type, e.size, e.sha256, 0, e.layer, mode=e.mode) for p, e in tree.items()}
    _, findings, _ = check_image(clamped, raw, LAYERS, EXPECT)
    assert codes(findings) == []


def test_the_incident_old_bundle_is_named_stale_with_its_age_and_layer() -> None:
    old = STARTED - timedelta(hours=3, minutes=5)
    tree, raw, _ = sealed(FILES, build_id="build-old", at=old)
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT)
    assert "BUILD_ID_MISMATCH" in codes(findings)
    stale = [f for f in findings if f.code == "FILE_STALE"]
    assert {f.path for f in stale} == {"/app/dist/index.html", "/app/dist/assets/app.js"}
    js = next(f for f in stale if f.path == "/app/dist/assets/app.js")
    assert "3 h 04 min before this build started" in js.message
    assert js.layer == 1 and js.created_by is not None and "COPY" in js.created_by
    assert js.layer_digest == LAYERS[1].digest


def test_commit_and_source_mismatch() -> None:
    tree, raw, _ = sealed(FILES, commit="other")
    expect = ResolvedExpectations("build-now", "c1", "sha256:" + "b" * 64, STARTED)
    _, findings, _ = check_image(tree, raw, LAYERS, expect)
    assert codes(findings) == ["COMMIT_MISMATCH", "SOURCE_MISMATCH"]


def test_missing_expectations_are_visible_warnings_not_silent_passes() -> None:
    tree, raw, _ = sealed(FILES)
    expect = ResolvedExpectations("build-now", None, None, STARTED)
    _, findings, _ = check_image(tree, raw, LAYERS, expect)
    warnings = sorted(f.code for f in findings if f.severity == "warning")
    assert warnings == ["COMMIT_UNCHECKED", "SOURCE_UNCHECKED"]
    assert codes(findings) == []


def test_missing_changed_and_extra_files() -> None:
    tree, raw, _ = sealed(FILES)
    del tree["/app/dist/index.html"]
    yesterday = int((STARTED - timedelta(days=1)).timestamp())
    tree["/app/dist/assets/app.js"] = Entry("file", 6, sha(b"hacked"), yesterday, 2)
    tree["/app/dist/assets/old-chunk.js"] = Entry("file", 3, sha(b"old"), yesterday, 1)
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT)
    assert codes(findings) == [
        "FILE_CHANGED",
        "FILE_EXTRA",
        "FILE_MISSING",
        "FILE_STALE",
        "FILE_STALE",
    ]
    changed = next(f for f in findings if f.code == "FILE_CHANGED")
    assert changed.layer == 2 and "echo hacked" in changed.message


def test_allow_extra_relaxes_only_extra_files() -> None:
    tree, raw, _ = sealed(FILES)
    tree["/app/dist/assets/old-chunk.js"] = Entry("file", 3, sha(b"old"), 0, 1)
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT, allow_extra=True)
    assert codes(findings) == []
    assert any(f.code == "FILE_EXTRA" and f.severity == "info" for f in findings)
    del tree["/app/dist/index.html"]
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT, allow_extra=True)
    assert codes(findings) == ["FILE_MISSING"]


def test_no_manifest_fails_and_an_empty_check_never_passes() -> None:
    tree = {"/app/dist/index.html": Entry("file", 1, sha(b"x"), 0, 1)}
    bundles, findings, _ = check_image(tree, {}, LAYERS, EXPECT)
    assert codes(findings) == ["NO_MANIFEST"] and bundles == []
    empty_tree, raw, _ = sealed({})
    _, findings, _ = check_image(empty_tree, raw, LAYERS, EXPECT)
    assert codes(findings) == ["NOTHING_CHECKED"]


def test_path_must_itself_be_a_sealed_root() -> None:
    tree, raw, _ = sealed(FILES)
    tree["/usr/share/nginx/html/index.html"] = Entry("file", 1, sha(b"x"), 0, 1)
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT, paths=["/usr/share/nginx/html"])
    assert codes(findings) == ["NO_MANIFEST"]
    assert "not a sealed bundle root" in findings[0].message
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT, paths=["/app/dist/"])
    assert codes(findings) == []


def test_invalid_manifest() -> None:
    tree, _, _ = sealed(FILES)
    _, findings, _ = check_image(
        tree, {"/app/dist/buildguard-manifest.json": b"{}"}, LAYERS, EXPECT
    )
    assert codes(findings) == ["MANIFEST_INVALID"]


def test_two_bundles_only_the_stale_one_fails() -> None:
    tree, raw, _ = sealed(FILES)
    old_tree, old_raw, _ = sealed(FILES, build_id="build-old", at=STARTED - timedelta(hours=2))
    for path, entry in old_tree.items():
        tree[path.replace("/app/dist", "/app/admin")] = entry
    raw.update({p.replace("/app/dist", "/app/admin"): d for p, d in old_raw.items()})
    bundles, findings, _ = check_image(tree, raw, LAYERS, EXPECT)
    assert {b.root: b.ok for b in bundles} == {"/app/admin": False, "/app/dist": True}
    assert {f.bundle for f in findings if f.severity == "error"} == {"/app/admin"}


def _stale_bundle_with_times(mtime: int) -> list:  # type: ignore[type-arg]
    old = STARTED - timedelta(hours=3)
    tree, raw, _ = sealed(FILES, build_id="build-old", at=old)
    clamped = {
        p: Entry(e.type, e.size, e.sha256, mtime, e.layer, mode=e.mode) for p, e in tree.items()
    }
    _, findings, _ = check_image(clamped, raw, LAYERS, EXPECT)
    return findings


def test_clamped_times_are_one_note_not_an_age_per_file() -> None:
    for mtime in (0, 1, 86_400):
        findings = _stale_bundle_with_times(mtime)
        assert [f.code for f in findings if f.code == "FILE_STALE"] == []
        notes = [f for f in findings if f.code == "TIMESTAMPS_CLAMPED"]
        assert len(notes) == 1 and notes[0].severity == "info"
        assert "2 failing file(s)" in notes[0].message and "1970-01-0" in notes[0].message
        assert "BUILD_ID_MISMATCH" in codes(findings)  # still fails, on the manifest


def test_time_equal_to_image_created_is_a_clamp() -> None:
    created = STARTED - timedelta(days=30)
    old = STARTED - timedelta(hours=3)
    tree, raw, _ = sealed(FILES, build_id="build-old", at=old)
    stamp = int(created.timestamp())
    tree = {
        p: Entry(e.type, e.size, e.sha256, stamp, e.layer, mode=e.mode) for p, e in tree.items()
    }
    expect = ResolvedExpectations("build-now", "c1", SOURCE, STARTED, image_created=created)
    _, findings, _ = check_image(tree, raw, LAYERS, expect)
    assert not [f for f in findings if f.code == "FILE_STALE"]
    assert [f.code for f in findings if f.code == "TIMESTAMPS_CLAMPED"] == ["TIMESTAMPS_CLAMPED"]
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT)  # without created: real evidence
    assert len([f for f in findings if f.code == "FILE_STALE"]) == 2


def test_a_mode_that_loses_read_for_others_or_exec_is_a_finding() -> None:
    tree, raw, _ = sealed(FILES)
    path = "/app/dist/index.html"
    entry = tree[path]
    tree[path] = Entry(entry.type, entry.size, entry.sha256, entry.mtime, 2, mode=0o600)
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT)
    assert codes(findings) == ["FILE_MODE"]
    mode = next(f for f in findings if f.code == "FILE_MODE")
    assert mode.path == path and mode.layer == 2 and "0600" in mode.message
    assert "read permission for others" in mode.message
    tree[path] = Entry(entry.type, entry.size, entry.sha256, entry.mtime, 2, mode=0o664)
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT)
    assert codes(findings) == [], "gaining permissions is no finding"


def test_a_lost_exec_bit_is_a_finding() -> None:
    tree, raw, manifest = sealed({"run.sh": b"#!/bin/sh"})
    files = tuple(f.model_copy(update={"mode": 0o755}) for f in manifest.files)
    raw = {
        "/app/dist/buildguard-manifest.json": manifest.model_copy(update={"files": files})
        .model_dump_json()
        .encode()
    }
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT)
    assert codes(findings) == ["FILE_MODE"] and "exec bit" in findings[0].message
    tree["/app/dist/run.sh"] = Entry("file", 9, sha(b"#!/bin/sh"), 0, 1, mode=0o755)
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT)
    assert codes(findings) == []


def test_missing_file_names_the_layer_whose_whiteout_deleted_it() -> None:
    from buildguard._checks.checks import MappingTree

    tree, raw, _ = sealed(FILES)
    del tree["/app/dist/index.html"]
    _, findings, _ = check_image(
        MappingTree(tree, {"/app/dist/index.html": 2}), raw, LAYERS, EXPECT
    )
    missing = next(f for f in findings if f.code == "FILE_MISSING")
    assert missing.layer == 2 and "deleted by layer 2 (/bin/sh -c echo hacked" in missing.message
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT)
    assert next(f for f in findings if f.code == "FILE_MISSING").layer is None


def test_a_manifest_over_the_file_cap_is_invalid_without_a_model_per_file() -> None:
    from buildguard.models import MANIFEST_MAX_FILES

    tree, _, manifest = sealed(FILES)
    doc = manifest.model_dump(mode="json")
    doc["files"] = [doc["files"][0]] * (MANIFEST_MAX_FILES + 1)
    import json

    big = json.dumps(doc).encode()
    _, findings, _ = check_image(tree, {"/app/dist/buildguard-manifest.json": big}, LAYERS, EXPECT)
    assert codes(findings) == ["MANIFEST_INVALID"]
    assert f"lists {MANIFEST_MAX_FILES + 1} files, over the cap" in findings[0].message
    doc["files"] = doc["files"][:MANIFEST_MAX_FILES]
    _, findings, _ = check_image(
        tree, {"/app/dist/buildguard-manifest.json": json.dumps(doc).encode()}, LAYERS, EXPECT
    )
    assert "MANIFEST_INVALID" not in codes(findings), "at the cap is fine"


def test_a_manifest_over_the_byte_cap_is_invalid() -> None:
    from buildguard.models import MANIFEST_MAX_BYTES

    tree, _, _ = sealed(FILES)
    path = "/app/dist/buildguard-manifest.json"
    tree[path] = Entry("file", MANIFEST_MAX_BYTES + 1, None, 0, 1)
    _, findings, _ = check_image(tree, {path: None}, LAYERS, EXPECT)
    assert codes(findings) == ["MANIFEST_INVALID"] and "over the 32 MiB cap" in findings[0].message


def test_a_folder_that_shuts_others_out_is_a_finding_once() -> None:
    tree, raw, _ = sealed(FILES)
    tree["/app"] = Entry("dir", 0, None, 0, 0, mode=0o755)
    tree["/app/dist"] = Entry("dir", 0, None, 0, 2, mode=0o700)
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT)
    modes = [f for f in findings if f.code == "FILE_MODE"]
    assert [f.path for f in modes] == ["/app/dist"] and modes[0].layer == 2
    assert "0700" in modes[0].message and "cannot enter it" in modes[0].message
    tree["/app/dist"] = Entry("dir", 0, None, 0, 2, mode=0o711)
    _, findings, _ = check_image(tree, raw, LAYERS, EXPECT)
    assert codes(findings) == [], "search permission is enough to serve the files"
