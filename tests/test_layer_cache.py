"""The layer-index cache: hits, misses, damage, versions, signatures, missing hashes, the
narrower fill, concurrent writers, and a real GCS emulator (gcp-storage-emulator) behind the
real google-cloud-storage client."""

from __future__ import annotations

import json
import logging
import os
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from clitools import buildguard_cli
from imagecorpus import bundle_manifest, d, f, tar_bytes, write_layout
from services import free_port, stop_process

import buildguard
from buildguard._image import open_image
from buildguard._image.flatten import make_want
from buildguard._image.indexcodec import FORMAT, CachedLayer, decode, encode
from buildguard._image.layercache import LayerCache, LocalStore, entry_name, open_cache
from buildguard._image.readingrules import reading_rules, rules_fingerprint
from buildguard.errors import UsageError

BUILD = "cache-build-1"


@pytest.fixture(autouse=True)
def _outside_any_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify takes the expected commit from the git checkout it runs in (and a record from
    .buildguard/): run where there is neither, as these tests expect no commit."""
    monkeypatch.chdir(tmp_path)


def _manifest(files: dict[str, bytes]) -> bytes:
    return bundle_manifest(files, BUILD)


BUNDLE = {"index.html": b"<html>", "assets/app.js": b"console.log(1)"}


def _image(root: Path, *, leftover: bool = False) -> str:
    """A base layer (with /srv, and optionally a leftover file in the bundle folder) and a
    bundle layer on top."""
    base = [d("srv"), f("srv/data.txt", "srv"), d("usr"), f("usr/lib.so", "lib")]
    if leftover:
        base += [d("app"), d("app/web"), f("app/web/old-chunk.js", "stale")]
    bundle = [
        d("app"),
        d("app/web"),
        d("app/web/assets"),
        *(f(f"app/web/{p}", b) for p, b in BUNDLE.items()),
        f("app/web/buildguard-manifest.json", _manifest(BUNDLE)),
    ]
    write_layout(root, [tar_bytes(base), tar_bytes(bundle)])
    return f"oci-layout:{root}:latest"


def _verify(ref: str, cache: Path | None, **kw: object) -> buildguard.VerifyReport:
    options = buildguard.ReadOptions(
        paths=kw.pop("paths", ["/app/web"]),  # type: ignore[arg-type]
        cache=cache,
        no_cache=cache is None,
        **kw,
    )  # type: ignore[arg-type]
    return buildguard.verify(ref, buildguard.Expectations(build_id=BUILD), options, environ={})


def _codes(report: buildguard.VerifyReport) -> list[str]:
    return sorted(f.code for f in report.findings if f.severity == "error")


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.idx"))


def test_hit_reads_no_layer_and_gives_the_same_verdict(tmp_path: Path) -> None:
    ref = _image(tmp_path / "img")
    cold = _verify(ref, tmp_path / "c")
    assert cold.ok and len(_entries(tmp_path / "c")) == 2
    blobs = tmp_path / "img" / "blobs" / "sha256"
    index = json.loads((tmp_path / "img" / "index.json").read_text())
    manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_text())
    layers = [layer["digest"][7:] for layer in manifest["layers"]]
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in layers:  # a cached layer is never opened again: take its blob away
        (blobs / name).rename(aside / name)
    warm = _verify(ref, tmp_path / "c")
    with pytest.raises(buildguard.ImageReadError, match="missing from the layout"):
        _verify(ref, None)
    for name in layers:
        (aside / name).rename(blobs / name)
    assert warm.ok and warm.bundles == cold.bundles and warm.findings == cold.findings
    assert _verify(ref, None).findings == cold.findings


def test_miss_fills_only_after_a_verified_read(tmp_path: Path) -> None:
    ref = _image(tmp_path / "img")
    built = json.loads((tmp_path / "img" / "index.json").read_text())
    assert built["manifests"]
    blob = sorted(
        (tmp_path / "img" / "blobs" / "sha256").iterdir(), key=lambda p: p.stat().st_size
    )[-1]
    data = bytearray(blob.read_bytes())
    data[-20] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(buildguard.DigestMismatch):
        _verify(ref, tmp_path / "c")
    names = {p.stem for p in _entries(tmp_path / "c")}
    assert blob.name not in names, "a layer that failed its digest is never cached"


def test_the_narrower_fill_never_hides_a_leftover(tmp_path: Path) -> None:
    """Filled by a verify of /srv, then asked about /app/web: the index lists every entry
    of the base layer, so the leftover chunk there is found, cache or not."""
    ref = _image(tmp_path / "img", leftover=True)
    first = _verify(ref, tmp_path / "c", paths=["/srv"])
    assert not first.ok and _codes(first) == ["NO_MANIFEST"]
    cached = _verify(ref, tmp_path / "c")
    uncached = _verify(ref, None)
    assert _codes(cached) == _codes(uncached) and "FILE_EXTRA" in _codes(cached)
    assert [f.path for f in cached.findings if f.code == "FILE_EXTRA"] == ["/app/web/old-chunk.js"]


def _one_layer(tmp_path: Path, want_paths: tuple[str, ...]) -> CachedLayer:
    ref = _image(tmp_path / "one")
    with open_image(ref) as image:
        info = image.info()  # type: ignore[attr-defined]
        layer = info.layers[0]
        from buildguard._image.layers import read_layer

        blob = tmp_path / "one" / "blobs" / "sha256" / layer.digest.split(":")[1]
        with open(blob, "rb") as stream:
            result = read_layer(stream, label="t", want=make_want(want_paths))
    return CachedLayer(
        layer.digest, layer.diff_id, result.compression, result.index, layer.size, reading_rules()
    )


def test_an_entry_lacking_a_hash_asked_for_is_not_used(tmp_path: Path) -> None:
    layer = _one_layer(tmp_path, ("/srv",))
    assert not layer.index.complete
    cache = LayerCache(LocalStore(tmp_path / "c"), None)
    cache.save(layer)
    assert cache.load(layer.digest, layer.diff_id, layer.size, make_want(("/srv",))) is not None
    assert cache.load(layer.digest, layer.diff_id, layer.size, make_want(("/usr",))) is None
    assert cache.load(layer.digest, layer.diff_id, layer.size, make_want(())) is None


def test_an_entry_of_another_layer_is_not_used(tmp_path: Path) -> None:
    layer = _one_layer(tmp_path, ())
    cache = LayerCache(LocalStore(tmp_path / "c"), None)
    cache.save(layer)
    assert cache.load(layer.digest, "sha256:" + "0" * 64, layer.size, make_want(())) is None


def _corrupt(entry: Path, how: str, key: bytes | None = None) -> None:
    raw = bytearray(entry.read_bytes())
    if how == "flip":
        raw[-3] ^= 0x01
    elif how == "truncate":
        del raw[len(raw) // 2 :]
    elif how == "version":
        raw[4:8] = struct.pack("<I", FORMAT + 1)
    elif how == "garbage":
        raw = bytearray(b"not an index at all")
    entry.write_bytes(bytes(raw))


@pytest.mark.parametrize("how", ["flip", "truncate", "version", "garbage"])
def test_a_damaged_or_foreign_entry_is_ignored_with_a_warning(
    tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    ref = _image(tmp_path / "img", leftover=True)
    _verify(ref, tmp_path / "c")
    for entry in _entries(tmp_path / "c"):
        _corrupt(entry, how)
    with caplog.at_level(logging.WARNING, logger="buildguard"):
        again = _verify(ref, tmp_path / "c")
    assert "FILE_EXTRA" in _codes(again)
    assert "ignoring the cached index" in caplog.text
    for entry in _entries(tmp_path / "c"):  # and rewritten whole by the verified read
        decode(entry.read_bytes()[40:])


def test_a_wrongly_signed_entry_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    layer = _one_layer(tmp_path, ())
    LayerCache(LocalStore(tmp_path / "c"), b"key-one").save(layer)
    with caplog.at_level(logging.WARNING, logger="buildguard"):
        assert (
            LayerCache(LocalStore(tmp_path / "c"), b"key-two").load(
                layer.digest, layer.diff_id, layer.size, make_want(())
            )
            is None
        )
        assert (
            LayerCache(LocalStore(tmp_path / "c"), None).load(
                layer.digest, layer.diff_id, layer.size, make_want(())
            )
            is None
        )
    assert "signature does not verify" in caplog.text
    assert (
        LayerCache(LocalStore(tmp_path / "c"), b"key-one").load(
            layer.digest, layer.diff_id, layer.size, make_want(())
        )
        is not None
    )


def test_entries_are_deterministic_and_concurrent_writers_harmless(tmp_path: Path) -> None:
    layer = _one_layer(tmp_path, ())
    assert encode(layer) == encode(decode(encode(layer)))
    caches = [LayerCache(LocalStore(tmp_path / "c"), b"k") for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: c.save(layer), caches))
    entry = tmp_path / "c" / entry_name(layer.digest)
    assert [p.name for p in entry.parent.iterdir()] == [entry.name], "no temp files left"
    assert caches[0].load(layer.digest, layer.diff_id, layer.size, make_want(())) is not None
    ref = _image(tmp_path / "img")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "buildguard._cli",
                "verify",
                ref,
                "--path",
                "/app/web",
                "--expect-build-id",
                BUILD,
                "--cache",
                str(tmp_path / "shared"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "BUILD_ID": ""},
        )
        for _ in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    fills = [LocalStore(tmp_path / f"solo{i}") for i in range(2)]
    for i in range(2):
        _verify(ref, tmp_path / f"solo{i}")
    for name in (p.relative_to(tmp_path / "shared") for p in _entries(tmp_path / "shared")):
        assert (
            fills[0].get(str(name))
            == fills[1].get(str(name))
            == LocalStore(tmp_path / "shared").get(str(name))
        )


def test_no_cache_and_default_location(tmp_path: Path) -> None:
    assert open_cache(enabled=False) is None
    cache = open_cache(environ={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert cache is not None and cache.store.description == str(tmp_path / "xdg" / "buildguard")
    cache = open_cache(environ={"BUILDGUARD_CACHE": str(tmp_path / "env")})
    assert cache is not None and cache.store.description == str(tmp_path / "env")
    ref = _image(tmp_path / "img")
    done = buildguard_cli(
        "verify",
        ref,
        "--path",
        "/app/web",
        "--expect-build-id",
        BUILD,
        "--no-cache",
        cwd=tmp_path,
        env={"BUILDGUARD_CACHE": str(tmp_path / "n")},
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "n").exists()


def test_a_gs_cache_without_a_key_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="BUILDGUARD_CACHE_KEY"):
        open_cache("gs://bucket/prefix", environ={})
    ref = _image(tmp_path / "img")
    done = buildguard_cli(
        "verify", ref, "--expect-build-id", BUILD, "--cache", "gs://bucket/prefix", cwd=tmp_path
    )
    assert done.returncode == 2 and "BUILDGUARD_CACHE_KEY" in done.stderr


@pytest.fixture
def gcs_emulator(tmp_path: Path) -> Iterator[str]:
    """A real gcp-storage-emulator on 127.0.0.1, with a bucket made through the real client."""
    port = free_port()
    exe = Path(sys.executable).parent / "gcp-storage-emulator"
    log = open(tmp_path / "gcs.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(exe), "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        import urllib.request

        while True:
            try:
                urllib.request.urlopen(url + "/storage/v1/b?project=p", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError((tmp_path / "gcs.log").read_text()) from None
                time.sleep(0.2)
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        os.environ["STORAGE_EMULATOR_HOST"] = url
        storage.Client(project="p", credentials=AnonymousCredentials()).create_bucket("bg-cache")
        yield url
    finally:
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
        stop_process(proc)
        log.close()


def test_gcs_emulator_round_trip_signed(tmp_path: Path, gcs_emulator: str) -> None:
    ref = _image(tmp_path / "img", leftover=True)
    env = {"STORAGE_EMULATOR_HOST": gcs_emulator, "BUILDGUARD_CACHE_KEY": "secret-one"}
    args = (
        "verify",
        ref,
        "--path",
        "/app/web",
        "--expect-build-id",
        BUILD,
        "--cache",
        "gs://bg-cache/builds",
        "-v",
    )
    cold = buildguard_cli(*args, cwd=tmp_path, env=env)
    assert cold.returncode == 1 and "FILE_EXTRA" in cold.stdout, cold.stderr
    assert "index from the cache" not in cold.stderr
    warm = buildguard_cli(*args, cwd=tmp_path, env=env)
    assert warm.returncode == 1 and "FILE_EXTRA" in warm.stdout
    assert warm.stderr.count("index from the cache gs://bg-cache/builds") == 2
    other = buildguard_cli(*args, cwd=tmp_path, env={**env, "BUILDGUARD_CACHE_KEY": "other"})
    assert other.returncode == 1 and "FILE_EXTRA" in other.stdout
    assert "signature does not verify" in other.stderr and "secret-one" not in other.stderr


def test_a_change_to_the_reading_rules_starts_a_fresh_cache(tmp_path: Path) -> None:
    """Entries are keyed by a fingerprint of the walker's source: a tightened rule is never
    answered by an index made under the laxer one."""
    here = Path(buildguard._image.__file__).parent
    copy = tmp_path / "image"
    copy.mkdir()
    for source in here.glob("*.py"):
        (copy / source.name).write_bytes(source.read_bytes())
    assert rules_fingerprint(copy) == reading_rules()
    assert reading_rules() in entry_name("sha256:" + "a" * 64)
    with open(copy / "tarwalk.py", "a") as walker:
        walker.write("\n# a tightened rule\n")
    assert rules_fingerprint(copy) != reading_rules()
    (copy / "checks_elsewhere.py").write_text("# not a reading rule\n")
    (copy / "tarwalk.py").write_bytes((here / "tarwalk.py").read_bytes())
    assert rules_fingerprint(copy) == reading_rules()


def test_an_entry_made_under_other_reading_rules_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Even where an entry of other rules sits under today's name (copied there), its header
    says which rules made it, and it is ignored."""
    layer = _one_layer(tmp_path, ())
    cache = LayerCache(LocalStore(tmp_path / "c"), None)
    cache.save(
        CachedLayer(
            layer.digest, layer.diff_id, layer.compression, layer.index, layer.size, "0" * 16
        )
    )
    with caplog.at_level(logging.WARNING, logger="buildguard"):
        assert cache.load(layer.digest, layer.diff_id, layer.size, make_want(())) is None
    assert "made under other reading rules" in caplog.text


