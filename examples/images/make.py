"""Rebuild the example images in this folder (an OCI layout with two tags).

    .venv/bin/python examples/images/make.py

It builds the example Vite app twice for real (npm), each time between `buildguard record`
and `buildguard seal`, and packs each sealed dist/ into a one-layer image as
`COPY dist /app/v5-frontend` would:

- tag `stale`: the bundle of the earlier build (example-build-0001), built 3 h 05 min
  before the current build started (under libfaketime: `apt-get install faketime`) — the
  incident;
- tag `fresh`: the bundle of the current build (example-build-0002).

`record.json` is the current build's record, so `buildguard verify --record` knows what to
expect. The layout is small (a few KB) and committed.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from imagecorpus import write_layout  # noqa: E402
from viteapp import copy_app, install_app, npm_build  # noqa: E402

BUILDGUARD = str(Path(sys.executable).parent / "buildguard")
SERVE = "app/v5-frontend"
HOURS = 3 * 3600 + 5 * 60


def build(app: Path, build_id: str, commit: str, *, hours_ago: bool = False) -> None:
    """record, npm run build, seal; with ``hours_ago``, as if it all ran HOURS earlier.

    record and seal run under libfaketime (their clocks read HOURS earlier) and the bundle's
    mtimes are set back by HOURS, since libfaketime does not fake what stat() reads.
    """
    env = {**os.environ, "BUILD_ID": build_id, "COMMIT_SHA": commit}
    shift = ["faketime", "-f", f"-{HOURS}s"] if hours_ago else []
    if hours_ago and shutil.which("faketime") is None:
        sys.exit("make.py needs faketime (apt-get install faketime) to date the old build")
    subprocess.run([*shift, BUILDGUARD, "record", "--clean", "dist"], cwd=app, env=env,
                   check=True)
    npm_build(app)
    if hours_ago:
        for path in (app / "dist").rglob("*"):
            moment = path.stat().st_mtime - HOURS
            os.utime(path, (moment, moment))
    subprocess.run([*shift, BUILDGUARD, "seal", "dist"], cwd=app, check=True)
    if hours_ago:
        manifest = app / "dist/buildguard-manifest.json"
        moment = manifest.stat().st_mtime - HOURS
        os.utime(manifest, (moment, moment))


def layer(dist: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            return info

        # as COPY writes it: the folders above the bundle too (without them dockerd would
        # create /app with mode 0600, and verify refuses a bundle under such a folder)
        parent = owner(tarfile.TarInfo(SERVE.split("/")[0]))
        parent.type, parent.mode = tarfile.DIRTYPE, 0o755
        parent.mtime = int(dist.stat().st_mtime)
        tar.addfile(parent)
        tar.add(dist, arcname=SERVE, filter=owner)
    return buffer.getvalue()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        installed = install_app(Path(tmp) / "installed")
        old = copy_app(installed, Path(tmp) / "old")
        build(old, "example-build-0001", "a" * 40, hours_ago=True)
        new = copy_app(installed, Path(tmp) / "new")
        (new / "src/main.js").write_text(
            (new / "src/main.js").read_text() + "\nconsole.info('v5 API paths')\n"
        )
        build(new, "example-build-0002", "b" * 40)
        history = [{"created": "2026-11-27T12:00:00Z",
                    "created_by": "COPY dist /app/v5-frontend # buildkit"}]
        out = HERE / "layout"
        shutil.rmtree(out, ignore_errors=True)
        stale = Path(tmp) / "stale"
        fresh = Path(tmp) / "fresh"
        write_layout(stale, [layer(old / "dist")], tag="stale", history=history)
        write_layout(fresh, [layer(new / "dist")], tag="fresh", history=history)
        # merge the two layouts into one with two tags
        out.mkdir()
        (out / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        manifests = []
        for part in (stale, fresh):
            shutil.copytree(part / "blobs", out / "blobs", dirs_exist_ok=True)
            manifests += json.loads((part / "index.json").read_text())["manifests"]
        (out / "index.json").write_text(
            json.dumps({"schemaVersion": 2, "manifests": manifests}, indent=2) + "\n"
        )
        record = json.loads((new / ".buildguard/record.json").read_text())
        record["source_root"] = "/workspace/examples/vite-app"
        (HERE / "record.json").write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {out} (tags stale, fresh) and {HERE / 'record.json'}")


if __name__ == "__main__":
    main()
