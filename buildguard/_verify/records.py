"""The records ``verify`` judges bundles against: read them, refuse ones that cannot all be
this build's, and describe them for the checks and the report.

Several records are a monorepo's (one per app, all of one build): records of different
build ids, or of one build id and different commits, are a :class:`RecordConflict` (exit 2).
The default record (``.buildguard/record.json``) may be a leftover of an earlier build in a
workspace kept between builds: when it is what names the expected build id, it is trusted
only if it belongs to this checkout (:func:`check_leftover`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from buildguard._checks.findings import RecordFacts
from buildguard._internal.git import git_head
from buildguard._record.recordfile import DEFAULT_RECORD, load_record
from buildguard.errors import RecordConflict
from buildguard.models import ExpectedRecord, Record

RecordSource = Record | str | os.PathLike[str]


@dataclass(frozen=True)
class GivenRecord:
    """One record and the file it was read from (``None``: given as a model)."""

    record: Record
    file: str | None

    @property
    def name(self) -> str:
        return self.file if self.file is not None else f"record of {self.record.source_root}"

    def facts(self) -> RecordFacts:
        return RecordFacts(self.name, self.record.source_digest, self.record.started_at)

    def model(self) -> ExpectedRecord:
        rec = self.record
        return ExpectedRecord(
            name=self.name,
            file=self.file,
            build_id=rec.build_id,
            commit=rec.commit,
            source_root=rec.source_root,
            source_digest=rec.source_digest,
            started_at=rec.started_at,
        )


def read_records(given: Sequence[RecordSource]) -> tuple[GivenRecord, ...]:
    """Each record given (a file that cannot be read is exit 2), checked to be of one build."""
    records = tuple(
        GivenRecord(r, None) if isinstance(r, Record) else GivenRecord(load_record(r), os.fspath(r))
        for r in given
    )
    _check_one_build(records)
    return records


def default_record() -> GivenRecord | None:
    """``.buildguard/record.json`` in the current folder, when it exists."""
    if not DEFAULT_RECORD.is_file():
        return None
    return GivenRecord(load_record(DEFAULT_RECORD), str(DEFAULT_RECORD))


def _check_one_build(records: Sequence[GivenRecord]) -> None:
    builds = dict.fromkeys(r.record.build_id for r in records)
    if len(builds) > 1:
        listed = "; ".join(f"{r.name}: build {r.record.build_id}" for r in records)
        raise RecordConflict(
            f"the records given are of {len(builds)} different builds ({listed}): verify "
            "judges an image against one build",
            hint="pass only this build's records (one per app, each written by `buildguard "
            "record --out FILE` in this build)",
        )
    commits = dict.fromkeys(r.record.commit for r in records)
    if len(commits) > 1:
        listed = "; ".join(f"{r.name}: commit {r.record.commit or '(none)'}" for r in records)
        raise RecordConflict(
            f"the records given are of one build but name different commits ({listed})",
            hint="record every app of the build from the same checkout, or pass --expect-commit",
        )


def _same_commit(head: str, recorded: str | None) -> bool:
    """``recorded`` names ``head`` (in full, or abbreviated to 7 or more characters)."""
    if not recorded:
        return False
    recorded = recorded.lower()
    return head == recorded or (len(recorded) >= 7 and head.startswith(recorded))


def check_leftover(found: GivenRecord, folder: Path) -> None:
    """Refuse the default record when it names the expected build id but another commit
    than the checkout at ``folder`` (a record left by an earlier build in a kept workspace).
    Without git or outside a repository there is nothing to compare: it is trusted."""
    head = git_head(folder)
    if head is None or _same_commit(head.lower(), found.record.commit):
        return
    recorded = found.record.commit or "no commit"
    raise RecordConflict(
        f"{found.name} is the record of build {found.record.build_id} at commit {recorded}, "
        f"but this checkout is at commit {head} (git rev-parse HEAD in {folder}): it is "
        "left from an earlier build, so it cannot name the build id to expect",
        hint="run `buildguard record` in this build before the bundle is built, or pass "
        f"--record {found.name} to use this record anyway",
    )
