#!/usr/bin/env python3
"""Pin the step images' bases by digest, read from their registries.

The bases are named in two places: the default of each Dockerfile's ``ARG *_BASE=`` and the
``_PYTHON_BASE`` / ``_NODE_BASE`` substitutions of ``steps/cloudbuild.yaml``. For each
``NAME:TAG`` (or ``NAME:TAG@sha256:OLD``), this script asks the registry for the manifest
(or index) that ``NAME:TAG`` names today with ``skopeo inspect --raw``, computes its digest
from those bytes, and rewrites the default as ``NAME:TAG@sha256:DIGEST``. A digest is never
written that was not read from a registry: when any lookup fails, no file is changed.

Run it where the public registries are reachable (a workstation, a Cloud Build step):

    python3 steps/pin-bases.py            # rewrite steps/ in place
    python3 steps/pin-bases.py --check    # exit 1 when a base is not pinned to today's digest

``--skopeo-arg`` passes options to skopeo (e.g. ``--skopeo-arg=--tls-verify=false`` for a
local registry, ``--skopeo-arg=--override-arch=amd64`` is never needed: the digest is the
index's, which covers every platform).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
from pathlib import Path

STEPS = Path(__file__).resolve().parent
# `ARG PYTHON_BASE=python:3.11-slim-bookworm` and `  _PYTHON_BASE: python:3.11-slim-bookworm`
ARG_DEFAULT = re.compile(r"^(ARG \w+_BASE=)(\S+?)(@sha256:[0-9a-f]{64})?$", re.M)
SUBSTITUTION = re.compile(r"^(  _\w+_BASE: )(\S+?)(@sha256:[0-9a-f]{64})?$", re.M)


def files(steps: Path) -> list[tuple[Path, re.Pattern[str]]]:
    found = [(p, ARG_DEFAULT) for p in sorted(steps.glob("*Dockerfile"))]
    return [*found, (steps / "cloudbuild.yaml", SUBSTITUTION)]


def digest_of(reference: str, skopeo_args: list[str]) -> str:
    """The digest of what ``reference`` (``NAME:TAG``) names in its registry today."""
    done = subprocess.run(
        ["skopeo", "inspect", *skopeo_args, "--raw", f"docker://{reference}"],
        capture_output=True,
        timeout=120,
    )
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise LookupError(f"cannot read {reference} from its registry: {message}")
    return "sha256:" + hashlib.sha256(done.stdout).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=Path, default=STEPS, help="the steps/ folder")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    parser.add_argument("--skopeo-arg", action="append", default=[], metavar="ARG")
    args = parser.parse_args(argv)

    texts = {path: path.read_text() for path, _ in files(args.steps)}
    names = sorted(
        {m.group(2) for path, pattern in files(args.steps) for m in pattern.finditer(texts[path])}
    )
    try:
        digests = {name: digest_of(name, args.skopeo_arg) for name in names}
    except LookupError as exc:
        print(f"pin-bases: {exc}; nothing was changed", file=sys.stderr)
        return 2
    stale = []
    for path, pattern in files(args.steps):
        new = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}@{digests[m.group(2)]}", texts[path])
        if new != texts[path]:
            stale.append(path)
            if not args.check:
                path.write_text(new)
    for name, digest in digests.items():
        print(f"{name}@{digest}")
    if args.check and stale:
        print(f"pin-bases: not pinned to today's digests: {', '.join(map(str, stale))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
