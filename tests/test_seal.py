"""seal: canary, timestamp rules, the verbatim-copy exemption, refusals write nothing."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import buildguard
from buildguard.errors import RecordReadError, SealRefused, UsageError
from buildguard.models import (
    MANIFEST_MAX_BYTES,
    MANIFEST_MAX_FILES,
    MANIFEST_NAME,
    BundleManifest,
)

BUILD_ID = "build-7f3a9c"
HOURS_AGO_3 = 3 * 3600 + 5 * 60


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "app"
    (root / "src").mkdir(parents=True)
    (root / "public").mkdir()
    (root / "src/main.js").write_text("console.log(import.meta.env)\n")
    (root / "public/robots.txt").write_text("User-agent: *\n")
    monkeypatch.chdir(root)
    return root


def do_record(build_id: str = BUILD_ID, clean: bool = True) -> buildguard.Record:
    return buildguard.record(
        ".",
        buildguard.RecordOptions(clean=["dist"] if clean else []),
        environ={"BUILD_ID": build_id},
    )


def fake_build(app: Path, build_id: str = BUILD_ID) -> None:
    (app / "dist/assets").mkdir(parents=True, exist_ok=True)
    (app / "dist/index.html").write_text('<script src="/assets/index.js"></script>\n')
    (app / "dist/assets/index.js").write_text(f'window.__BUILDGUARD_BUILD_ID__="{build_id}";\n')
    (app / "dist/assets/index.css").write_text("body{margin:0}\n")


def age(path: Path, seconds: int) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past), follow_symlinks=False)


def test_fresh_build_seals_and_lists_every_file(app: Path) -> None:
    rec = do_record()
    fake_build(app)
    manifest = buildguard.seal("dist")
    on_disk = BundleManifest.model_validate_json((app / "dist" / MANIFEST_NAME).read_bytes())
    assert on_disk == manifest
    assert {f.path for f in manifest.files} == {"index.html", "assets/index.js", "assets/index.css"}
    assert manifest.freshness == "canary"
    assert manifest.canary_files == ("assets/index.js",)
    assert manifest.build_id == BUILD_ID
    assert manifest.source_digest == rec.source_digest
    assert manifest.record_started_at == rec.started_at
    js = next(f for f in manifest.files if f.path == "assets/index.js")
    assert js.media_type is not None and js.size == (app / "dist/assets/index.js").stat().st_size


def test_skipped_build_is_refused_and_names_the_stale_files(app: Path) -> None:
    do_record("build-previous")
    fake_build(app, "build-previous")
    buildguard.seal("dist")
    for path in (app / "dist").rglob("*"):
        age(path, HOURS_AGO_3)
    do_record(clean=False)  # the next build records, then the build step is skipped
    old_manifest = (app / "dist" / MANIFEST_NAME).read_bytes()
    with pytest.raises(SealRefused) as caught:
        buildguard.seal("dist")
    problems = "\n".join(caught.value.problems)
    assert "stale: assets/index.js" in problems
    assert "3 h 05 min before this build started" in problems
    assert "canary missing" in problems
    assert "record --clean dist" in (caught.value.hint or "")
    assert caught.value.exit_code == 1
    assert (app / "dist" / MANIFEST_NAME).read_bytes() == old_manifest, "nothing written"


def test_verbatim_copy_of_a_source_with_old_mtime_is_fine(app: Path) -> None:
    age(app / "public/robots.txt", 86400)
    do_record()
    fake_build(app)
    robots = app / "dist/robots.txt"
    robots.write_bytes((app / "public/robots.txt").read_bytes())
    age(robots, 86400)  # cp -p keeps the source's old mtime
    manifest = buildguard.seal("dist")
    assert "robots.txt" in {f.path for f in manifest.files}


def test_old_file_that_is_not_a_source_copy_is_refused(app: Path) -> None:
    do_record()
    fake_build(app)
    leftover = app / "dist/assets/old-chunk.js"
    leftover.write_text("old chunk")
    age(leftover, 600)
    with pytest.raises(SealRefused, match="1 problem"):
        buildguard.seal("dist")


def test_exemption_ignores_record_entries_under_the_sealed_folder(app: Path) -> None:
    do_record("build-previous")
    fake_build(app, "build-previous")
    for path in (app / "dist").rglob("*"):
        age(path, HOURS_AGO_3)
    # no --clean: the stale dist/ is hashed into the new record, yet must not vouch for itself
    rec = do_record(clean=False)
    assert any(f.path == "dist/assets/index.js" for f in rec.files)
    with pytest.raises(SealRefused) as caught:
        buildguard.seal("dist", canary=False)
    assert any("stale: assets/index.js" in p for p in caught.value.problems)


def test_future_dated_file_is_refused(app: Path) -> None:
    do_record()
    fake_build(app)
    future = time.time() + 3600
    os.utime(app / "dist/assets/index.css", (future, future))
    with pytest.raises(SealRefused) as caught:
        buildguard.seal("dist")
    assert any("future-dated: assets/index.css" in p for p in caught.value.problems)


def test_canary_missing_is_refused_unless_no_canary(app: Path) -> None:
    do_record()
    fake_build(app, "dev")
    with pytest.raises(SealRefused, match="1 problem") as caught:
        buildguard.seal("dist")
    assert "canary missing" in caught.value.problems[0]
    assert not (app / "dist" / MANIFEST_NAME).exists()
    manifest = buildguard.seal("dist", canary=False)
    assert manifest.freshness == "timestamps"
    assert (app / "dist" / MANIFEST_NAME).exists()


def test_canary_is_only_looked_for_in_code_and_markup(app: Path) -> None:
    do_record()
    fake_build(app, "dev")
    (app / "dist/version.txt").write_text(BUILD_ID)
    with pytest.raises(SealRefused, match="1 problem"):
        buildguard.seal("dist")


def test_canary_split_across_read_chunks_is_found(app: Path) -> None:
    do_record()
    fake_build(app, "dev")
    big = app / "dist/assets/vendor.js"
    pad = (1 << 20) - 3  # the id straddles the first 1 MiB chunk boundary
    big.write_bytes(b"x" * pad + BUILD_ID.encode() + b";\n")
    assert buildguard.seal("dist").canary_files == ("assets/vendor.js",)


def test_short_build_id_cannot_be_a_canary(app: Path) -> None:
    do_record("abc12")
    fake_build(app, "abc12")
    with pytest.raises(UsageError, match="shorter than 6"):
        buildguard.seal("dist")
    assert buildguard.seal("dist", canary=False).build_id == "abc12"


def test_missing_or_empty_output_is_refused(app: Path) -> None:
    do_record()
    with pytest.raises(SealRefused, match="does not exist"):
        buildguard.seal("dist")
    (app / "dist").mkdir()
    with pytest.raises(SealRefused, match="is empty"):
        buildguard.seal("dist")


def test_unreadable_record_is_a_usage_error(app: Path) -> None:
    fake_build(app)
    with pytest.raises(RecordReadError, match="no record"):
        buildguard.seal("dist")
    (app / "bad.json").write_text('{"schema_version": 1}')
    with pytest.raises(RecordReadError, match="not a valid buildguard record"):
        buildguard.seal("dist", record="bad.json")


def test_symlinks_in_the_bundle_are_sealed_as_links(app: Path) -> None:
    do_record()
    fake_build(app)
    (app / "dist/latest.js").symlink_to("assets/index.js")
    manifest = buildguard.seal("dist")
    link = next(f for f in manifest.files if f.path == "latest.js")
    assert link.type == "symlink" and link.link_target == "assets/index.js"


def _write_raw(path: bytes, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


def test_names_that_are_not_utf8_are_sealed_escaped(app: Path) -> None:
    do_record()
    fake_build(app)
    dist = os.fsencode(app / "dist")
    os.mkdir(dist + b"/caf\xe9")
    _write_raw(dist + b"/caf\xe9/chunk\xff.js", f'id="{BUILD_ID}"'.encode())
    _write_raw(dist + b"/a\\b.css", b"body{}")
    manifest = buildguard.seal("dist")
    paths = {f.path for f in manifest.files}
    assert {"caf\\xe9/chunk\\xff.js", "a\\\\b.css"} <= paths
    assert "caf\\xe9/chunk\\xff.js" in manifest.canary_files
    on_disk = BundleManifest.model_validate_json((app / "dist" / MANIFEST_NAME).read_bytes())
    assert on_disk == manifest


def test_exemption_compares_the_sealed_folder_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder sealed is `out\\xff` (a byte that is not UTF-8); its neighbour `out\\\\xff`
    (backslash, x, f, f) is a real source folder. Record entries under the sealed folder
    never vouch for it; entries under the neighbour do."""
    root = tmp_path / "app"
    raw = os.fsencode(root)
    os.makedirs(raw + b"/out\xff")
    os.makedirs(raw + b"/out\\xff")
    _write_raw(raw + b"/out\xff/stale.js", b"left from the last build")
    _write_raw(raw + b"/out\\xff/robots.txt", b"User-agent: *\n")
    for name in (b"/out\xff/stale.js", b"/out\\xff/robots.txt"):
        age(Path(os.fsdecode(raw + name)), HOURS_AGO_3)
    monkeypatch.chdir(root)
    rec = buildguard.record(".", environ={"BUILD_ID": BUILD_ID})
    assert {"out\\xff/stale.js", "out\\\\xff/robots.txt"} <= {f.path for f in rec.files}
    dist = os.fsdecode(raw + b"/out\xff")
    _write_raw(raw + b"/out\xff/copied.txt", b"User-agent: *\n")
    age(Path(os.fsdecode(raw + b"/out\xff/copied.txt")), HOURS_AGO_3)
    with pytest.raises(SealRefused) as caught:
        buildguard.seal(dist, canary=False)
    problems = "\n".join(caught.value.problems)
    assert "stale: stale.js" in problems, "its own old copy in the record does not vouch"
    assert "copied.txt" not in problems, "a copy of the neighbour's source is exempt"


