"""Fuzz targets: one parser of buildguard each, with what counts as a failure.

A target has ``seeds()`` (inputs to mutate), ``kind`` (which mutators fit: ``tar``,
``json``, ``bytes``), ``setup(work)`` (heavy parts, once per process) and ``run(data)``,
which returns an outcome name or raises :class:`Failure`. An exception that is not one of
buildguard's typed errors (or, for the pydantic models, a ``ValidationError``) escapes
``run`` and is a crash. Hangs are caught by the runner (``fuzzrunner.py``).

Targets: ``tar`` (the walker against Go's ``archive/tar``), ``layers`` (gzip/zstd framing
through ``read_layer``, against Python's decompressors), ``manifest`` (index, manifest,
config parsing and platform selection), ``json-decoding`` (the Go-faithful JSON decoding
against Go's ``encoding/json``, ``tests/support/gojson``), ``reference`` (registry references and
the
``oci-layout:``/``docker-daemon:``/``docker-archive:`` forms), ``www-authenticate``,
``bundle-manifest`` (``BundleManifest``, with a serialisation round trip), ``http-body``
(the bounded HTTP body reader and its decoders, hostile framing), ``record``
(``load_record``), and ``verify`` (a sealed bundle under a fuzzed upper layer: a passing
verify while Go's reading of that layer touches the bundle is a failure), and ``archive``
(the ``docker save`` archive: compression, outer tar, names, manifest.json/index.json), and
``lint`` (the same bytes as every kind of file lint reads: reported, never a crash).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib
import io
import json
import os
import random
import resource
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import brotli
import httpx
import tarcraft as tc
import zstandard
from platformspellings import SPELLINGS

from buildguard._internal.bodyread import (
    BodyTooLarge,
    EncodedTooLarge,
    encoded_limit_for,
    read_bounded,
)
from buildguard._internal.decode import DecodeError, UnsupportedEncoding

SEED_MTIME = 1_700_000_000


class Failure(Exception):
    """The target's oracle says the answer is wrong (not a crash, not a hang)."""


class Target:
    name = ""
    kind = "bytes"

    def seeds(self) -> list[bytes]:
        raise NotImplementedError

    def setup(self, work: Path) -> None:
        return None

    def run(self, data: bytes) -> str:
        raise NotImplementedError

    def close(self) -> None:
        return None


def _tar_seeds() -> list[bytes]:
    import tarcases

    seeds = [c.data for c in tarcases.CASES if len(c.data) < 200_000]
    seeds.append(
        tc.tar_of(
            [
                tc.directory("app"),
                tc.file("app/a.js", "a" * 700),
                tc.symlink("app/l", "a.js"),
                tc.hardlink("app/h", "app/a.js"),
            ],
            "gnu",
        )
    )
    return seeds


# ------------------------------------------------------------------------------- tar


class TarTarget(Target):
    name = "tar"
    kind = "tar"

    def seeds(self) -> list[bytes]:
        return _tar_seeds()

    def setup(self, work: Path) -> None:
        from golister import GoLister, build_golister

        self.go = GoLister(build_golister(work / "golister"))

    def run(self, data: bytes) -> str:
        from tarjudge import judge

        chunk = 1 + (data[0] * 37 + len(data)) % 1500 if data else 1
        verdict = judge(self.go, data, (chunk,))
        if verdict.outcome == "crash":
            raise Failure(f"walker crashed: {verdict.detail}")
        if verdict.outcome == "disagree":
            raise Failure(f"disagrees with Go: {verdict.detail}")
        return verdict.outcome

    def close(self) -> None:
        self.go.close()


# ------------------------------------------------------------------------------- layers


def _python_inflate(blob: bytes) -> bytes | None:
    try:
        if blob.startswith(b"\x1f\x8b"):
            return gzip.decompress(blob)
        if blob.startswith(b"\x28\xb5\x2f\xfd"):
            reader = zstandard.ZstdDecompressor().stream_reader(blob, read_across_frames=True)
            return reader.read(1 << 28)
    except (OSError, EOFError, zlib.error, zstandard.ZstdError, ValueError):
        return None
    return blob


