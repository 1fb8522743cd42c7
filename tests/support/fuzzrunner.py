"""Run a fuzz target with every call bounded: a worker process runs the cases, the parent
watches the clock.

The worker (``multiprocessing``, spawn) sets the target up once and runs cases ``start`` …
``end`` in order; before each it tells the parent which case it starts. If a case takes
longer than ``per_call`` seconds, the parent kills the worker, records a hang (with the
input, which it can rebuild: case ``i`` is ``mutate(Random(f"{seed}/{target}/{i}"), …)``)
and starts a new worker at the next case. Crashes (exceptions that are not the target's
accepted errors) and oracle failures are reported by the worker and do not stop the run.

Also the ``atheris`` engine (coverage-guided, libFuzzer): :func:`run_atheris` runs
``bench/fuzz.py --atheris-child`` in a subprocess with libFuzzer's own ``-timeout`` and
``-max_total_time``, and reads the figures from its output.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import random
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from fuzzmutate import mutate
from fuzztargets import TARGETS, Failure, Target, scratch_dir

TESTS = Path(__file__).resolve().parent
"""tests/support: the helpers the fuzz targets import."""
ROOT = TESTS.parents[1]


@dataclass
class Problem:
    case: int
    kind: str
    """``crash``, ``failure`` (the oracle), ``hang``, or ``harness`` (a bug of the fuzzer)."""
    detail: str
    data: bytes


@dataclass
class RunResult:
    target: str
    engine: str
    tried: int = 0
    seconds: float = 0.0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    problems: list[Problem] = field(default_factory=list)

    def summary(self, *, show: int = 3) -> str:
        rate = self.tried / self.seconds if self.seconds else 0.0
        kinds = collections.Counter(p.kind for p in self.problems)
        lines = [
            f"{self.target:17} {self.engine:8} {self.tried:8} cases {self.seconds:7.1f} s "
            f"({rate:7.0f}/s)  crashes {kinds['crash']}  failures {kinds['failure']}  "
            f"hangs {kinds['hang']}"
            + (f"  HARNESS ERRORS {kinds['harness']}" if kinds["harness"] else "")
        ]
        top = ", ".join(f"{k} {n}" for k, n in self.outcomes.most_common(6))
        if top:
            lines.append(f"{'':17} outcomes: {top}")
        for p in self.problems[:show]:
            lines.append(
                f"  {p.kind} at case {p.case} (input {len(p.data)} bytes, "
                f"{p.data[:48]!r}...):\n    " + p.detail.strip().replace("\n", "\n    ")
            )
        return "\n".join(lines)


def case_input(target: Target, seeds: list[bytes], seed: int, index: int) -> bytes:
    """Case ``index`` of a run: a seed as it is (the first ``len(seeds)`` cases), then
    mutations."""
    if index < len(seeds):
        return seeds[index]
    rng = random.Random(f"{seed}/{target.name}/{index}")
    return mutate(rng, rng.choice(seeds), seeds, target.kind)


def _run_one(target: Target, data: bytes) -> tuple[str, str]:
    try:
        return "ok", target.run(data)
    except Failure as exc:
        return "failure", str(exc)
    except Exception as exc:  # a crash: anything that is not the target's accepted errors
        return "crash", "".join(traceback.format_exception(exc))[-3000:]


def _worker(conn: Connection, name: str, seed: int, start: int, end: int, deadline: float) -> None:
    sys.path[:0] = [str(TESTS), str(ROOT)]
    target = TARGETS[name]()
    seeds = target.seeds()
    work = scratch_dir()
    try:
        target.setup(work)
        conn.send(("ready", start))
        for index in range(start, end):
            if time.time() > deadline:
                break
            try:
                data = case_input(target, seeds, seed, index)
            except Exception as exc:  # the harness's own bug: say so, do not hide it
                conn.send(("start", index))
                conn.send(("done", index, "harness", "".join(traceback.format_exception(exc))))
                continue
            conn.send(("start", index))
            kind, detail = _run_one(target, data)
            conn.send(("done", index, kind, detail))
    finally:
        target.close()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        conn.send(("exit", None))
        conn.close()


def run_target(
    name: str,
    *,
    cases: int | None = None,
    seconds: float | None = None,
    seed: int = 0,
    per_call: float = 10.0,
    setup_timeout: float = 300.0,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Run target ``name`` for ``cases`` cases or ``seconds`` seconds (whichever ends first)."""
    assert cases or seconds, "give a case or a time budget"
    ctx = multiprocessing.get_context("spawn")
    result = RunResult(name, "random")
    started = time.monotonic()
    deadline = time.time() + (seconds if seconds else 10**9)
    end = cases if cases else 10**12
    seeds = TARGETS[name]().seeds()
    next_case = 0
    while next_case < end and time.time() < deadline:
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=_worker, args=(child, name, seed, next_case, end, deadline), daemon=True
        )
        proc.start()
        child.close()
        current: int | None = None
        limit = setup_timeout
        try:
            while True:
                if not parent.poll(limit):
                    index = current if current is not None else next_case
                    data = case_input(TARGETS[name](), seeds, seed, index)
                    result.problems.append(
                        Problem(index, "hang", f"no answer within {limit} s (worker killed)", data)
                    )
                    result.tried += 1
                    next_case = index + 1
                    break
                try:
                    message = parent.recv()
                except EOFError:  # the worker died: count the case it was on as a crash
                    index = current if current is not None else next_case
                    data = case_input(TARGETS[name](), seeds, seed, index)
                    result.problems.append(
                        Problem(
                            index,
                            "crash",
                            f"the worker process died (exit code {proc.exitcode})",
                            data,
                        )
                    )
                    result.tried += 1
                    next_case = index + 1
                    break
                if message[0] == "ready":
                    limit = per_call
                elif message[0] == "start":
                    current = message[1]
                elif message[0] == "done":
                    _, index, kind, detail = message
                    result.tried += 1
                    current = None
                    next_case = index + 1
                    if kind == "ok":
                        result.outcomes[detail] += 1
                    else:
                        data = (
                            b""
                            if kind == "harness"
                            else case_input(TARGETS[name](), seeds, seed, index)
                        )
                        result.problems.append(Problem(index, kind, detail, data))
                        if log:
                            log(f"{name}: {kind} at case {index}: {detail.splitlines()[-1]}")
                elif message[0] == "exit":
                    next_case = end if time.time() < deadline else next_case
                    break
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join(10)
            parent.close()
    result.seconds = time.monotonic() - started
    return result


