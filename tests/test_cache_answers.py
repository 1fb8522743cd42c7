"""Which layers the layer-index cache answered, in every report (issue 20, point 9).

A warm cache answers for a blob by its digest without reading it: right by content
addressing, since the runtime's pull checks the digest itself, but the report must say so.
Here the source's blob is damaged after the cache was filled (a layout's blob file, and the
bytes a real ``docker-registry`` serves): with the cache, verify and inspect pass and name
those layers ``read_from: cache``; with ``--no-cache`` the blob is read and refused (exit 3).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from clitools import buildguard_cli
from imagecorpus import bundle_manifest, d, f, tar_bytes, write_layout
from services import Registry

BUILD = "cache-answers-1"
BUNDLE = {"index.html": b"<html>", "assets/app.js": b"console.log(1)"}


def _layout(root: Path) -> tuple[str, list[Path]]:
    """A base layer and a sealed bundle layer on top; the reference and the layer blobs."""
    base = [d("srv"), f("srv/data.txt", "srv")]
    bundle = [
        d("app"),
        d("app/web"),
        d("app/web/assets"),
        *(f(f"app/web/{p}", b) for p, b in BUNDLE.items()),
        f("app/web/buildguard-manifest.json", bundle_manifest(BUNDLE, BUILD)),
    ]
    write_layout(root, [tar_bytes(base), tar_bytes(bundle)])
    blobs = root / "blobs" / "sha256"
    index = json.loads((root / "index.json").read_text())
    manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_text())
    return f"oci-layout:{root}:latest", [
        blobs / layer["digest"][7:] for layer in manifest["layers"]
    ]


def _damage(blob: Path) -> None:
    """Flip one byte near the end: same size, another digest."""
    data = bytearray(blob.read_bytes())
    data[-10] ^= 0xFF
    blob.write_bytes(bytes(data))


def _run(command: str, ref: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    extra = ("--expect-build-id", BUILD, "--path", "/app/web") if command == "verify" else ()
    return buildguard_cli(command, ref, *extra, *args, cwd=cwd, env={"BUILD_ID": ""})


def _json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _read_from(report: dict[str, Any]) -> list[str]:
    return [layer["read_from"] for layer in report["layers"]]


def test_a_damaged_layout_blob_is_answered_by_the_cache_and_the_report_says_so(
    tmp_path: Path,
) -> None:
    ref, blobs = _layout(tmp_path / "img")
    cache = str(tmp_path / "cache")
    cold = _run("verify", ref, tmp_path, "--cache", cache, "--json")
    assert cold.returncode == 0, cold.stderr
    assert _read_from(_json(cold)) == ["source", "source"]
    assert _json(cold)["stats"]["layers_from_cache"] == 0
    assert _read_from(_json(_run("inspect", ref, tmp_path, "--cache", cache, "--json"))) == [
        "cache",
        "cache",
    ]

    _damage(blobs[1])  # the bundle's layer, after the cache was filled
    warm = _run("verify", ref, tmp_path, "--cache", cache, "--json")
    assert warm.returncode == 0, warm.stderr
    report = _json(warm)
    assert _read_from(report) == ["cache", "cache"]
    assert report["stats"]["layers_read"] == 2
    assert report["stats"]["layers_from_cache"] == 2
    text = _run("verify", ref, tmp_path, "--cache", cache)
    assert text.returncode == 0, text.stderr
    assert "2 layers read, 2 from the cache" in text.stdout + text.stderr

    inspected = _run("inspect", ref, tmp_path, "--cache", cache, "--json")
    assert inspected.returncode == 0, inspected.stderr
    assert _read_from(_json(inspected)) == ["cache", "cache"]
    listing = _run("inspect", ref, tmp_path, "--cache", cache)
    assert "layers (2 read, 2 from the cache)" in listing.stdout

    for command in ("verify", "inspect"):
        refused = _run(command, ref, tmp_path, "--no-cache", "--json")
        assert refused.returncode == 3, (command, refused.stdout, refused.stderr)
        assert "layer 1" in refused.stdout + refused.stderr
        assert "Traceback" not in refused.stderr


def test_a_layer_missing_from_the_cache_is_read_from_the_source(tmp_path: Path) -> None:
    ref, _ = _layout(tmp_path / "img")
    cache = tmp_path / "cache"
    assert _run("verify", ref, tmp_path, "--cache", str(cache)).returncode == 0
    entries = sorted(cache.rglob("*.idx"))
    assert len(entries) == 2
    base_digest = _json(_run("verify", ref, tmp_path, "--no-cache", "--json"))["layers"][0][
        "digest"
    ]
    for entry in entries:
        if base_digest.split(":")[1] in entry.name:
            entry.unlink()
    text = _run("verify", ref, tmp_path, "--cache", str(cache))
    assert text.returncode == 0, text.stderr
    assert "2 layers read, 1 from the cache" in text.stdout + text.stderr
    report = _json(_run("verify", ref, tmp_path, "--cache", str(cache), "--json"))
    assert _read_from(report) == ["cache", "cache"]  # the read filled it again


def test_a_registry_serving_corrupted_bytes_for_a_cached_digest(
    registry: Registry, tmp_path: Path
) -> None:
    """The real docker-registry serves its stored file as it is: corrupt the stored blob."""
    layout, blobs = _layout(tmp_path / "img")
    dest = f"{registry.host}/cache-answers/app:v1"
    subprocess.run(
        [
            "skopeo",
            "copy",
            "-q",
            "--preserve-digests",
            "--dest-tls-verify=false",
            f"oci:{tmp_path / 'img'}:latest",
            f"docker://{dest}",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    del layout
    cache = str(tmp_path / "cache")
    cold = _run("verify", dest, tmp_path, "--cache", cache, "--json")
    assert cold.returncode == 0, cold.stderr
    assert _read_from(_json(cold)) == ["source", "source"]

    hexdigest = blobs[1].name
    stored = registry.dir / "data/docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest
    _damage(stored / "data")
    warm = _run("verify", dest, tmp_path, "--cache", cache, "--json")
    assert warm.returncode == 0, warm.stderr
    assert _read_from(_json(warm)) == ["cache", "cache"]
    assert _read_from(_json(_run("inspect", dest, tmp_path, "--cache", cache, "--json"))) == [
        "cache",
        "cache",
    ]
    refused = _run("verify", dest, tmp_path, "--no-cache", "--json")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert f"sha256:{hexdigest}" in refused.stdout + refused.stderr