class LayersTarget(Target):
    name = "layers"
    kind = "layer"

    def seeds(self) -> list[bytes]:
        tars = [*_tar_seeds()[:6], tc.tar_of([tc.file("a", bytes(range(256)) * 64)], "pax")]
        out = []
        for i, t in enumerate(tars):
            out.append(gzip.compress(t, mtime=0))
            out.append(zstandard.ZstdCompressor(level=1 + i % 5).compress(t))
        half = len(tars[-1]) // 2
        out.append(gzip.compress(tars[-1][:half], mtime=0) + gzip.compress(tars[-1][half:]))
        z = zstandard.ZstdCompressor()
        out.append(z.compress(tars[-1][:half]) + z.compress(tars[-1][half:]))
        return out

    def run(self, data: bytes) -> str:
        from buildguard._image.layers import read_layer
        from buildguard._image.tarwalk import WANT_HASH
        from buildguard.errors import BuildguardError

        threaded = bool(len(data) % 2)
        try:
            result = read_layer(
                io.BytesIO(data), label="fuzz", want=lambda _p: WANT_HASH, threaded=threaded
            )
        except BuildguardError:
            return "refused"
        if result.error is not None:
            return "content-error"
        inflated = _python_inflate(data)
        if inflated is None:
            return "accepted-python-refuses"
        want = "sha256:" + hashlib.sha256(inflated).hexdigest()
        if result.diff_id != want:
            raise Failure(
                f"DiffID {result.diff_id} but Python's decompressor gives {want} "
                f"({result.compression}, threaded={threaded})"
            )
        return "agree"


# ------------------------------------------------------------------------------- manifest


_CONFIG = {
    "architecture": "amd64",
    "os": "linux",
    "created": "2024-01-02T03:04:05Z",
    "config": {},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64]},
    "history": [
        {"created": "2024-01-02T03:04:05.123Z", "created_by": "COPY x"},
        {"empty_layer": True, "created_by": "CMD"},
    ],
}
_DESC = {
    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
    "digest": "sha256:" + "b" * 64,
    "size": 10,
}


def _manifest_seeds() -> list[bytes]:
    oci_manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + "c" * 64,
            "size": 100,
        },
        "layers": [_DESC],
        "annotations": {"a": "b"},
    }
    docker_manifest = dict(
        oci_manifest, mediaType=("application/vnd.docker.distribution.manifest.v2+json")
    )
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            dict(
                _DESC,
                mediaType="application/vnd.oci.image.manifest.v1+json",
                platform={"os": "linux", "architecture": "amd64"},
            ),
            dict(
                _DESC,
                mediaType="application/vnd.oci.image.manifest.v1+json",
                platform={"os": "linux", "architecture": "arm64", "variant": "v8"},
            ),
            dict(
                _DESC,
                annotations={"vnd.docker.reference.type": "attestation-manifest"},
                platform={"os": "unknown", "architecture": "unknown"},
            ),
        ],
    }
    return [json.dumps(d).encode() for d in (oci_manifest, docker_manifest, index, _CONFIG)]


class ManifestTarget(Target):
    name = "manifest"
    kind = "json"

    def seeds(self) -> list[bytes]:
        return _manifest_seeds()

    def run(self, data: bytes) -> str:
        from buildguard._image import manifest as m
        from buildguard._image.platforms import select_manifest
        from buildguard.errors import BuildguardError

        outcomes = []
        for media_type in (None, "application/vnd.oci.image.index.v1+json"):
            try:
                kind, doc = m.document_kind(data, media_type, "fuzz")
                if kind == "index":
                    index = m.parse_index(doc, "fuzz")
                    for wanted in (
                        None,
                        m.Platform("linux", "amd64"),
                        m.Platform("linux", "arm64", "v8"),
                    ):
                        with contextlib.suppress(BuildguardError):
                            select_manifest(index, wanted, "fuzz")
                else:
                    m.parse_manifest(doc, "fuzz")
                outcomes.append(kind)
            except BuildguardError:
                outcomes.append("refused")
        try:
            config = m.parse_config(data, "fuzz")
            config.layer_history()
            outcomes.append("config")
        except BuildguardError:
            outcomes.append("not-config")
        return "/".join(outcomes)


