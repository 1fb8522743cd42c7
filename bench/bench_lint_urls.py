"""``buildguard lint``'s URL-literal reader on a large minified bundle: the floor is
tree-sitter's parse alone, measured in the same run.

    .venv/bin/python bench/bench_lint_urls.py            # a ~2 MB bundle, 5 rounds
    .venv/bin/python bench/bench_lint_urls.py --mb 8 --rounds 3

The bundle is generated (minifier-shaped: short names reused across scopes, string and
template literals, ``+`` joins); the figures are medians of CPU-bound wall time. Exits 0
whatever they are (a benchmark is not a test).
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from buildguard._lint import jsurls


def bundle(megabytes: float, seed: int = 7) -> str:
    rng = random.Random(seed)
    parts = []
    size = 0
    n = 0
    while size < megabytes * (1 << 20):
        a, b = rng.choice("abcdefghijk"), rng.choice("lmnopqrstuv")
        piece = rng.choice(
            [
                f'function {a}{n}({b}){{const {a}="/api/v{n % 9}";'
                f"return fetch(`${{{a}}}/items/${{{b}}}`)}}",
                f'var {b}{n}={{k:"value {n}",u:"https://cdn.example.com/x/{n}.png",n:{n}}};',
                f'const {a}{b}{n}=({a},{b})=>{a}+"/static/"+{b}+".js";',
                f'class C{n}{{#p={n};m(){{return this.#p??"/q?x={n}"}}}}',
            ]
        )
        parts.append(piece)
        size += len(piece)
        n += 1
    return "".join(parts)


def timed(fn: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    text = bundle(args.mb)
    source = text.encode()
    floor = timed(lambda: jsurls._parser("js").parse(source), args.rounds)
    ours = timed(lambda: jsurls.url_literals("dist/assets/index.js", text), args.rounds)
    found = len(jsurls.url_literals("dist/assets/index.js", text))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bundle: {len(source) / (1 << 20):.2f} MiB, {found} URL literals")
    print(f"floor (tree-sitter parse): {floor:.3f} s")
    print(f"url_literals: {ours:.3f} s ({ours / floor:.2f}x the floor), max RSS {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