@pytest.fixture
def roomy_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder on tmpfs when there is one: 100,000 names there take ~1 s, not ~10-80 s."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    made = Path(tempfile.mkdtemp(prefix="bg-test-", dir=shm))
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def test_bundle_of_more_files_than_the_cap_is_refused(app: Path, roomy_dir: Path) -> None:
    do_record()
    dist = roomy_dir / "dist"
    fake_build(roomy_dir)
    raw = os.fsencode(dist)
    os.close(os.open(raw + b"/empty", os.O_CREAT | os.O_WRONLY, 0o644))
    for d in range(101):
        os.mkdir(raw + b"/f%03d" % d)
        for i in range(991):  # hard links: one inode, so cheap even on a busy disk
            os.link(raw + b"/empty", raw + b"/f%03d/%d.txt" % (d, i))
    count = 4 + 101 * 991
    assert count > MANIFEST_MAX_FILES
    with pytest.raises(SealRefused) as caught:
        buildguard.seal(dist)
    assert f"{count:,} files" in caught.value.message
    assert f"{MANIFEST_MAX_FILES:,} files" in caught.value.message
    assert not (dist / MANIFEST_NAME).exists()


def test_manifest_larger_than_the_cap_is_refused(app: Path) -> None:
    do_record()
    fake_build(app)
    # 14 nested folders named by 250 control characters, each 6 bytes of JSON (\u0001)
    deep = os.fsencode(app / "dist") + (b"/" + b"\x01" * 250) * 14
    os.makedirs(deep)
    names = 1700
    for i in range(names):
        os.close(os.open(deep + b"/%05d.js" % i, os.O_CREAT | os.O_WRONLY, 0o644))
    assert names < MANIFEST_MAX_FILES
    with pytest.raises(SealRefused) as caught:
        buildguard.seal("dist")
    message = caught.value.message
    assert f"{names + 3:,} files in " in message and "bytes of JSON" in message
    json_bytes = int(message.split(" files in ")[1].split(" bytes")[0].replace(",", ""))
    assert json_bytes > MANIFEST_MAX_BYTES
    assert f"{MANIFEST_MAX_BYTES >> 20} MiB" in message
    assert not (app / "dist" / MANIFEST_NAME).exists()
