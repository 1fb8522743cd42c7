"""Timing subprocesses for the benchmarks: wall time, peak RSS (GNU time), machine load."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchapp import REPO

TIME = "/usr/bin/time"  # GNU time, for peak RSS


@dataclass(frozen=True)
class Sample:
    seconds: float
    maxrss_mb: float
    cpu_s: float = 0.0
    """User + system CPU time of the command and the descendants it waited for (GNU time
    ``%U + %S``): less sensitive than wall time to other work on a loaded machine."""


def timed(
    cmd: Sequence[str],
    cwd: Path,
    log: Path,
    env: dict[str, str] | None = None,
    stdout_to_null: bool = False,
) -> Sample:
    """Run ``cmd``; wall time around spawn..reap, peak RSS from GNU time; raise on failure.

    The RSS is not taken from our own ``os.wait4``: a child forked (or vforked) from this
    big Python process and then exec'd keeps the parent's high-water RSS in its
    ``ru_maxrss``. ``/usr/bin/time`` is small, forks the command itself and reports the
    command's ``wait4`` ``ru_maxrss``: the largest single process among the command and
    the descendants it waited for (not a sum over processes running at once).
    ``stdout_to_null`` sends stdout to /dev/null (stderr still goes to ``log``).
    """
    rss_file = log.with_suffix(".rss")
    with open(log, "wb") as out, open(os.devnull, "wb") as null:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [TIME, "-f", "%M %U %S", "-o", str(rss_file), *cmd],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=null if stdout_to_null else out,
            stderr=out if stdout_to_null else subprocess.STDOUT,
        )
        _, status, _ = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(cmd)}` exited {proc.returncode}; output ({log}):\n"
            + log.read_text(errors="replace")[-4000:]
        )
    kib, user, system = rss_file.read_text().split()[-3:]
    return Sample(seconds, int(kib) / 1024.0, float(user) + float(system))


def median_s(samples: Sequence[Sample]) -> float:
    return statistics.median(s.seconds for s in samples)


def median_cpu(samples: Sequence[Sample]) -> float:
    return statistics.median(s.cpu_s for s in samples)


def max_rss(samples: Sequence[Sample]) -> float:
    return max(s.maxrss_mb for s in samples)


def load() -> str:
    """The load averages (1, 5, 15 min), as ``uptime`` prints them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def compile_bytecode() -> None:
    """Compile buildguard's bytecode as an install would (pip compiles at install time).

    An editable checkout under ``PYTHONDONTWRITEBYTECODE=1`` (as on these machines) would
    otherwise compile every module at each start (~0.1 s), which an installed tool never
    pays. The timed commands run with that variable unset (see :func:`child_env`).
    """
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "buildguard")],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def child_env(work: Path, **extra: str) -> dict[str, str]:
    """The environment of every timed command: bytecode as installed, and a cache folder of
    the run's own (``XDG_CACHE_HOME``), so nothing reads or fills ``~/.cache/buildguard``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "PYTHONDONTWRITEBYTECODE",
            "BUILDGUARD_CACHE",
            "BUILDGUARD_CACHE_KEY",
            "STORAGE_EMULATOR_HOST",
            "BUILDGUARD_LOG_LEVEL",
        )
    }
    env["XDG_CACHE_HOME"] = str(work / "xdg-cache")
    env.update(extra)
    return env


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "n/a"


def verdict(value: float, target: float, below: bool = True) -> str:
    ok = value <= target if below else value >= target
    return "PASS" if ok else "FAIL"
