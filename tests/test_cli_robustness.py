"""Issue 8's crash items, through the installed CLI on OCI layouts written by Python:

- a bundle file whose PAX mtime is out of ``datetime``'s range never crashes verify (exit 1
  or 3, never 4 or a traceback), nor inspect;
- ``inspect --json`` and ``verify --json`` of an image holding a file name that is not UTF-8
  print valid JSON, with the name in ``buildguard._internal.pathescape``'s escape;
- a bundle manifest over the cap (100,000 files or 32 MiB) is ``MANIFEST_INVALID`` (exit 1),
  read with bounded memory (peak RSS of the verify process, from GNU time, compared with a
  verify of a normal image in the same test).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tarcraft as tc
from clitools import buildguard_cli, console_script
from imagecorpus import write_layout
from layercases import INDEX_JS, ROOT, SealedBundle, seal_small_dist
from tarcraft import Header, Member, pax_member, serialize

from buildguard._internal.pathescape import decode_name, escape

NON_UTF8 = ROOT + b"/assets/caf\xe9-\xff.js"
MANIFEST_FILES_CAP = 100_000
MANIFEST_BYTES_CAP = 32 << 20


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> SealedBundle:
    return seal_small_dist(tmp_path_factory.mktemp("robust-bundle"))


def _layout(tmp_path: Path, layers: list[bytes]) -> str:
    write_layout(tmp_path / "layout", layers, compression="none", tag="t")
    return f"oci-layout:{tmp_path / 'layout'}:t"


def _verify(bundle: SealedBundle, ref: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return buildguard_cli(
        "verify",
        ref,
        *bundle.verify_flags(),
        *extra,
    )


def _no_crash(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode != 4 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "internal error" not in done.stderr, done.stderr[-2000:]


def _json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        doc = json.loads(done.stdout)
    except ValueError as exc:
        raise AssertionError(
            f"not JSON on stdout ({exc}): {done.stdout[:500]!r}\n{done.stderr[-1500:]}"
        ) from None
    assert isinstance(doc, dict)
    return doc


# --------------------------------------------------------------------- PAX mtime out of range


@pytest.mark.parametrize("mtime", [b"99999999999999", b"-99999999999999", b"9223372036854775807"])
@pytest.mark.parametrize("changed", [True, False], ids=["changed", "unchanged"])
def test_out_of_range_pax_mtime_on_a_bundle_file_never_crashes(
    mtime: bytes, changed: bool, bundle: SealedBundle, tmp_path: Path
) -> None:
    data = b"tampered\n" if changed else bundle.files_by_path()["assets/index.js"].data
    top = serialize([pax_member([(b"mtime", mtime)]), Member(Header(name=INDEX_JS), data)])
    ref = _layout(tmp_path, [bundle.layer(), top])
    done = _verify(bundle, ref, "--json")
    _no_crash(done)
    if changed:
        assert done.returncode in (1, 3), done.stderr[-1500:]
    else:
        assert done.returncode in (0, 3), done.stderr[-1500:]
    if done.returncode != 3:
        report = _json(done)
        assert report["ok"] is (not changed)
    inspected = buildguard_cli("inspect", "--json", ref)
    _no_crash(inspected)
    assert inspected.returncode in (0, 3)


# --------------------------------------------------------------------- names that are not UTF-8


def test_inspect_and_verify_json_escape_a_non_utf8_name(
    bundle: SealedBundle, tmp_path: Path
) -> None:
    top = serialize([Member(Header(name=NON_UTF8), b"served but not sealed")])
    ref = _layout(tmp_path, [bundle.layer(), top])
    want = escape(decode_name(b"/" + NON_UTF8))
    assert "\\xe9" in want and "\\xff" in want

    inspected = buildguard_cli("inspect", "--json", ref)
    _no_crash(inspected)
    assert inspected.returncode == 0, inspected.stderr[-1500:]
    paths = [f["path"] for f in _json(inspected)["files"]]
    assert want in paths, [p for p in paths if "caf" in p]

    verified = _verify(bundle, ref, "--json")
    _no_crash(verified)
    assert verified.returncode == 1, verified.stderr[-1500:]
    findings = [(f["code"], f["path"]) for f in _json(verified)["findings"]]
    assert ("FILE_EXTRA", want) in findings, findings


def test_a_sealed_non_utf8_name_verifies(tmp_path: Path) -> None:
    """seal escapes the name in the manifest; verify compares it exactly (exit 0)."""
    sealed = seal_small_dist(tmp_path / "work", extra={"assets/caf\udce9.js": b"latin-1 name"})
    manifest = json.loads(
        next(f.data for f in sealed.files if f.path == "buildguard-manifest.json")
    )
    assert "assets/caf\\xe9.js" in [f["path"] for f in manifest["files"]]
    ref = _layout(tmp_path, [sealed.layer()])
    done = _verify(sealed, ref, "--json")
    _no_crash(done)
    assert done.returncode == 0, done.stderr[-1500:]


# --------------------------------------------------------------------- manifest over the cap


def _big_manifest(bundle: SealedBundle, *, files: int, media_type_len: int) -> bytes:
    doc = json.loads(next(f.data for f in bundle.files if f.path == "buildguard-manifest.json"))
    template = dict(doc["files"][0])
    template["media_type"] = "text/x-" + "m" * media_type_len
    entries = []
    for i in range(files):
        entry = dict(template)
        entry["path"] = f"assets/gen/{i:07d}.js"
        entries.append(entry)
    doc["files"] = entries
    return json.dumps(doc, separators=(",", ":")).encode()


def _peak_rss_kib(args: list[str]) -> tuple[subprocess.CompletedProcess[str], int]:
    gnu_time = shutil.which("time") or "/usr/bin/time"
    done = subprocess.run(
        [gnu_time, "-f", "PEAK-RSS-KIB %M", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    line = [ln for ln in done.stderr.splitlines() if ln.startswith("PEAK-RSS-KIB ")]
    assert line, f"GNU time gave no figure (apt-get install time): {done.stderr[-500:]}"
    return done, int(line[-1].split()[1])


@pytest.mark.parametrize(
    ("files", "media_type_len", "bounded"),
    [(MANIFEST_FILES_CAP + 1, 0, False), (40_000, 900, True), (40_000, 2400, True)],
    ids=["over-100000-files", "over-32-MiB", "three-times-32-MiB"],
)
def test_a_manifest_over_the_cap_is_manifest_invalid_with_bounded_memory(
    files: int, media_type_len: int, bounded: bool, bundle: SealedBundle, tmp_path: Path
) -> None:
    """Over the byte cap, the cost must not grow with the manifest: its bytes are not kept
    whole nor parsed (peak RSS over a normal verify below 2 x the cap + 40 MiB, for 42 MiB
    and for 96 MiB). Over the file-count cap (21 MiB), the figure is printed only: such a
    manifest is under the byte cap and may be parsed like any manifest that size."""
    big = _big_manifest(bundle, files=files, media_type_len=media_type_len)
    if media_type_len:
        assert len(big) > MANIFEST_BYTES_CAP and files <= MANIFEST_FILES_CAP
    entries = [e for e in bundle.entries() if not e.name.endswith(b"buildguard-manifest.json")]
    entries.append(tc.file(ROOT + b"/buildguard-manifest.json", big))
    ref = _layout(tmp_path / "big", [tc.tar_of(entries, "pax")])
    small_ref = _layout(tmp_path / "small", [bundle.layer()])
    base = [
        console_script(),
        "verify",
        *bundle.verify_flags(),
        "--json",
    ]
    small, small_rss = _peak_rss_kib([*base, small_ref])
    assert small.returncode == 0, small.stderr[-1000:]
    done, rss = _peak_rss_kib([*base, ref])
    _no_crash(done)
    figures = (
        f"peak RSS {rss >> 10} MiB vs {small_rss >> 10} MiB for a normal image; "
        f"manifest {len(big) >> 20} MiB, {files} files"
    )
    print(figures)
    assert done.returncode == 1, f"{figures}\n{done.stderr[-1500:]}"
    codes = {f["code"] for f in _json(done)["findings"]}
    assert "MANIFEST_INVALID" in codes, f"{figures}; findings {sorted(codes)}"
    if bounded:
        assert rss - small_rss < 2 * (MANIFEST_BYTES_CAP >> 10) + 40_000, figures
