"""Differential test of the platform choice against the real dockerd 20.10 (issue 17, part 2).

Each case is an index pushed to the loopback registry whose entries differ in platform
spelling, variant, order, media type and annotations; every entry is a real image whose
``assets/index.js`` differs (one entry holds the bundle exactly as sealed). For each platform
asked, ``docker pull --platform P`` shows which entry dockerd pulls (the image ID is the
entry's config digest, and ``docker cp`` reads the ``index.js`` it serves), and
``buildguard inspect``/``verify --platform P`` give our verdict:

- wherever dockerd pulls an entry, inspect picks that same entry or refuses (exit 3), and
  verify passes only if that entry is the sealed one;
- the model of this dockerd (Debian's build links containerd 1.6's ``platforms``) predicts
  exactly the entry it pulls, or that it pulls none;
- our verdict is the one the case table expects (the choice of every runtime modelled, or a
  refusal where they differ or tie).
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import tarcraft as tc
from clitools import buildguard_cli
from layercases import ROOT, SealedBundle, seal_small_dist
from registryhelpers import OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, put_manifest, sha256
from registryhelpers import upload_blob as _upload
from services import Dockerd, Registry

from buildguard._image.platformmatch import Entry, Platform, picks

pytestmark = pytest.mark.docker

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ATTEST = {"vnd.docker.reference.type": "attestation-manifest"}
REFUSE = "refuse"
INDEX_JS = "assets/index.js"
DEBIAN_DOCKERD = "dockerd 20.10 (Debian, containerd 1.6)"


@dataclass(frozen=True)
class E:
    """One entry: its platform as the index spells it (``None``: no platform), and what the
    index says of it."""

    platform: str | None
    sealed: bool = False
    media_type: str = OCI_MANIFEST
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    name: str
    entries: tuple[E, ...]
    expect: dict[str | None, int | str | None]
    """Platform asked (``None``: no --platform) → our choice: entry number (1-based), None
    (no runtime pulls anything) or REFUSE."""
    index_type: str = OCI_INDEX


CASES = [
    Case(
        "aarch64 and arm64/v8 tie for arm64",
        (E("linux/amd64", sealed=True), E("linux/aarch64"), E("linux/arm64/v8")),
        {None: 1, "linux/arm64": REFUSE},
    ),
    Case(
        "arm64 with and without v8",
        (E("linux/arm64"), E("linux/arm64/v8", sealed=True)),
        {"linux/arm64": REFUSE, "linux/arm64/v8": REFUSE},
    ),
    Case("two amd64 entries", (E("linux/amd64"), E("linux/amd64", sealed=True)), {None: REFUSE}),
    Case(
        "an annotated attestation listed first",
        (E("linux/amd64", annotations=ATTEST), E("linux/amd64", sealed=True)),
        {None: REFUSE},
    ),
    Case(
        "unknown/unknown attestation listed first",
        (E("unknown/unknown", annotations=ATTEST), E("linux/amd64", sealed=True), E("linux/arm64")),
        {None: 2, "linux/arm64": 3},
    ),
    Case(
        "amd64 with variants v3, v2 and none",
        (E("linux/amd64/v3"), E("linux/amd64/v2"), E("linux/amd64", sealed=True)),
        {None: 3, "linux/amd64/v3": 1, "linux/amd64/v2": 2},
    ),
    Case(
        "amd64/v1 before amd64 (upstream 20.10 and containerd 1.6 differ)",
        (E("linux/amd64/v1"), E("linux/amd64", sealed=True)),
        {None: REFUSE},
    ),
    Case(
        "x86_64 spelling",
        (E("linux/arm64"), E("linux/x86_64", sealed=True)),
        {None: 2, "linux/arm64": 1},
    ),
    Case(
        "x86_64/v3 before amd64 (upstream 20.10 and containerd 1.6 differ)",
        (E("linux/x86_64/v3"), E("linux/amd64", sealed=True)),
        {None: REFUSE},
    ),
    Case(
        "an artifact media type listed first",
        (
            E("linux/amd64", media_type="application/vnd.example.artifact.v1+json"),
            E("linux/amd64", sealed=True),
        ),
        {None: REFUSE},
    ),
    Case(
        "an entry without a platform",
        (E("linux/arm64"), E(None, sealed=True)),
        {None: 2, "linux/arm64": 1},
    ),
    # "Linux" (the os) crashes this dockerd: it pulls the entry, then asks for the layer
    # store of os "Linux" and dereferences nil (distribution/xfer/download.go:361)
    Case(
        "capitals in a Docker manifest list",
        (E("linux/AMD64", sealed=True), E("linux/arm64")),
        {None: 1},
        index_type=DOCKER_LIST,
    ),
    Case(
        "dockerd's arm fallback",
        (E("linux/arm/v7", sealed=True), E("linux/arm64")),
        {"linux/arm/v6": 1, "linux/arm/v7": 1},
    ),
    Case(
        "armhf and arm/v7 tie",
        (E("linux/armhf"), E("linux/arm/v7", sealed=True)),
        {"linux/arm/v7": REFUSE},
    ),
    Case(
        "only 386 (containerd falls back to it, dockerd pulls nothing)",
        (E("linux/386", sealed=True),),
        {None: 1},
    ),
]


def _platform_doc(text: str) -> dict[str, str]:
    os_, arch, *variant = text.split("/")
    return {"os": os_, "architecture": arch, **({"variant": variant[0]} if variant else {})}


def _layer(bundle: SealedBundle, marker: str | None) -> bytes:
    entries = []
    for entry in bundle.entries():
        if marker is not None and entry.name == ROOT + b"/" + INDEX_JS.encode():
            entry = tc.file(
                entry.name,
                f"window.__ENTRY__ = '{marker}'\n".encode(),
                mode=0o644,
                mtime=1_700_000_000,
            )
        entries.append(entry)
    return tc.tar_of(entries, "pax")


@dataclass
class Pushed:
    ref: str
    configs: list[str]
    manifests: list[str]
    index_js: list[bytes]


def _push(registry: Registry, bundle: SealedBundle, case: Case, repo: str) -> Pushed:
    base = registry.url
    configs, manifests, scripts = [], [], []
    descriptors = []
    with httpx.Client(timeout=60) as client:
        for n, entry in enumerate(case.entries):
            tar = _layer(bundle, None if entry.sealed else f"{repo}-{n}")
            blob = gzip.compress(tar, mtime=0)
            platform = _platform_doc(entry.platform or "linux/amd64")
            config = json.dumps(
                {
                    **platform,
                    "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]},
                    "config": {},
                    "history": [{"created_by": f"entry {n}"}],
                }
            ).encode()
            _upload(client, base, repo, config, {})
            _upload(client, base, repo, blob, {})
            docker = case.index_type == DOCKER_LIST
            manifest_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": manifest_type,
                    "config": {
                        "mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                        "digest": sha256(config),
                        "size": len(config),
                    },
                    "layers": [
                        {
                            "mediaType": DOCKER_LAYER if docker else OCI_LAYER,
                            "digest": sha256(blob),
                            "size": len(blob),
                        }
                    ],
                }
            ).encode()
            digest = put_manifest(client, base, repo, sha256(manifest), manifest, manifest_type, {})
            media_type = manifest_type if entry.media_type == OCI_MANIFEST else entry.media_type
            desc: dict[str, object] = {
                "mediaType": media_type,
                "digest": digest,
                "size": len(manifest),
            }
            if entry.platform is not None:
                desc["platform"] = _platform_doc(entry.platform)
            if entry.annotations:
                desc["annotations"] = entry.annotations
            descriptors.append(desc)
            configs.append(sha256(config))
            manifests.append(digest)
            with tarfile.open(fileobj=io.BytesIO(tar)) as t:
                member = t.extractfile((ROOT + b"/" + INDEX_JS.encode()).decode())
                assert member is not None
                scripts.append(member.read())
        index = json.dumps(
            {"schemaVersion": 2, "mediaType": case.index_type, "manifests": descriptors}
        ).encode()
        put_manifest(client, base, repo, "multi", index, case.index_type, {})
    return Pushed(f"{registry.host}/{repo}:multi", configs, manifests, scripts)


def _dockerd_pulls(
    dockerd: Dockerd, pushed: Pushed, platform: str | None
) -> tuple[int | None, bytes | None, str]:
    """(entry number dockerd pulled or None, the index.js it serves, why it pulled none)."""
    flags = ["--platform", platform] if platform else []
    pulled = dockerd.docker("pull", *flags, pushed.ref, check=False)
    if pulled.returncode != 0:
        return None, None, pulled.stderr.strip()[-300:]
    try:
        image_id = dockerd.docker(
            "image", "inspect", "--format", "{{.Id}}", pushed.ref
        ).stdout.strip()
        number = pushed.configs.index(image_id) + 1
        cid = dockerd.docker("create", pushed.ref, "sh").stdout.strip()
        try:
            copied = subprocess.run(
                [dockerd.cli, "cp", f"{cid}:/{ROOT.decode()}/{INDEX_JS}", "-"],
                env=dockerd.env,
                capture_output=True,
                check=True,
                timeout=120,
            )
        finally:
            dockerd.docker("rm", "-f", cid, check=False)
        with tarfile.open(fileobj=io.BytesIO(copied.stdout)) as t:
            member = t.extractfile(Path(INDEX_JS).name)
            assert member is not None
            return number, member.read(), ""
    finally:
        dockerd.docker("rmi", "-f", pushed.ref, check=False)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> SealedBundle:
    return seal_small_dist(tmp_path_factory.mktemp("platform-bundle"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_platform_choice_agrees_with_dockerd(
    case: Case, dockerd: Dockerd, registry: Registry, bundle: SealedBundle
) -> None:
    repo = "platform/" + "".join(ch if ch.isalnum() else "-" for ch in case.name.lower())[:60]
    pushed = _push(registry, bundle, case, repo.rstrip("-"))
    sealed = next(n for n, e in enumerate(case.entries, 1) if e.sealed)
    problems: list[str] = []
    pulled: set[int] = set()
    for platform, expected in case.expect.items():
        asked = platform or "default"
        number, served, why = _dockerd_pulls(dockerd, pushed, platform)
        if number is not None:
            pulled.add(number)
        model = picks(
            [
                Entry(
                    Platform.parse(e.platform) if e.platform else None, e.media_type == OCI_MANIFEST
                )
                for e in case.entries
            ],
            Platform.parse(platform or "linux/amd64"),
        )
        predicted = next(p.chosen for p in model if p.runtime == DEBIAN_DOCKERD)
        if (None if predicted is None else predicted + 1) != number:
            problems.append(
                f"{asked}: dockerd pulls entry {number} ({why}); its model says "
                f"{None if predicted is None else predicted + 1}"
            )
        if number is not None and served != pushed.index_js[number - 1]:
            problems.append(f"{asked}: dockerd serves an index.js no entry holds")
        flags = ["--platform", platform] if platform else []
        inspected = buildguard_cli(
            "inspect", "--json", *flags, "--path", "/" + ROOT.decode(), pushed.ref
        )
        verified = buildguard_cli(
            "verify",
            pushed.ref,
            *flags,
            "--expect-build-id",
            bundle.build_id,
            "--record",
            bundle.record_path,
            "--path",
            bundle.root,
            "--json",
        )
        for name, done in (("inspect", inspected), ("verify", verified)):
            if done.returncode not in (0, 1, 3) or "Traceback" in done.stderr:
                problems.append(
                    f"{asked}: {name} crashed ({done.returncode}): {done.stderr[-400:]}"
                )
        ours: int | str | None = REFUSE
        if inspected.returncode == 0:
            digest = json.loads(inspected.stdout)["image"]["digest"]
            ours = pushed.manifests.index(digest) + 1
            problems += _entries_reported(case, pushed, json.loads(inspected.stdout), ours)
            if number is not None and ours != number:
                problems.append(f"{asked}: dockerd pulls entry {number}, inspect reads {ours}")
        elif "no image for platform" in inspected.stderr:
            ours = None
        if ours != expected:
            problems.append(
                f"{asked}: expected {expected}, inspect gives {ours}: "
                f"{inspected.stderr.strip()[-300:]}"
            )
        if verified.returncode == 0 and number is not None and number != sealed:
            problems.append(
                f"{asked}: verify passes, but dockerd serves entry {number}, "
                f"not the sealed {sealed}"
            )
        if verified.returncode == 0 and ours != sealed:
            problems.append(f"{asked}: verify passes on entry {ours}, not the sealed {sealed}")
    every = buildguard_cli(
        "verify",
        pushed.ref,
        "--platform",
        "all",
        "--expect-build-id",
        bundle.build_id,
        "--record",
        bundle.record_path,
        "--path",
        bundle.root,
        "--json",
    )
    if every.returncode not in (0, 1, 3) or "Traceback" in every.stderr:
        problems.append(f"--platform all crashed ({every.returncode}): {every.stderr[-400:]}")
    if every.returncode == 0 and pulled - {sealed}:
        problems.append(f"--platform all passes, but dockerd serves entries {sorted(pulled)}")
    assert not problems, "\n".join(problems)


def _entries_reported(
    case: Case, pushed: Pushed, report: dict[str, object], ours: int
) -> list[str]:
    """inspect lists every entry of the index, each with its kind, the one read chosen."""
    kinds = []
    for entry in case.entries:
        if entry.annotations or entry.platform == "unknown/unknown":
            kinds.append("attestation")
        else:
            kinds.append("image" if entry.media_type == OCI_MANIFEST else "artifact")
    listed = report["index_entries"]
    assert isinstance(listed, list)
    got = [(e["digest"], e["kind"], e["chosen"]) for e in listed]
    want = [
        (d, k, n == ours) for n, (d, k) in enumerate(zip(pushed.manifests, kinds, strict=True), 1)
    ]
    return [] if got == want else [f"inspect reports the entries {got}, not {want}"]