class JsonDecodingTarget(Target):
    """The Go-faithful JSON decoding (``gojson``) against Go's ``encoding/json``
    (``tests/support/gojson``) for every document kind, and the readers built on it (manifest,
    index, config, ``manifest.json``): agree with Go or refuse, never crash."""

    name = "json-decoding"
    kind = "gojson"

    def seeds(self) -> list[bytes]:
        from jsoncases import TEMPLATES

        return [json.dumps(value).encode() for _, value in TEMPLATES] + _manifest_seeds()

    def setup(self, work: Path) -> None:
        from gojson import GoJson, build_gojson

        self.go = GoJson(build_gojson(work / "gojson"))

    def run(self, data: bytes) -> str:
        from gojson import Disagreement, judge

        from buildguard._image import manifest as m
        from buildguard._image.godocs import decode_save_manifest
        from buildguard.errors import BuildguardError

        outcomes = []
        for kind in ("document", "config", "save"):
            try:
                outcomes.append(judge(self.go, kind, data))
            except Disagreement as exc:
                raise Failure(str(exc)) from None
        for read in (
            lambda: m.parse_config(data, "fuzz"),
            lambda: decode_save_manifest(data, "fuzz"),
            lambda: m.parse_index(m.document_kind(data, None, "fuzz")[1], "fuzz"),
            lambda: m.parse_manifest(m.document_kind(data, None, "fuzz")[1], "fuzz"),
        ):
            with contextlib.suppress(BuildguardError):
                read()
        return "/".join(outcomes)

    def close(self) -> None:
        self.go.close()


# ------------------------------------------------------------------------------- platform

_SPELLINGS = (
    *SPELLINGS,
    "linux/arm/v5",
    "linux/armel",
    "/",
    "linux/",
)
_MEDIA = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.in-toto+json",
    "",
)
_REQUESTS = (
    None,
    "linux/amd64",
    "linux/amd64/v2",
    "linux/amd64/v3",
    "linux/arm64",
    "linux/arm64/v8",
    "linux/arm64/v9",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/386",
    "windows/amd64",
    "unknown/unknown",
)


def _platform_doc(text: str) -> dict[str, str]:
    os_, arch, *variant = text.split("/")
    return {"os": os_, "architecture": arch, **({"variant": variant[0]} if variant else {})}


def _index_from_bytes(data: bytes) -> bytes:
    """Bytes that are not JSON drive a generator: every 4 bytes are one entry (platform,
    media type, digest, extras), so every input is an index the matchers must rank."""
    entries = []
    for at in range(0, min(len(data), 64), 4):
        a, b, c, d = (data[at : at + 4] + b"\0\0\0")[:4]
        entry: dict[str, Any] = {
            "mediaType": _MEDIA[b % len(_MEDIA)],
            "digest": "sha256:" + f"{c % 5:x}" * 64,
            "size": 10,
        }
        if a % 8:
            entry["platform"] = _platform_doc(_SPELLINGS[a % len(_SPELLINGS)])
            if d & 1:
                entry["platform"]["os.features"] = ["f"]
            if d & 8:
                entry["platform"]["os.version"] = "10.0.17763.1"
        elif d & 2:
            entry["platform"] = {}
        if d & 4:
            entry["annotations"] = {"vnd.docker.reference.type": "attestation-manifest"}
        entries.append(entry)
    return json.dumps({"schemaVersion": 2, "manifests": entries}).encode()


class PlatformTarget(Target):
    """Random indexes: the platform choice picks an entry or refuses, never anything else;
    the answer does not depend on the order of the entries (every runtime breaks ties by
    order and they rank differently); ``--platform all`` reads or refuses."""

    name = "platform"
    kind = "json"

    def seeds(self) -> list[bytes]:
        seeds = [
            bytes(range(0, 64, 3)),
            bytes([1, 0, 1, 0, 2, 0, 2, 0, 16, 0, 3, 4]),
            b"\x07\x00\x01\x00\x08\x00\x02\x00\x0c\x00\x03\x01",
        ]
        seeds += [_index_from_bytes(s) for s in seeds]
        return seeds

    def run(self, data: bytes) -> str:
        from buildguard._image import manifest as m
        from buildguard._image.layout import MemorySource
        from buildguard._image.platformmatch import Platform
        from buildguard._image.platforms import choose, platform_entries
        from buildguard.errors import BuildguardError

        try:
            json.loads(data)
        except (ValueError, UnicodeDecodeError):
            data = _index_from_bytes(data)
        try:
            kind, doc = m.document_kind(data, "application/vnd.oci.image.index.v1+json", "f")
            index = m.parse_index(doc, "f") if kind == "index" else None
        except BuildguardError:
            return "refused"
        if index is None:
            return "manifest"

        def outcome(ix: m.Index, request: Platform | None) -> str:
            try:
                desc = choose(ix, request, "f")
            except BuildguardError:
                return "refused"
            return "none" if desc is None else desc.digest

        seen = set()
        for text in _REQUESTS:
            request = Platform.parse(text) if text else None
            got = outcome(index, request)
            flipped = outcome(m.Index(index.media_type, index.manifests[::-1]), request)
            if got != flipped:
                raise Failure(f"for {text}: {got} in list order, {flipped} reversed")
            seen.add("picked" if got.startswith("sha256:") else got)
        source = MemorySource("fuzz", None, data, {})
        try:
            platform_entries(source, index)
        except BuildguardError:
            seen.add("all-refused")
        return "+".join(sorted(seen))


