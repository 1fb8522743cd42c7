"""Fuzz buildguard's parsers, every call bounded: ``.venv/bin/python bench/fuzz.py``.

    .venv/bin/python bench/fuzz.py                        # every target, 60 s each
    .venv/bin/python bench/fuzz.py --seconds 600 --target tar --target verify
    .venv/bin/python bench/fuzz.py --cases 2000           # a case budget instead
    .venv/bin/python bench/fuzz.py --engine atheris --seconds 120   # coverage-guided

Targets (``tests/support/fuzztargets.py``): tar (the walker against Go's archive/tar, built from
``tests/support/golister``), layers (gzip/zstd framing through read_layer), manifest,
json-decoding (the Go-faithful JSON decoding against Go's encoding/json, built from
``tests/support/gojson``), reference, www-authenticate, bundle-manifest, record, verify (a sealed
bundle under a fuzzed layer), archive (the ``docker save`` archive itself: compression,
outer tar, names, which image), http-body (the bounded HTTP body reader and its incremental
decoders, hostile framing; the worker's peak RSS is part of its oracle).
The ``random`` engine mutates seed inputs deterministically (``--seed``) in a worker process
that the parent kills when one call exceeds ``--per-call`` seconds (a hang); the
``atheris`` engine runs libFuzzer (``pip install atheris``) with its own ``-timeout``.

Prints, per target: cases tried, rate, crashes, oracle failures, hangs, the outcome mix,
and each problem's input and traceback; ``--artifacts DIR`` also saves the inputs. Exit 0
whatever was found (a benchmark is not a test); ``pytest -m fuzz`` runs a small fixed
budget of the same targets and fails on any problem.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import shutil
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests" / "support"
sys.path[:0] = [str(TESTS), str(TESTS.parents[1])]

from fuzzrunner import atheris_available, run_atheris, run_target  # noqa: E402
from fuzztargets import TARGETS, scratch_dir  # noqa: E402


def _atheris_child(name: str, libfuzzer_args: list[str]) -> None:
    """libFuzzer with coverage of buildguard's modules, mutating with the same structure-aware
    mutators as the random engine (plus libFuzzer's own byte mutations)."""
    import random

    import atheris
    from fuzzmutate import mutate
    from fuzztargets import Failure

    target = TARGETS[name]()
    seeds = target.seeds()
    work = scratch_dir()
    atexit.register(shutil.rmtree, work, True)  # libFuzzer ends the process itself
    with atheris.instrument_imports(include=["buildguard"]):
        import buildguard
        import buildguard._image.layers
        import buildguard._image.manifest
        import buildguard._image.open
        import buildguard._image.reference
        import buildguard._verify.verifier  # noqa: F401

        for module in (
            "buildguard._record.recordfile",
            "buildguard._image.transport.challenge",
            "buildguard._internal.bodyread",
        ):
            with contextlib.suppress(ImportError):
                importlib.import_module(module)

        target.setup(work)

    def one(data: bytes) -> None:
        try:
            target.run(data)
        except Failure as exc:  # the oracle: report it as a finding, with the input
            raise AssertionError(f"{name}: {exc}") from None

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        out = mutate(rng, data, seeds, target.kind)
        if rng.random() < 0.3:
            out = atheris.Mutate(out, max_size)
        return out[:max_size]

    atheris.Setup([sys.argv[0], *libfuzzer_args], one, custom_mutator=custom_mutator)
    atheris.Fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--target", action="append", choices=sorted(TARGETS), help="a target (repeat; default: all)"
    )
    parser.add_argument("--seconds", type=float, help="time budget per target (default 60)")
    parser.add_argument("--cases", type=int, help="case budget per target")
    parser.add_argument(
        "--per-call", type=float, default=10.0, help="a call taking longer is a hang (default 10 s)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", choices=("random", "atheris", "both"), default="random")
    parser.add_argument("--artifacts", type=Path, help="save each problem's input here")
    parser.add_argument("--atheris-child", metavar="TARGET", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.atheris_child:
        _atheris_child(args.atheris_child, [a for a in rest if a != "--"])
        return 0
    if args.seconds is None and args.cases is None:
        args.seconds = 60.0
    targets = args.target or list(TARGETS)
    engines = ["random", "atheris"] if args.engine == "both" else [args.engine]
    if "atheris" in engines and not atheris_available():
        print("atheris is not installed (pip install atheris): running the random engine only")
        engines = ["random"]
    results = []
    for engine in engines:
        for name in targets:
            if engine == "random":
                result = run_target(
                    name,
                    cases=args.cases,
                    seconds=args.seconds,
                    seed=args.seed,
                    per_call=args.per_call,
                    log=lambda line: print("  " + line, flush=True),
                )
            else:
                work = scratch_dir()
                try:
                    result = run_atheris(
                        name,
                        seconds=args.seconds or 60.0,
                        per_call=args.per_call,
                        fuzz_script=Path(__file__),
                        work=work,
                    )
                finally:
                    shutil.rmtree(work, ignore_errors=True)
            print(result.summary(), flush=True)
            results.append(result)
            if args.artifacts:
                args.artifacts.mkdir(parents=True, exist_ok=True)
                for i, p in enumerate(result.problems):
                    (args.artifacts / f"{name}-{engine}-{p.kind}-{i}.bin").write_bytes(p.data)
    print("\nsummary:")
    for r in results:
        print(r.summary(show=0).splitlines()[0])
    total = sum(r.tried for r in results)
    problems = sum(len(r.problems) for r in results)
    print(f"{total} cases, {problems} problem(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
