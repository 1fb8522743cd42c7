"""Reports that must stay true: --platform all text per platform, non-UTF-8 names in JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from clitools import buildguard_cli
from imagecorpus import d, f, tar_bytes, write_layout

from buildguard.models import BundleManifest, FileEntry

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = ROOT / "examples/images/layout"
RECORD = str(ROOT / "examples/images/record.json")
ENV = {"BUILD_ID": "", "COMMIT_SHA": ""}


def _multi_platform_layout(root: Path) -> None:
    """The shipped example's fresh image as linux/amd64 and its stale one as linux/arm64,
    behind one OCI index."""
    shutil.copytree(LAYOUT, root)
    entries = json.loads((root / "index.json").read_text())["manifests"]
    by_tag = {e["annotations"]["org.opencontainers.image.ref.name"]: e for e in entries}
    children = []
    for tag, arch in (("fresh", "amd64"), ("stale", "arm64")):
        child = {k: v for k, v in by_tag[tag].items() if k != "annotations"}
        children.append({**child, "platform": {"os": "linux", "architecture": arch}})
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": children,
        }
    ).encode()
    import hashlib

    digest = hashlib.sha256(index).hexdigest()
    (root / "blobs/sha256" / digest).write_bytes(index)
    (root / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "digest": f"sha256:{digest}",
                        "size": len(index),
                        "annotations": {"org.opencontainers.image.ref.name": "multi"},
                    }
                ],
            }
        )
    )


def test_platform_all_text_shows_each_finding_under_its_own_platform(tmp_path: Path) -> None:
    _multi_platform_layout(tmp_path / "l")
    done = buildguard_cli(
        "verify",
        f"oci-layout:{tmp_path / 'l'}:multi",
        "--platform",
        "all",
        "--record",
        RECORD,
        cwd=tmp_path,
        env=ENV,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    sections = done.stdout.split("\nbundle ")
    amd = next(s for s in sections if s.startswith("/app/v5-frontend [linux/amd64]"))
    arm = next(s for s in sections if s.startswith("/app/v5-frontend [linux/arm64]"))
    assert ": ok " in amd.splitlines()[0] and "FAIL" not in amd
    assert "FAILED" in arm.splitlines()[0] and "FAIL BUILD_ID_MISMATCH" in arm


def test_non_utf8_names_are_escaped_in_json(tmp_path: Path) -> None:
    raw_name = "app/dist/caf\udce9.js"  # the byte 0xe9 alone: not UTF-8
    sealed = BundleManifest(
        build_id="b-123456",
        commit=None,
        source_digest="sha256:" + "a" * 64,
        record_started_at="2026-01-01T00:00:00Z",
        sealed_at="2026-01-01T00:01:00Z",
        freshness="timestamps",
        files=(
            FileEntry(
                path="other.js", sha256="0" * 64, size=1, mode=0o644, mtime="2026-01-01T00:00:30Z"
            ),
        ),
    )
    layer = tar_bytes(
        [
            d("app"),
            d("app/dist"),
            f(raw_name, "x"),
            f("app/dist/buildguard-manifest.json", sealed.model_dump_json()),
        ]
    )
    write_layout(tmp_path / "l", [layer])
    ref = f"oci-layout:{tmp_path / 'l'}:latest"
    inspect = buildguard_cli("inspect", ref, "--json", cwd=tmp_path)
    assert inspect.returncode == 0, inspect.stderr
    paths = [x["path"] for x in json.loads(inspect.stdout)["files"]]
    assert "/app/dist/caf\\xe9.js" in paths
    verify = buildguard_cli(
        "verify", ref, "--json", "--expect-build-id", "b-123456", cwd=tmp_path, env=ENV
    )
    assert verify.returncode == 1, verify.stderr
    report = json.loads(verify.stdout)
    extra = [x for x in report["findings"] if x["code"] == "FILE_EXTRA"]
    assert [x["path"] for x in extra] == ["/app/dist/caf\\xe9.js"]
    assert "Traceback" not in verify.stderr + inspect.stderr