# ------------------------------------------------------------------------------- atheris


def atheris_available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def run_atheris(
    name: str, *, seconds: float, per_call: float, fuzz_script: Path, work: Path
) -> RunResult:
    """libFuzzer via atheris, in its own process; figures parsed from its output."""
    result = RunResult(name, "atheris")
    corpus = work / f"corpus-{name}"
    corpus.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(TARGETS[name]().seeds()):
        (corpus / f"seed-{i:04d}").write_bytes(data)
    artifacts = work / f"artifacts-{name}"
    artifacts.mkdir(exist_ok=True)
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            str(fuzz_script),
            "--atheris-child",
            name,
            "--",
            f"-max_total_time={int(seconds)}",
            f"-timeout={int(max(per_call, 1))}",
            "-print_final_stats=1",
            f"-artifact_prefix={artifacts}/",
            "-rss_limit_mb=4096",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 300,
        check=False,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)])),
    )
    result.seconds = time.monotonic() - started
    out = done.stdout + done.stderr
    executed = re.findall(r"stat::number_of_executed_units:\s*(\d+)", out)
    if executed:
        result.tried = int(executed[-1])
    else:
        runs = re.findall(r"#(\d+)\s+(?:DONE|pulse|NEW|REDUCE|INITED)", out)
        result.tried = int(runs[-1]) if runs else 0
    cov = re.findall(r"cov: (\d+)", out)
    if cov:
        result.outcomes[f"coverage {cov[-1]} edges"] = 1
    for crash in sorted(artifacts.iterdir()):
        kind = "hang" if crash.name.startswith(("timeout", "slow-unit")) else "crash"
        detail = out[-3000:] if "Traceback" in out or "timeout" in out else "see the artifact"
        result.problems.append(Problem(-1, kind, f"{crash}: {detail}", crash.read_bytes()))
    if done.returncode != 0 and not result.problems:
        result.problems.append(Problem(-1, "crash", out[-3000:], b""))
    return result
