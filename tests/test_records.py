"""The records verify trusts (issue 20, points 2 and 3): several records of one build (a
monorepo), the default record of another commit (a kept workspace), and record refusing to
overwrite another app's record of the same build.

The checks are run on hand-made trees; the leftover record on a real git checkout (real
``git``); the record refusal through the library. The same cases end to end through the CLI
are in ``test_records_e2e.py``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from workspaces import commit_all, git, init_repo

import buildguard
from buildguard._checks.checks import check_image
from buildguard._checks.findings import RecordFacts, ResolvedExpectations
from buildguard._verify.records import read_records
from buildguard.models import BundleManifest, FileEntry, LayerInfo, Record

STARTED = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
DIGEST_C = "sha256:" + "c" * 64
LAYERS = [LayerInfo(index=0, digest="sha256:" + "0" * 64, size=10, created_by="COPY . /srv")]
BUILD = "build-mono-0001"


class Entry:
    def __init__(self, kind: str, data: bytes = b"", mtime: int = 0) -> None:
        self.type = kind
        self.size = len(data)
        self.sha256 = hashlib.sha256(data).hexdigest() if kind == "file" else None
        self.mode = 0o644 if kind == "file" else 0o755
        self.mtime = mtime
        self.layer = 0
        self.link_target = None


def bundle(
    root: str, source_digest: str, data: bytes, *, at: datetime = STARTED
) -> tuple[dict[str, Entry], dict[str, bytes]]:
    """A sealed bundle at ``root`` of one file, bound to ``source_digest``; its tree entries
    and manifest bytes."""
    manifest = BundleManifest(
        build_id=BUILD,
        commit="c1",
        source_digest=source_digest,
        record_started_at=at,
        sealed_at=at + timedelta(minutes=1),
        freshness="canary",
        files=(
            FileEntry(
                path="app.js",
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                mode=0o644,
                mtime=at,
            ),
        ),
    )
    raw = manifest.model_dump_json().encode()
    mtime = int((at + timedelta(seconds=30)).timestamp())
    tree = {
        root: Entry("dir", mtime=mtime),
        f"{root}/app.js": Entry("file", data, mtime),
        f"{root}/buildguard-manifest.json": Entry("file", raw, mtime),
    }
    return tree, {f"{root}/buildguard-manifest.json": raw}


def expect(*records: RecordFacts) -> ResolvedExpectations:
    """What verify resolves from these records (as ``verifier._expectations`` does)."""
    return ResolvedExpectations(
        build_id=BUILD,
        commit="c1",
        source_digest=records[0].source_digest if len(records) == 1 else None,
        started_at=min(r.started_at for r in records),
        records=records,
    )


def two_apps(b_digest: str = DIGEST_B) -> tuple[dict[str, Entry], dict[str, bytes]]:
    tree_a, raw_a = bundle("/srv/a", DIGEST_A, b"a")
    tree_b, raw_b = bundle("/srv/b", b_digest, b"b")
    return {"/srv": Entry("dir"), **tree_a, **tree_b}, {**raw_a, **raw_b}


RECORD_A = RecordFacts("a.json", DIGEST_A, STARTED)
RECORD_B = RecordFacts("b.json", DIGEST_B, STARTED + timedelta(seconds=5))


def test_each_bundle_is_judged_against_the_record_its_manifest_names() -> None:
    tree, raw = two_apps()
    bundles, findings, compared = check_image(tree, raw, LAYERS, expect(RECORD_A, RECORD_B))
    assert [f.code for f in findings] == [] and compared == 2
    assert {b.root: b.record for b in bundles} == {"/srv/a": "a.json", "/srv/b": "b.json"}
    assert all(b.ok for b in bundles)


def test_several_records_none_matching_is_source_mismatch_naming_every_record() -> None:
    tree, raw = two_apps(b_digest=DIGEST_C)
    bundles, findings, _ = check_image(tree, raw, LAYERS, expect(RECORD_A, RECORD_B))
    errors = [f for f in findings if f.severity == "error"]
    assert [(f.code, f.bundle) for f in errors] == [("SOURCE_MISMATCH", "/srv/b")]
    assert "a.json" in errors[0].message and "b.json" in errors[0].message
    assert errors[0].hint is not None and "--record" in errors[0].hint
    assert not any(f.code == "SOURCE_UNCHECKED" for f in findings)
    assert {b.root: b.record for b in bundles} == {"/srv/a": "a.json", "/srv/b": None}


def test_one_record_judges_every_bundle_and_is_named_when_it_does_not_match() -> None:
    tree, raw = two_apps()
    bundles, findings, _ = check_image(tree, raw, LAYERS, expect(RECORD_A))
    mismatch = [f for f in findings if f.code == "SOURCE_MISMATCH"]
    assert [f.bundle for f in mismatch] == ["/srv/b"]
    assert "in a.json" in mismatch[0].message and mismatch[0].hint is not None
    assert {b.root: b.record for b in bundles} == {"/srv/a": "a.json", "/srv/b": "a.json"}


def _record(source_root: str, build_id: str = BUILD, commit: str | None = "c1") -> Record:
    return Record(
        build_id=build_id,
        commit=commit,
        started_at=STARTED,
        source_root=source_root,
        source_digest=DIGEST_A,
        files=(),
    )


def test_records_of_different_builds_or_commits_are_exit_2() -> None:
    with pytest.raises(buildguard.RecordConflict) as builds:
        read_records((_record("/w/a"), _record("/w/b", build_id="build-mono-0002")))
    assert builds.value.exit_code == 2
    assert "build-mono-0001" in str(builds.value) and "build-mono-0002" in str(builds.value)
    with pytest.raises(buildguard.RecordConflict):
        read_records((_record("/w/a"), _record("/w/b", commit="c2")))
    assert len(read_records((_record("/w/a"), _record("/w/b")))) == 2


def test_expectations_take_one_record_or_several() -> None:
    assert buildguard.Expectations(records="a.json").records == ("a.json",)  # type: ignore[arg-type]
    assert buildguard.Expectations(records=["a.json", "b.json"]).records == (  # type: ignore[arg-type]
        "a.json",
        "b.json",
    )
    assert buildguard.Expectations().records == ()


# ------------------------------------------------------------------ the leftover default record


@pytest.fixture
def moved_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A git checkout whose default record was made at a commit HEAD has moved two past;
    the current folder. Returns (the record's commit, HEAD)."""
    init_repo(tmp_path)
    (tmp_path / "src.js").write_text("export const v = 1\n")
    first = commit_all(tmp_path, "first")
    monkeypatch.chdir(tmp_path)
    buildguard.record(".", buildguard.RecordOptions(env_file=None), environ={"BUILD_ID": BUILD})
    assert buildguard.load_record().commit == first
    (tmp_path / "src.js").write_text("export const v = 2\n")
    commit_all(tmp_path, "second")
    (tmp_path / "src.js").write_text("export const v = 3\n")
    head = commit_all(tmp_path, "third")
    return first, head


