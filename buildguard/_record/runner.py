"""``run``: record (cleaning the output), run the build command with the build env, seal."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from buildguard._record.outputhint import no_output
from buildguard._record.recorder import RecordOptions, build_env, record
from buildguard._record.sealer import seal
from buildguard.errors import UsageError
from buildguard.models import BundleManifest, Record

RUN_SUGGESTION = "buildguard run --dist {dist} -- CMD"


@dataclass(frozen=True)
class RunResult:
    record: Record
    returncode: int
    """The build command's exit code."""
    manifest: BundleManifest | None
    """The sealed manifest; ``None`` when the command failed (nothing is sealed then)."""


def run(
    command: Sequence[str],
    *,
    source: str | os.PathLike[str] = ".",
    dist: str | os.PathLike[str] = "dist",
    canary: bool = True,
    build_id: str | None = None,
    commit: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> RunResult:
    """Record ``source`` (cleaning ``dist``), run ``command`` with the build env, then seal.

    ``build_id`` and ``commit`` are record's (default ``$BUILD_ID``; ``$COMMIT_SHA``, then
    git HEAD).

    The command inherits stdin/stdout/stderr. A failing command returns its code and seals
    nothing; a refused seal raises :class:`buildguard.errors.SealRefused`.
    """
    if not command:
        raise UsageError(
            "no build command given",
            hint="put it after --, e.g. buildguard run -- sh -c 'npm ci && npm run build'",
        )
    env = dict(os.environ if environ is None else environ)
    options = RecordOptions(clean=[dist], build_id=build_id, commit=commit)
    rec = record(source, options, environ=env)
    env.update(build_env(rec))
    try:
        returncode = subprocess.run(list(command), env=env, check=False).returncode
    except FileNotFoundError as exc:
        raise UsageError(
            f"build command not found: {command[0]}",
            hint="check the command after --, or wrap it: -- sh -c '...'",
        ) from exc
    except PermissionError as exc:
        raise UsageError(f"build command is not executable: {command[0]}") from exc
    if returncode != 0:
        return RunResult(rec, returncode, None)
    if not os.path.isdir(dist):
        raise no_output(Path(dist), "does not exist", RUN_SUGGESTION)
    return RunResult(rec, returncode, seal(dist, record=rec, canary=canary))
