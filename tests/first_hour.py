"""The first-hour test, on its own: `.venv/bin/python tests/first_hour.py [vite|cra|next]...`.

It follows the README and docs/cloudbuild.md on the three example apps (Vite `dist/`, Create
React App `build/`, Next.js static export `out/`): record, npm ci and build with the env
file, seal, docker build on an nginx base laid out like the official image, verify of the
daemon's image, push to a registry on loopback and verify of the digest, a real nginx
serving it and verify-live. It starts its own dockerd and registry (as root, like the
tests); tests/test_first_hour.py runs the same on the test session's services.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Sequence

from docsteps import APPS
from firsthour import FirstHour, FirstHourFailure, Services, make_nginx_base
from services import make_base_image, start_dockerd, start_registry


def main(argv: Sequence[str] = ()) -> int:
    """Run standalone: start a dockerd, a registry and the nginx base, then every app (or
    the ones named: vite, cra, next)."""
    names = list(argv) or list(APPS)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="bg-first-hour-"))
    os.environ.setdefault("BUILDGUARD_CACHE", str(work / "layer-cache"))
    failed = 0
    with contextlib.ExitStack() as stack:
        dockerd = stack.enter_context(start_dockerd())
        registry = start_registry(work / "registry")
        stack.callback(registry.stop)
        base = make_base_image(dockerd, work / "busybox")
        make_nginx_base(dockerd, base, work)
        services = Services(dockerd, registry)
        for name in names:
            first_hour = FirstHour(APPS[name], services, work)
            try:
                first_hour.run_all()
            except FirstHourFailure as failure:
                failed += 1
                print(failure, file=sys.stderr)
    print(
        f"first hour: {len(names) - failed}/{len(names)} apps passed "
        f"in {time.monotonic() - started:.0f}s"
    )
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