class ReferenceTarget(Target):
    name = "reference"
    kind = "bytes"

    def seeds(self) -> list[bytes]:
        return [
            s.encode()
            for s in (
                "europe-docker.pkg.dev/project/repo/app:tag",
                "127.0.0.1:5000/a/b@sha256:" + "0" * 64,
                "localhost/app:fresh",
                "gcr.io/p/a:t@sha256:" + "1" * 64,
                "docker.io/library/x",
                "oci-layout:/nonexistent/dir:localhost/app:fresh",
                "oci-layout:./layout",
                "docker-daemon:buildguard/app:1",
                "docker-daemon:app@sha256:" + "2" * 64,
                "docker-archive:/nonexistent.tar",
                "[::1]:5000/a:b",
                "HOST:99999/a",
            )
        ]

    def run(self, data: bytes) -> str:
        from buildguard._image.daemon import parse_daemon_ref
        from buildguard._image.layout import parse_layout_ref
        from buildguard._image.open import open_image
        from buildguard._image.reference import parse_reference
        from buildguard.errors import BuildguardError

        text = data.decode("utf-8", "surrogateescape")
        try:
            if text.startswith("oci-layout:"):
                parse_layout_ref(text[len("oci-layout:") :])
                open_image(text)
                return "layout-opened"
            if text.startswith("docker-daemon:"):
                parse_daemon_ref(text[len("docker-daemon:") :])
                return "daemon"
            if text.startswith("docker-archive:"):
                open_image(text)
                return "archive-opened"
            ref = parse_reference(text)
        except BuildguardError:
            return "refused"
        again = parse_reference(str(ref))
        if again != ref:
            raise Failure(
                f"{text!r} parses to {ref!r}, whose text {str(ref)!r} parses to {again!r}"
            )
        return "parsed"


# ------------------------------------------------------------------------------- auth


def www_authenticate_parser() -> Callable[[str], Any]:
    """``parse_www_authenticate`` from wherever it lives (auth is being restructured)."""
    for module in ("buildguard._image.transport.challenge", "buildguard._image.transport"):
        try:
            found = getattr(importlib.import_module(module), "parse_www_authenticate", None)
        except ImportError:
            continue
        if found is not None:
            return found  # type: ignore[no-any-return]
    raise ImportError("no parse_www_authenticate in buildguard")


class WwwAuthenticateTarget(Target):
    name = "www-authenticate"
    kind = "bytes"

    def seeds(self) -> list[bytes]:
        return [
            b'Bearer realm="https://auth.example/token",service="registry",scope="repo'
            b'sitory:a/b:pull"',
            b'Basic realm="r"',
            b'Bearer realm="x\\"y", error="invalid_token", Basic realm=z',
            b"Negotiate",
            b'Bearer realm=",,,"',
        ]

    def setup(self, work: Path) -> None:
        self.parse = www_authenticate_parser()

    def run(self, data: bytes) -> str:
        challenges = self.parse(data.decode("latin-1"))
        for c in challenges:
            if not isinstance(c.scheme, str) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in c.params.items()
            ):
                raise Failure(f"a challenge that is not text: {c!r}")
        return f"{min(len(challenges), 3)} challenge(s)"


# ------------------------------------------------------------------------------- models


def _sealed_manifest_seed() -> bytes:
    entry = {
        "path": "assets/index.js",
        "type": "file",
        "sha256": "a" * 64,
        "size": 3,
        "mode": 420,
        "mtime": "2024-01-01T00:00:00Z",
        "media_type": "text/javascript",
        "link_target": None,
    }
    doc = {
        "schema_version": 1,
        "build_id": "B-fuzz-0001",
        "commit": "0" * 40,
        "source_digest": "sha256:" + "1" * 64,
        "record_started_at": "2024-01-01T00:00:00Z",
        "sealed_at": "2024-01-01T00:01:00Z",
        "freshness": "canary",
        "canary_files": ["assets/index.js"],
        "files": [
            entry,
            dict(entry, path="caf\\xe9.js"),
            dict(entry, path="l", type="symlink", link_target="assets/index.js"),
        ],
    }
    return json.dumps(doc).encode()


