"""Differential test against the real runtime over crafted JSON documents (issue 17, part 1).

Each case pushes an image to the loopback registry whose manifest, config or index is written
so that Go's ``encoding/json`` (dockerd 20.10's pull) and a Python ``dict`` read different
layers: one layer holds the sealed bundle, the other the same paths with another
``assets/index.js``. dockerd pulls the image (``docker pull``), ``docker create`` +
``docker export`` show what it serves at the sealed path, and ``buildguard verify`` of the
same reference must agree:

- dockerd refuses the image (pull or create fails): verify exits 3;
- dockerd serves the sealed bundle: verify exits 0, or 3 (a refusal; never for a
  well-formed case);
- dockerd serves anything else: verify exits 1 or 3, never 0.

One more case goes through skopeo (containers/image reads an OCI layout's ``index.json``
with Go) and ``docker load``: an ``index.json`` with ``manifests`` and ``Manifests``.
And ``godocs.decode_save_manifest`` (docker save's ``manifest.json``) is compared with what
``docker load`` loads from crafted archives: the same config, or a refusal.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import tarcraft as tc
from clitools import buildguard_cli
from imagecorpus import write_layout
from layercases import SealedBundle, seal_small_dist
from registryhelpers import put_manifest, sha256, upload_blob
from services import Dockerd, Registry
from test_layer_runtime import bundle_intact, export_view

from buildguard._image.godocs import decode_save_manifest
from buildguard.errors import ImageReadError

pytestmark = pytest.mark.docker

S2_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
S2_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
S2_CONFIG = "application/vnd.docker.container.image.v1+json"
S2_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


Pushes = tuple[list[bytes], list[tuple[bytes, str]]]
"""Blobs to upload, and manifests to put in order (body, media type); the last is tagged."""


@dataclass(frozen=True)
class Blob:
    data: bytes
    diff_id: str

    @property
    def descriptor(self) -> str:
        return json.dumps(
            {"mediaType": S2_LAYER, "size": len(self.data), "digest": sha256(self.data)}
        )


def _layer(bundle: SealedBundle) -> Blob:
    tar = tc.tar_of(bundle.entries(), "pax")
    return Blob(gzip.compress(tar, mtime=0), sha256(tar))


def _config(diff_ids: str) -> bytes:
    """A docker config; ``diff_ids`` is the raw JSON of the rootfs members."""
    return (
        '{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},'
        '"created":"2024-01-01T00:00:00Z",' + diff_ids + "}"
    ).encode()


def _manifest(config: bytes, layers: str) -> bytes:
    """A schema 2 manifest; ``layers`` is the raw JSON of the layer members."""
    return (
        '{"schemaVersion":2,"mediaType":"'
        + S2_MANIFEST
        + '","config":{"mediaType":"'
        + S2_CONFIG
        + f'","size":{len(config)},"digest":"{sha256(config)}"}},'
        + layers
        + "}"
    ).encode()


def _rootfs(*blobs: Blob) -> str:
    return '{"type":"layers","diff_ids":[' + ",".join(f'"{b.diff_id}"' for b in blobs) + "]}"


@dataclass(frozen=True)
class JsonCase:
    name: str
    note: str
    build: Callable[[Blob, Blob], Pushes]
    """(sealed layer, other layer) → (blobs to upload, manifests to put in order (body, media
    type); the last one is tagged)."""
    well_formed: bool = False


def _one(config: bytes, manifest: bytes, *layers: Blob) -> Pushes:
    return [config, *(b.data for b in layers)], [(manifest, S2_MANIFEST)]


def _plain(good: Blob, bad: Blob) -> Pushes:
    config = _config('"rootfs":' + _rootfs(good))
    return _one(config, _manifest(config, f'"layers":[{good.descriptor}]'), good, bad)


def _case_fold_keys(good: Blob, bad: Blob) -> Pushes:
    # Python: layers=[good], rootfs=[good]; Go: "Layers"/"Rootfs" fold onto the fields, later wins.
    config = _config('"rootfs":' + _rootfs(good) + ',"Rootfs":' + _rootfs(bad))
    manifest = _manifest(config, f'"layers":[{good.descriptor}],"Layers":[{bad.descriptor}]')
    return _one(config, manifest, good, bad)


def _long_s(good: Blob, bad: Blob) -> Pushes:
    # U+017F LONG S folds to s in Go 1.19's equalFoldRight.
    config = _config(
        '"rootfs":{"type":"layers","diff_ids":["'
        + good.diff_id
        + '"],"diff_id\u017f":["'
        + bad.diff_id
        + '"]}'
    )
    manifest = _manifest(config, f'"layers":[{good.descriptor}],"layer\u017f":[{bad.descriptor}]')
    return _one(config, manifest, good, bad)


def _index_case_variant(good: Blob, bad: Blob) -> Pushes:
    # A manifest list: Python reads "manifests" (the sealed image); Go binds the later
    # "Manifests" to the same field, and the later wins (the other image).
    blobs: list[bytes] = []
    manifests: list[tuple[bytes, str]] = []
    entries = []
    for blob in (good, bad):
        config = _config('"rootfs":' + _rootfs(blob))
        manifest = _manifest(config, f'"layers":[{blob.descriptor}]')
        blobs += [config, blob.data]
        manifests.append((manifest, S2_MANIFEST))
        entries.append(
            json.dumps(
                {
                    "mediaType": S2_MANIFEST,
                    "size": len(manifest),
                    "digest": sha256(manifest),
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            )
        )
    index = (
        '{"schemaVersion":2,"mediaType":"'
        + S2_LIST
        + '","manifests":['
        + entries[0]
        + '],"Manifests":['
        + entries[1]
        + "]}"
    ).encode()
    return blobs, [*manifests, (index, S2_LIST)]


def _repeated_layers(good: Blob, bad: Blob) -> Pushes:
    # Both readers keep the later array here; refused by buildguard all the same.
    config = _config('"rootfs":' + _rootfs(good))
    manifest = _manifest(config, f'"layers":[{bad.descriptor}],"layers":[{good.descriptor}]')
    return _one(config, manifest, good, bad)


def _merged_rootfs(good: Blob, bad: Blob) -> Pushes:
    # Go merges a repeated object into the earlier one: "type" survives from the first.
    config = _config(
        '"rootfs":{"type":"layers","diff_ids":["' + bad.diff_id + '"]},'
        '"rootfs":{"diff_ids":["' + good.diff_id + '"]}'
    )
    return _one(config, _manifest(config, f'"layers":[{good.descriptor}]'), good, bad)


def _invalid_utf8(good: Blob, bad: Blob) -> Pushes:
    config = _config('"rootfs":' + _rootfs(good)).replace(
        b'"os":"linux"', b'"os":"linux","x\xff":1'
    )
    return _one(config, _manifest(config, f'"layers":[{good.descriptor}]'), good, bad)


CASES = [
    JsonCase("plain", "a well-formed schema 2 image (the harness works)", _plain, well_formed=True),
    JsonCase("case-fold-keys", '"Layers" after "layers", "Rootfs" after "rootfs"', _case_fold_keys),
    JsonCase("long-s-keys", '"layer\\u017f" and "diff_id\\u017f" (U+017F LONG S)', _long_s),
    JsonCase(
        "index-case-variant",
        '"Manifests" after "manifests" in a manifest list',
        _index_case_variant,
    ),
    JsonCase("repeated-layers", '"layers" twice', _repeated_layers),
    JsonCase("merged-rootfs", '"rootfs" twice, the second partial', _merged_rootfs),
    JsonCase("invalid-utf8-key", "a config key with a byte that is not UTF-8", _invalid_utf8),
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> SealedBundle:
    return seal_small_dist(tmp_path_factory.mktemp("json-runtime-bundle"))


def _tampered(bundle: SealedBundle) -> SealedBundle:
    files = tuple(
        dataclasses.replace(f, data=b"window.__BUILD__ = 'tampered'\n")
        if f.path == "assets/index.js"
        else f
        for f in bundle.files
    )
    return dataclasses.replace(bundle, files=files)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_crafted_document_agrees_with_dockerd_or_is_refused(
    case: JsonCase, bundle: SealedBundle, dockerd: Dockerd, registry: Registry, tmp_path: Path
) -> None:
    good, bad = _layer(bundle), _layer(_tampered(bundle))
    blobs, manifests = case.build(good, bad)
    repo = f"json-runtime/{case.name}"
    with httpx.Client(timeout=60) as client:
        for blob in blobs:
            upload_blob(client, registry.url, repo, blob, {})
        for i, (body, media_type) in enumerate(manifests):
            last = i == len(manifests) - 1
            reference = "t" if last else sha256(body)
            put_manifest(client, registry.url, repo, reference, body, media_type, {})
    ref = f"{registry.host}/{repo}:t"
    pulled = dockerd.docker("pull", ref, check=False)
    if pulled.returncode != 0:
        export, why = None, f"docker pull: {pulled.stderr.strip()}"
    else:
        export, why = export_view(dockerd, ref)
        dockerd.docker("rmi", "-f", ref, check=False)
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    verified = buildguard_cli(
        "verify",
        ref,
        *bundle.verify_flags(),
        "--json",
        env={"DOCKER_CONFIG": str(config_dir)},
    )
    assert "Traceback" not in verified.stderr, verified.stderr
    served = (
        "refused: " + why
        if export is None
        else "the sealed bundle"
        if bundle_intact(export, bundle)
        else "another bundle"
    )
    if export is None:
        allowed = {3}
    elif bundle_intact(export, bundle):
        allowed = {0} if case.well_formed else {0, 3}
    else:
        allowed = {1, 3}
    assert verified.returncode in allowed, (
        f"{case.name} ({case.note}): dockerd serves {served}; verify exits "
        f"{verified.returncode}, expected one of {sorted(allowed)}\n{verified.stderr[-800:]}"
    )
    print(f"{case.name}: dockerd serves {served}; verify exits {verified.returncode}")


def test_layout_index_json_case_variant_agrees_with_skopeo_or_is_refused(
    bundle: SealedBundle, dockerd: Dockerd, tmp_path: Path
) -> None:
    """An OCI layout whose ``index.json`` names tag ``t`` under ``manifests`` (the sealed
    image) and again under ``Manifests`` (the other one): skopeo (containers/image, Go)
    binds ``Manifests`` to the same field, later wins. What dockerd serves after
    ``skopeo copy`` + ``docker load`` is compared with ``verify oci-layout:DIR:t``."""
    layout = tmp_path / "layout"
    write_layout(layout, [bundle.layer()], tag="t")
    sealed_entry = json.loads((layout / "index.json").read_text())["manifests"][0]
    write_layout(layout, [_tampered(bundle).layer()], tag="t")
    other_entry = json.loads((layout / "index.json").read_text())["manifests"][0]
    (layout / "index.json").write_text(
        '{"schemaVersion":2,"manifests":['
        + json.dumps(sealed_entry)
        + '],"Manifests":['
        + json.dumps(other_entry)
        + "]}"
    )
    archive, tag = tmp_path / "image.tar", "json-runtime/layout-index:1"
    copied = subprocess.run(
        ["skopeo", "copy", f"oci:{layout}:t", f"docker-archive:{archive}:{tag}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    export = None
    if (
        copied.returncode == 0
        and dockerd.docker("load", "-i", str(archive), check=False).returncode == 0
    ):
        export, _ = export_view(dockerd, tag)
        dockerd.docker("rmi", "-f", tag, check=False)
    verified = buildguard_cli(
        "verify",
        f"oci-layout:{layout}:t",
        *bundle.verify_flags(),
        "--json",
    )
    assert "Traceback" not in verified.stderr, verified.stderr
    intact = export is not None and bundle_intact(export, bundle)
    allowed = {3} if export is None else {0, 3} if intact else {1, 3}
    served = "nothing" if export is None else "the sealed bundle" if intact else "another bundle"
    print(
        f"layout-index-case-variant: skopeo+dockerd serve {served}; verify exits "
        f"{verified.returncode}"
    )
    assert verified.returncode in allowed, (served, verified.returncode, verified.stderr[-600:])


SAVE_CASES = {
    "plain": '[{"Config":"good.json","RepoTags":["TAG"],"Layers":["good/layer.tar"]}]',
    "case-variant": '[{"Config":"good.json","RepoTags":["TAG"],"Layers":["good/layer.tar"],'
    '"config":"bad.json","layers":["bad/layer.tar"]}]',
    "long-s": '[{"Config":"good.json","RepoTags":["TAG"],"Layers":["good/layer.tar"],'
    '"config":"bad.json","Layer\u017f":["bad/layer.tar"]}]',
    "repeated": '[{"Config":"good.json","RepoTags":["TAG"],"Layers":["good/layer.tar"],'
    '"Config":"bad.json","Layers":["bad/layer.tar"]}]',
    "trailing-data": '[{"Config":"good.json","RepoTags":["TAG"],"Layers":["good/layer.tar"]}]\n'
    '[{"Config":"bad.json","RepoTags":["TAG"],"Layers":["bad/layer.tar"]}]',
}


@pytest.mark.parametrize("name", sorted(SAVE_CASES))
def test_save_manifest_decoding_agrees_with_docker_load_or_refuses(
    name: str, bundle: SealedBundle, dockerd: Dockerd, tmp_path: Path
) -> None:
    """``godocs.decode_save_manifest`` (which the ``docker-archive:`` reader calls) against
    what ``docker load`` of dockerd 20.10 loads from the same ``manifest.json``: the image it
    loads has the config buildguard decoded, or buildguard refuses."""
    tag = f"json-load/{name}:1"
    members: dict[str, bytes] = {}
    digests: dict[str, str] = {}
    for label, sealed in (("good", bundle), ("bad", _tampered(bundle))):
        tar = tc.tar_of(sealed.entries(), "pax")
        config = _config('"rootfs":{"type":"layers","diff_ids":["' + sha256(tar) + '"]}')
        members[f"{label}.json"] = config
        members[f"{label}/layer.tar"] = tar
        digests[f"{label}.json"] = sha256(config)
    manifest = SAVE_CASES[name].replace("TAG", tag).encode()
    members["manifest.json"] = manifest
    archive = tmp_path / "save.tar"
    with tarfile.open(archive, "w") as out:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size, info.mtime = len(data), 1_700_000_000
            out.addfile(info, io.BytesIO(data))
    loaded = dockerd.docker("load", "-i", str(archive), check=False)
    loaded_id = None
    if loaded.returncode == 0:
        loaded_id = dockerd.docker("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()
        dockerd.docker("rmi", "-f", tag, check=False)
    try:
        entries = decode_save_manifest(manifest, "manifest.json")
        ours = digests.get(entries[0].config) if len(entries) == 1 else None
    except ImageReadError as exc:
        ours = f"refused: {exc.message}"
    print(
        f"{name}: docker load -> {loaded_id or 'refused: ' + loaded.stderr.strip()}; "
        f"buildguard -> {ours}"
    )
    if loaded_id is None:
        assert ours is None or ours.startswith("refused"), ours
    else:
        assert ours == loaded_id or (ours or "").startswith("refused"), (loaded_id, ours)
