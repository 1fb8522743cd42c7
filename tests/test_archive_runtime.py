"""The ``docker save`` archive itself, read as ``docker load`` reads it (issue 17, part 3).

Each archive of :mod:`savecases` is read by ``buildguard inspect --json`` and loaded into the
real dockerd (``docker load``, ``docker create``, ``docker export``); what dockerd serves at
``/app/app.js`` is compared with what buildguard read there:

- dockerd refuses the archive: buildguard refuses it too (exit 3);
- dockerd loads it: buildguard reads the same bytes at ``/app/app.js``, or refuses (exit 3;
  never for a well-formed case).

Without dockerd, :func:`test_crafted_archive_reads_as_documented` checks each case's
documented reading (what the Go/moby sources say), so the rules are exercised everywhere.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from clitools import buildguard_cli
from savecases import BY_NAME, CASES, EVIL, GOOD, TAG, SaveCase, file_member
from services import Dockerd
from tarcraft import serialize

from buildguard._image import open_image, saveplan
from buildguard.errors import ImageReadError

OUTCOMES: list[str] = []
_GOOD = hashlib.sha256(GOOD).hexdigest()
_EVIL = hashlib.sha256(EVIL).hexdigest()


@pytest.fixture(scope="module", autouse=True)
def _summary(pytestconfig: pytest.Config) -> Iterator[None]:
    yield
    if not OUTCOMES:
        return
    capman = pytestconfig.pluginmanager.get_plugin("capturemanager")
    text = "\n".join(["", "docker load vs buildguard:", *OUTCOMES])
    if capman is not None:
        with capman.global_and_fixture_disabled():
            print(text)


def _ours(case: SaveCase, work: Path) -> tuple[int, str | None, str]:
    """(exit code, sha256 of /app/app.js as buildguard reads it, stderr)."""
    archive = work / f"{case.name}.tar"
    archive.write_bytes(case.data)
    done = buildguard_cli("inspect", "--json", f"docker-archive:{archive}")
    assert done.returncode in (0, 3), f"{case.name}: exit {done.returncode}: {done.stderr[-800:]}"
    assert "Traceback" not in done.stderr
    if done.returncode != 0:
        return done.returncode, None, done.stderr
    files = {f["path"]: f for f in json.loads(done.stdout)["files"]}
    entry = files.get("/app/app.js")
    return 0, entry["sha256"] if entry else None, done.stderr


def _served(dockerd: Dockerd, case: SaveCase, work: Path) -> tuple[str | None, str]:
    """sha256 of /app/app.js as dockerd serves it, or None and why it did not."""
    archive = work / f"{case.name}.tar"
    archive.write_bytes(case.data)
    loaded = dockerd.docker("load", "-i", str(archive), check=False)
    if loaded.returncode != 0:
        return None, f"docker load: {loaded.stderr.strip()[-300:]}"
    try:
        created = dockerd.docker("create", TAG, "sh", check=False)
        if created.returncode != 0:
            return None, f"docker create: {created.stderr.strip()[-300:]}"
        cid = created.stdout.strip()
        exported = subprocess.run(
            [dockerd.cli, "export", cid],
            env=dockerd.env,
            capture_output=True,
            timeout=300,
            check=False,
        )
        dockerd.docker("rm", cid, check=False)
    finally:
        dockerd.docker("rmi", "-f", TAG, check=False)
    with tarfile.open(fileobj=io.BytesIO(exported.stdout)) as tar:
        try:
            member = tar.extractfile("app/app.js")
        except KeyError:
            return None, "no /app/app.js in the export"
        assert member is not None
        return hashlib.sha256(member.read()).hexdigest(), "loaded"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_crafted_archive_reads_as_documented(case: SaveCase, tmp_path: Path) -> None:
    rc, digest, err = _ours(case, tmp_path)
    if case.well_formed:
        assert rc == 0, f"{case.name} ({case.note}) refused: {err[-600:]}"
    if case.expect is not None:
        assert rc == 0, f"{case.name} ({case.note}) refused: {err[-600:]}"
        assert digest == hashlib.sha256(case.expect).hexdigest(), case.name
    elif rc == 0:
        pytest.fail(f"{case.name} ({case.note}) read, expected a refusal")


@pytest.mark.docker
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_crafted_archive_agrees_with_docker_load_or_is_refused(
    case: SaveCase, dockerd: Dockerd, tmp_path: Path
) -> None:
    served, why = _served(dockerd, case, tmp_path)
    rc, digest, err = _ours(case, tmp_path)
    ours = (
        "refused"
        if rc
        else ("good" if digest == _GOOD else "evil" if digest == _EVIL else str(digest))
    )
    theirs = (
        "refused"
        if served is None
        else ("good" if served == _GOOD else "evil" if served == _EVIL else str(served))
    )
    OUTCOMES.append(f"  {case.name}: dockerd {theirs}, buildguard {ours}")
    if served is None:
        assert rc == 3, f"{case.name}: dockerd refuses ({why}) but buildguard reads it"
        return
    if rc == 3:
        assert not case.well_formed, f"{case.name}: well-formed, refused: {err[-600:]}"
        return
    assert digest == served, (
        f"{case.name} ({case.note}): dockerd serves {served}, buildguard read {digest}"
    )


def test_small_members_kept_in_memory_are_bounded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Thousands of 1 MiB blobs cannot fill memory: the kept bytes are capped."""
    plain = BY_NAME["plain"].data
    monkeypatch.setattr(saveplan, "KEPT_LIMIT", len(plain) + 4096)
    archive = tmp_path / "many.tar"
    archive.write_bytes(
        serialize([file_member(f"blobs/sha256/{i:064x}", b"x" * 2048) for i in range(8)])[:-1024]
        + plain
    )
    with (
        open_image(f"docker-archive:{archive}") as image,
        pytest.raises(ImageReadError, match="MiB of small members"),
    ):
        image.read()
    (tmp_path / "plain.tar").write_bytes(plain)
    with open_image(f"docker-archive:{tmp_path / 'plain.tar'}") as image:
        image.read()