def _record_seed() -> bytes:
    doc = json.loads(_sealed_manifest_seed())
    return json.dumps(
        {
            "schema_version": 1,
            "build_id": "B-fuzz-0001",
            "commit": None,
            "started_at": "2024-01-01T00:00:00Z",
            "source_root": "/src",
            "source_digest": "sha256:" + "1" * 64,
            "cleaned": ["/src/dist"],
            "excludes": ["*.log"],
            "files": doc["files"],
            "warnings": [],
        }
    ).encode()


def _round_trip(model: Any) -> None:
    text = model.model_dump_json()
    again = type(model).model_validate_json(text)
    if again != model:
        raise Failure(f"{type(model).__name__} does not survive a JSON round trip")


class BundleManifestTarget(Target):
    name = "bundle-manifest"
    kind = "json"

    def seeds(self) -> list[bytes]:
        return [_sealed_manifest_seed()]

    def run(self, data: bytes) -> str:
        from pydantic import ValidationError

        from buildguard.models import BundleManifest

        try:
            manifest = BundleManifest.model_validate_json(data)
        except ValidationError:
            return "invalid"
        _round_trip(manifest)
        return "valid"


class RecordTarget(Target):
    name = "record"
    kind = "json"

    def seeds(self) -> list[bytes]:
        return [_record_seed()]

    def setup(self, work: Path) -> None:
        self.path = work / "record.json"

    def run(self, data: bytes) -> str:
        from buildguard.errors import BuildguardError

        try:
            from buildguard._record.recordfile import load_record
        except ImportError:  # before the move to recordfile.py
            from buildguard._record.recorder import load_record  # type: ignore[attr-defined,no-redef]

        self.path.write_bytes(data)
        try:
            rec = load_record(self.path)
        except BuildguardError:
            return "refused"
        _round_trip(rec)
        return "loaded"


# ------------------------------------------------------------------------------- verify