def test_a_descriptor_naming_another_size_is_not_answered_by_the_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Image B names image A's cached blob with the right digest and a wrong size: the
    runtime refuses the pull, so verify must not pass it from the cache (it reads the blob,
    and the size check fails, exit 3)."""
    layers = [tar_bytes([d("srv"), f("srv/data", b"d")])]
    a = write_layout(tmp_path / "a", layers)
    size = (tmp_path / "a" / "blobs" / "sha256" / a.layer_digests[0].split(":")[1]).stat().st_size
    b = write_layout(tmp_path / "b", layers, sizes=[size + 1])
    assert a.layer_digests == b.layer_digests
    cache = tmp_path / "cache"
    done = buildguard_cli("inspect", f"oci-layout:{tmp_path / 'a'}:latest", "--cache", str(cache))
    assert done.returncode == 0, done.stderr
    assert len(list(cache.rglob("*.idx"))) == 1
    for flags in (["--cache", str(cache)], ["--no-cache"]):
        done = buildguard_cli("inspect", f"oci-layout:{tmp_path / 'b'}:latest", *flags)
        assert done.returncode == 3, done.stdout + done.stderr
        assert str(size + 1) in done.stderr


def test_an_oci_plain_tar_type_over_compressed_bytes_is_refused(tmp_path: Path) -> None:
    """containerd reads an OCI layer typed as a plain tar without sniffing (dockerd sniffs):
    gzip bytes under that type are refused, from the blob and from the cache alike. Docker's
    `rootfs.diff.tar` is sniffed by both, so it is read."""
    layers = [tar_bytes([d("srv"), f("srv/data", b"d")])]
    write_layout(tmp_path / "oci", layers, media_types=["application/vnd.oci.image.layer.v1.tar"])
    write_layout(
        tmp_path / "docker", layers, media_types=["application/vnd.docker.image.rootfs.diff.tar"]
    )
    cache = tmp_path / "cache"
    assert (
        buildguard_cli(
            "inspect", f"oci-layout:{tmp_path / 'docker'}:latest", "--cache", str(cache)
        ).returncode
        == 0
    )
    for flags in (["--cache", str(cache)], ["--no-cache"]):
        done = buildguard_cli("inspect", f"oci-layout:{tmp_path / 'oci'}:latest", *flags)
        assert done.returncode == 3, done.stdout + done.stderr
        assert "containerd would not" in done.stderr
