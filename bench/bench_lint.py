"""Benchmark: ``buildguard lint`` on a large monorepo checkout.

One command: ``.venv/bin/python bench/bench_lint.py [--apps N] [--runs N]``.

It writes a monorepo into a temp dir (removed at the end): N frontend apps, each with a
``package.json``, a ``vite.config.ts``, 200 sources under ``src/``, a built ``dist/`` of 50
files, a multi-stage Dockerfile and a Kubernetes Deployment, plus a ``node_modules`` of 5,000
files that lint skips; one Cloud Build config builds every app in parallel (``waitFor``)
and one GitHub workflow does the same. It runs ``buildguard lint --format json`` ``--runs``
times and prints the median wall time, the files read, and the peak RSS (GNU time ``%M``).
Nothing is asserted: the figures go to docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUILDGUARD = Path(sys.executable).with_name("buildguard")
TIME = "/usr/bin/time"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def make_repo(root: Path, apps: int) -> None:
    steps = []
    jobs = []
    for n in range(apps):
        app = root / "apps" / f"app{n}"
        _write(app / "package.json", '{"scripts": {"build": "tsc && vite build"}}\n')
        _write(app / "vite.config.ts", "export default { build: { outDir: 'dist' } }\n")
        for i in range(200):
            _write(app / "src" / f"m{i}.ts", f"export const u{i} = '/api/v5/x{i}';\n")
        for i in range(50):
            _write(app / "dist" / "assets" / f"c{i}.js", f"fetch('/api/v5/x{i}')\n")
        _write(
            app / "Dockerfile",
            "FROM node:20 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n"
            "FROM nginx\nCOPY --from=build /app/dist /usr/share/nginx/html\n",
        )
        _write(
            app / "k8s" / "deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n"
            f"    spec:\n      containers:\n        - name: a\n          image: r/app{n}:v1\n",
        )
        steps.append(
            f"  - id: build{n}\n    name: node:20\n    dir: apps/app{n}\n    entrypoint: npm\n"
            f"    args: [run, build]\n    waitFor: ['-']\n"
            f"  - name: gcr.io/cloud-builders/docker\n    dir: apps/app{n}\n"
            f"    args: [build, -t, r/app{n}:$SHORT_SHA, .]\n    waitFor: [build{n}]\n"
        )
        jobs.append(
            f"  app{n}:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - uses: actions/checkout@v4\n"
            f"      - run: npm ci && npm run build\n        working-directory: apps/app{n}\n"
            f"      - run: docker build -t r/app{n}:x apps/app{n}\n"
        )
    _write(root / "cloudbuild.yaml", "steps:\n" + "".join(steps))
    _write(root / ".github" / "workflows" / "ci.yml", "on: push\njobs:\n" + "".join(jobs))
    for i in range(5000):
        _write(root / "node_modules" / f"p{i % 100}" / f"f{i}.js", "x\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bg-bench-lint-"))
    try:
        make_repo(root, options.apps)
        times = []
        rss = []
        files = 0
        for _ in range(options.runs):
            started = time.monotonic()
            done = subprocess.run(
                [TIME, "-f", "%M", str(BUILDGUARD), "lint", str(root), "--format", "json"],
                capture_output=True,
                text=True,
                check=False,
            )
            times.append(time.monotonic() - started)
            rss.append(int(done.stderr.strip().splitlines()[-1]) / 1024)
            report = json.loads(done.stdout)
            files = len(report["files"])
        median = statistics.median(times)
        print(
            f"lint: {options.apps} apps, {files} files read: median {median:.2f} s "
            f"(min {min(times):.2f}, max {max(times):.2f}), peak RSS {max(rss):.0f} MB"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