class VerifyTarget(Target):
    """A sealed bundle in the lower layer, the fuzzed tar as the upper layer."""

    name = "verify"
    kind = "tar"
    root = b"/app/v5-frontend"

    def seeds(self) -> list[bytes]:
        import layercases

        fake = layercases.SealedBundle(
            tuple(
                layercases.SealedFile(p, b"x", 0o644, SEED_MTIME)
                for p in ("index.html", "assets/index.js", "buildguard-manifest.json")
            ),
            "B-fuzz",
            "0" * 40,
            "/nonexistent",
        )
        out = []
        for case in layercases.CASES:
            layers = case.build(fake)
            if len(layers) == 2:
                out.append(layers[1])
        return out

    def setup(self, work: Path) -> None:
        from golister import GoLister, build_golister
        from imagecorpus import write_layout
        from layercases import BUILD_ID, COMMIT, ROOT

        import buildguard

        self.go = GoLister(build_golister(work / "golister"))
        self.write_layout = write_layout
        src, dist = work / "src", work / "dist"
        (src).mkdir()
        (src / "a.js").write_text("1")
        options = buildguard.RecordOptions(
            out=None, build_id=BUILD_ID, commit=COMMIT, env_file=None
        )
        self.record = buildguard.record(src, options)
        (dist / "assets").mkdir(parents=True)
        (dist / "index.html").write_text("<html></html>")
        (dist / "assets" / "index.js").write_text(f"'{BUILD_ID}'")
        buildguard.seal(dist, record=self.record)
        entries = [tc.directory(b"app"), tc.directory(ROOT), tc.directory(ROOT + b"/assets")]
        for path in sorted(p for p in dist.rglob("*") if p.is_file()):
            rel = path.relative_to(dist).as_posix().encode()
            entries.append(tc.file(ROOT + b"/" + rel, path.read_bytes()))
        self.lower = tc.tar_of(entries, "pax")
        self.lower_paths = [b"/" + e.name.rstrip(b"/") for e in entries]
        self.lower_kinds = {b"/" + e.name.rstrip(b"/"): e.kind for e in entries}
        self.lower_attrs = {
            b"/" + e.name: (e.mode, e.uid, e.gid) for e in entries if e.kind == "file"
        }
        self.layout = work / "layout"
        self.build_id, self.commit = BUILD_ID, COMMIT

    def _related(self, path: bytes) -> bool:
        """``path`` is the bundle root, inside it, or one of its parents."""
        root = self.root
        return path in (root, b"/") or path.startswith(root + b"/") or root.startswith(path + b"/")

    def _lower_under(self, path: bytes, *, strictly: bool = False) -> bool:
        """Some path of the lower layer is ``path`` (unless ``strictly``) or below it."""
        prefix = path.rstrip(b"/") + b"/"
        return any((p == path and not strictly) or p.startswith(prefix) for p in self.lower_paths)

    def _touches_bundle(self, data: bytes) -> str | None:
        """Why the runtime's result of this layer differs from the sealed bundle (as far as
        one layer over the known lower layer tells), or None."""
        from golister import runtime_path, runtime_view

        view = runtime_view(self.go.list(data))
        if view.refused:
            return f"the runtime refuses the layer ({view.refused})"
        links: list[bytes] = []
        for e in view.entries:
            if e.name is None:
                return "a '..' name"
            if any(e.name.startswith(link + b"/") for link in links):
                return f"{e.name!r} is written through a symlink of the same layer"
            if e.kind == "symlink":
                links.append(e.name)
            if e.kind == "global":  # moby RemoveAll()s its path (the root: the layer fails)
                if e.name == b"/" or self._lower_under(e.name):
                    return f"a global header named {e.name!r}"
                continue
            if e.kind == "hardlink":
                target = runtime_path(e.linkname or b"")
                lower = self.lower_attrs.get(target or b"")
                if lower is not None and lower != (e.mode, e.uid, e.gid):
                    return f"hard link {e.name!r} changes the mode/owner of {target!r}"
            head, _, base = e.name.rpartition(b"/")
            if base == b".wh..wh..opq":
                if self._lower_under(head or b"/", strictly=True):
                    return f"opaque marker {e.name!r} hides lower files"
                continue
            if base.startswith(b".wh."):
                if self._lower_under(head + b"/" + base[4:]):
                    return f"whiteout {e.name!r} deletes lower files"
                continue
            if e.kind == "dir":
                if self.lower_kinds.get(e.name, "dir") != "dir":
                    return f"directory {e.name!r} replaces a lower file"
                continue
            if self._related(e.name):
                return f"{e.name!r} ({e.kind}) is written into the bundle or over its parents"
        return None

    def run(self, data: bytes) -> str:
        import buildguard
        from buildguard.errors import BuildguardError

        if self.layout.exists():
            shutil.rmtree(self.layout)
        self.write_layout(self.layout, [self.lower, data], compression="none", tag="t")
        try:
            report = buildguard.verify(
                f"oci-layout:{self.layout}:t",
                buildguard.Expectations(
                    build_id=self.build_id, commit=self.commit, records=(self.record,)
                ),
                buildguard.ReadOptions(paths=[self.root.decode()]),
                environ={},
            )
        except BuildguardError:
            return "refused"
        if not report.ok:
            return "failed"
        why = self._touches_bundle(data)
        if why is not None:
            raise Failure(f"verify passed, but {why}")
        return "passed"

    def close(self) -> None:
        self.go.close()


# ------------------------------------------------------------------------------- archive


class ArchiveTarget(Target):
    """The ``docker save`` archive itself (compression, outer tar, names, manifest.json vs
    index.json): only typed errors, never a crash."""

    name = "archive"
    kind = "tar"

    def seeds(self) -> list[bytes]:
        from savecases import CASES

        return [case.data for case in CASES]

    def run(self, data: bytes) -> str:
        from buildguard._image.archive import read_save_stream
        from buildguard._image.tarwalk import WANT_HASH
        from buildguard.errors import BuildguardError

        try:
            read_save_stream(io.BytesIO(data), reference="fuzz", want=lambda _p: WANT_HASH)
        except BuildguardError:
            return "refused"
        return "read"


# ------------------------------------------------------------------------------- http bodies
# ``http-body``: the bounded body reader (buildguard._internal.bodyread) and its incremental
# decoders, with hostile framing. An input is ``[coding][split seed][body…]``: the first byte
# picks a Content-Encoding (one coding, two, identity, one we do not decode), the second how
# the raw body is cut into network chunks (a byte each, empty chunks between, uneven runs);
# it goes through a real ``httpx.Response`` and ``read_bounded`` with small limits. Failures:
# an untyped exception; more decoded bytes than the limit; more encoded bytes consumed than
# the encoded limit and one chunk; a body accepted whose bytes differ from the reference
# decoders' (Python's gzip, brotli, zstandard).