NO_IMAGE = "oci-layout:/nonexistent/buildguard-layout:t"


def test_a_default_record_of_another_commit_is_not_trusted_to_name_the_build(
    moved_checkout: tuple[str, str],
) -> None:
    first, head = moved_checkout
    with pytest.raises(buildguard.RecordConflict) as refused:
        buildguard.verify(NO_IMAGE, environ={})
    assert refused.value.exit_code == 2
    assert first in refused.value.message and head in refused.value.message
    assert refused.value.hint is not None
    assert "buildguard record" in refused.value.hint and "--record" in refused.value.hint


@pytest.mark.parametrize(
    ("expect", "environ"),
    [
        (buildguard.Expectations(records=(".buildguard/record.json",)), {}),
        (buildguard.Expectations(), {"BUILD_ID": BUILD}),
        (buildguard.Expectations(build_id=BUILD), {}),
    ],
    ids=["record-given", "BUILD_ID", "expect-build-id"],
)
def test_the_record_given_or_a_build_id_from_elsewhere_behaves_as_before(
    moved_checkout: tuple[str, str], expect: buildguard.Expectations, environ: dict[str, str]
) -> None:
    """The image is read (and is missing: exit 3), so the record was not refused."""
    with pytest.raises(buildguard.ImageReadError):
        buildguard.verify(NO_IMAGE, expect, environ=environ)


def test_a_default_record_of_this_checkouts_commit_is_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_repo(tmp_path)
    (tmp_path / "src.js").write_text("export const v = 1\n")
    head = commit_all(tmp_path, "first")
    monkeypatch.chdir(tmp_path)
    for commit in (None, head[:7], head.upper()):  # git's, abbreviated, in capitals
        options = buildguard.RecordOptions(env_file=None, commit=commit)
        buildguard.record(".", options, environ={"BUILD_ID": BUILD})
        with pytest.raises(buildguard.ImageReadError):
            buildguard.verify(NO_IMAGE, environ={})
    assert git(tmp_path, "rev-parse", "HEAD") == head


def test_without_git_the_default_record_is_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    buildguard.record(
        ".", buildguard.RecordOptions(env_file=None, commit="abc1234"), environ={"BUILD_ID": BUILD}
    )
    with pytest.raises(buildguard.ImageReadError):
        buildguard.verify(NO_IMAGE, environ={})


# ------------------------------------------------------------------ record's refusal


def test_record_refuses_another_apps_record_of_the_same_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for app in ("a", "b"):
        (tmp_path / app / "dist").mkdir(parents=True)
        (tmp_path / app / "main.js").write_text(f"export const app = '{app}'\n")
    env = {"BUILD_ID": BUILD, "COMMIT_SHA": "c1"}
    first = buildguard.record("a", buildguard.RecordOptions(env_file=None), environ=env)
    written = Path(".buildguard/record.json").read_bytes()

    options = buildguard.RecordOptions(env_file=None, clean=["b/dist"])
    with pytest.raises(buildguard.RecordConflict) as refused:
        buildguard.record("b", options, environ=env)
    assert refused.value.exit_code == 2
    assert refused.value.hint is not None and "--out" in refused.value.hint
    assert str(tmp_path / "a") in refused.value.message
    assert Path(".buildguard/record.json").read_bytes() == written  # left as it was
    assert (tmp_path / "b" / "dist").is_dir()  # refused before anything was cleaned

    # the same app again (a retried step), another out, another build: all allowed
    again = buildguard.record("a", buildguard.RecordOptions(env_file=None), environ=env)
    assert again.source_digest == first.source_digest
    other = buildguard.RecordOptions(env_file=None, out=".buildguard/b.json")
    assert buildguard.record("b", other, environ=env).source_root == str(tmp_path / "b")
    newer = buildguard.record(
        "b", buildguard.RecordOptions(env_file=None), environ={**env, "BUILD_ID": "build-next"}
    )
    assert buildguard.load_record().source_root == newer.source_root == str(tmp_path / "b")


def test_a_file_that_is_not_a_record_is_overwritten_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".buildguard").mkdir()
    (tmp_path / ".buildguard/record.json").write_text('{"build_id": 5}')
    rec = buildguard.record(
        ".", buildguard.RecordOptions(env_file=None), environ={"BUILD_ID": BUILD}
    )
    assert buildguard.load_record() == rec