BODY_CODINGS = (
    "gzip",
    "deflate",
    "br",
    "zstd",
    "identity",
    "",
    "gzip, br",
    "zstd, gzip",
    "compress",
)
BODY_LIMIT = 256 << 10
BODY_RSS_LIMIT_KIB = 300 * 1024
"""How far the worker's peak RSS may grow over its cases: a decoder that ran away in memory
shows here."""
BODY_ENCODED_LIMIT = encoded_limit_for(BODY_LIMIT)
BODY_MAX_CHUNK = 4096


class _CountedStream(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.sent += len(chunk)
            yield chunk


def _split_body(body: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    style = seed % 4
    chunks: list[bytes] = []
    i = 0
    while i < len(body):
        size = 1 if style == 0 else rng.randint(1, BODY_MAX_CHUNK)
        chunks.append(body[i : i + size])
        if style == 2:
            chunks.append(b"")  # empty network reads between data
        i += size
    return chunks


def _reference_decode(codings: list[str], body: bytes) -> bytes | None:
    """The body decoded by the reference libraries (last coding applied first), or None
    where they have no single answer (deflate: zlib-wrapped or raw is our guess)."""
    data = body
    for coding in reversed(codings):
        if coding == "gzip":
            data = gzip.decompress(data)
        elif coding == "br":
            data = brotli.decompress(data)
        elif coding == "zstd":
            reader = zstandard.ZstdDecompressor().stream_reader(
                io.BytesIO(data), read_across_frames=True
            )
            data = reader.read()
        elif coding not in ("identity", ""):
            return None
    return data


class HttpBodyTarget(Target):
    name = "http-body"
    kind = "bytes"

    def seeds(self) -> list[bytes]:
        text = b"<!doctype html><script src=/a.js></script>" * 50
        zeros = b"\0" * (1 << 20)  # a small bomb: 1 MiB, four times the limit
        empty_gzip = gzip.compress(b"", mtime=0)
        skippable = (0x184D2A50).to_bytes(4, "little") + bytes(4)
        z = zstandard.ZstdCompressor()
        return [
            b"\x00\x00" + gzip.compress(text, mtime=0),
            b"\x00\x01" + gzip.compress(text[:500], mtime=0) + gzip.compress(text, mtime=0),
            b"\x00\x02" + empty_gzip * 200 + gzip.compress(b"x", mtime=0),
            b"\x00\x03" + gzip.compress(zeros, mtime=0),
            b"\x01\x00" + zlib.compress(text),
            b"\x01\x01" + zlib.compress(text)[2:-4],  # raw deflate
            b"\x01\x02" + b"\x78\x9c" + b"\x00\x00\x00\xff\xff" * 300 + b"\x03\x00",
            b"\x02\x00" + brotli.compress(text),
            b"\x02\x01" + b"\x0c" + b"\x06" * 500 + b"\x03",
            b"\x02\x03" + brotli.compress(zeros),
            b"\x03\x00" + z.compress(text) + skippable * 100 + z.compress(b"y"),
            b"\x03\x02" + z.compress(zeros),
            b"\x04\x00" + text,
            b"\x06\x01" + brotli.compress(gzip.compress(text, mtime=0)),
            b"\x07\x02" + gzip.compress(z.compress(text), mtime=0),
            b"\x08\x00" + text,
            b"\x00\x01" + empty_gzip * 20_000,  # past the encoded limit, decoding to nothing
            b"\x03\x00" + skippable * 50_000,
        ]

    baseline_kib: int | None = None
    """The worker's peak RSS before its first case: a worker forked from a large process
    (pytest after hundreds of tests) starts with the parent's pages counted."""

    def run(self, data: bytes) -> str:
        if self.baseline_kib is None:
            self.baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        outcome = self._run(data)
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self.baseline_kib
        if grown > BODY_RSS_LIMIT_KIB:
            raise Failure(f"the worker's peak RSS grew by {grown >> 10} MiB")
        return outcome

    def _run(self, data: bytes) -> str:
        if len(data) < 2:
            return "short"
        header = BODY_CODINGS[data[0] % len(BODY_CODINGS)]
        body = data[2:]
        stream = _CountedStream(_split_body(body, data[1]))
        headers = {"content-encoding": header} if header else {}
        response = httpx.Response(200, headers=headers, stream=stream)
        try:
            out = read_bounded(response, BODY_LIMIT)
        except BodyTooLarge as exc:
            if exc.size > BODY_LIMIT + 1:
                raise Failure(
                    f"{exc.size} decoded bytes held past a {BODY_LIMIT}-byte limit"
                ) from None
            return "too large"
        except EncodedTooLarge:
            return "encoded too large"
        except (DecodeError, UnsupportedEncoding):
            return "refused"
        finally:
            if stream.sent > BODY_ENCODED_LIMIT + BODY_MAX_CHUNK + (64 << 10):
                raise Failure(
                    f"{stream.sent} encoded bytes read past a {BODY_ENCODED_LIMIT}-byte limit"
                )
        if len(out) > BODY_LIMIT:
            raise Failure(f"{len(out)} bytes returned past a {BODY_LIMIT}-byte limit")
        codings = [c.strip() for c in header.split(",") if c.strip()]
        try:
            expected = _reference_decode(codings, body)
        except Exception:  # the reference refuses what we accepted: compare no bytes
            return "accepted (reference refused)"
        if expected is not None and expected != out:
            raise Failure(
                f"decoded {len(out)} bytes that differ from the reference's "
                f"{len(expected)} ({header})"
            )
        return "accepted"


# ------------------------------------------------------------------------------- lint

_LINT_SEEDS = [
    b"steps:\n- id: b\n  name: node\n  entrypoint: npm\n  args: [run, build]\n"
    b"- name: gcr.io/cloud-builders/docker\n  args: [build, -t, r/a, -f, Dockerfile, .]\n"
    b"  waitFor: ['-']\nimages: [r/a]\n",
    b"on: push\njobs:\n  a:\n    steps:\n      - run: cd web && npm run build\n"
    b"      - uses: docker/build-push-action@v6\n        with: {push: true, tags: r/a}\n",
    b"FROM node AS b\nWORKDIR /app\nRUN npm run build\nFROM nginx\nCOPY dist /x\n"
    b"COPY --from=b /app/dist /y\n",
    b"apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n"
    b"      containers:\n        - image: r/a:latest\n",
    b"/*\n!/dist\n#!include:.gitignore\nsrc/**/x\n",
]
_LINT_FILES: list[tuple[str, str]] = [
    ("cloudbuild.yaml", "cloudbuild"),
    (".github/workflows/ci.yml", "github-actions"),
    ("Dockerfile", "dockerfile"),
    ("k8s/app.yaml", "kubernetes"),
    (".gcloudignore", "gcloudignore"),
    (".dockerignore", "dockerignore"),
]


class LintTarget(Target):
    """The same bytes as every kind of file lint reads, in a workspace with a package.json:
    lint reports (a file it cannot parse is a BG-PARSE warning), never crashes."""

    name = "lint"
    kind = "bytes"

    def seeds(self) -> list[bytes]:
        return list(_LINT_SEEDS)

    def setup(self, work: Path) -> None:
        self.root = work / "repo"
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "package.json").write_text('{"scripts": {"build": "vite build"}}')

    def run(self, data: bytes) -> str:
        from buildguard._lint.linter import lint_workspace
        from buildguard._lint.workspace import Workspace, WorkspaceFile

        text = data.decode("utf-8", errors="replace")
        files = [WorkspaceFile(path, kind, text) for path, kind in _LINT_FILES]
        report = lint_workspace(Workspace(self.root, files))
        if any(f.line < 1 for f in report.findings):
            raise Failure("a finding at a line before the first")
        return "findings" if report.findings else "clean"


TARGETS: dict[str, type[Target]] = {
    t.name: t
    for t in (
        TarTarget,
        LayersTarget,
        ManifestTarget,
        PlatformTarget,
        JsonDecodingTarget,
        ReferenceTarget,
        WwwAuthenticateTarget,
        BundleManifestTarget,
        RecordTarget,
        VerifyTarget,
        ArchiveTarget,
        HttpBodyTarget,
        LintTarget,
    )
}


def scratch_dir() -> Path:
    """A fresh private directory, in memory when /dev/shm is there (targets write files)."""
    shm = Path("/dev/shm")
    where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="bg-fuzz-", dir=where))
