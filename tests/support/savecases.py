"""Crafted ``docker save`` archives (issue 17, part 3), written afresh with :mod:`tarcraft`.

Each case holds two images that differ only in what ``/app/app.js`` holds (:data:`GOOD` or
:data:`EVIL`) and builds one archive from them: compressed outer archives, the header
dialects where Python's ``tarfile`` and Go's ``archive/tar`` disagree applied to the
``manifest.json`` member, repeated and linked members, ``manifest.json`` and ``index.json``
naming different images. The rules they probe are moby's ``image/tarexport/load.go``
(v20.10.24, v26.0.0), ``pkg/archive`` (``DetectCompression``, ``DecompressStream``,
``Unpack``) and containerd's ``images/archive/importer.go``.

``well_formed`` cases must be read; the others must agree with ``docker load`` or be refused.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import lzma
from dataclasses import dataclass

import tarcraft as tc
from tarcraft import Header, Member, Raw, pax_member, serialize

GOOD = b"console.log('sealed')\n"
EVIL = b"alert('served, never verified')\n"
TAG = "buildguard-save/case:1"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def layer_tar(body: bytes) -> bytes:
    return serialize(
        [
            Member(Header(name=b"app/", typeflag=b"5", mode=0o755)),
            Member(Header(name=b"app/app.js"), body),
        ]
    )


@dataclass
class Img:
    """One image: its layer tar, config and the names docker save gives them."""

    body: bytes
    layer: bytes = b""
    config: bytes = b""
    layer_dir: str = ""

    def __post_init__(self) -> None:
        self.layer = layer_tar(self.body)
        self.config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "created": "2024-01-02T03:04:05Z",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": ["sha256:" + _sha(self.layer)]},
                "history": [{"created": "2024-01-02T03:04:05Z", "created_by": "crafted"}],
            }
        ).encode()
        self.layer_dir = _sha(self.layer + b"id")

    @property
    def config_name(self) -> str:
        return _sha(self.config) + ".json"

    @property
    def layer_name(self) -> str:
        return f"{self.layer_dir}/layer.tar"

    def manifest(self, tag: str = TAG, **override: object) -> bytes:
        entry: dict[str, object] = {
            "Config": self.config_name,
            "RepoTags": [tag],
            "Layers": [self.layer_name],
        }
        entry.update(override)
        return json.dumps([entry]).encode()

    def members(self) -> list[tc.Piece]:
        """Everything but manifest.json, as docker 20.10 writes it."""
        return [
            Member(Header(name=self.layer_dir.encode() + b"/", typeflag=b"5", mode=0o755)),
            Member(Header(name=self.layer_name.encode()), self.layer),
            Member(Header(name=self.config_name.encode()), self.config),
        ]


def file_member(name: str, data: bytes, **kw: object) -> Member:
    return Member(Header(name=name.encode(), **kw), data)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SaveCase:
    name: str
    data: bytes
    well_formed: bool = False
    note: str = ""
    expect: bytes | None = None
    """What ``/app/app.js`` must hold when buildguard reads it (``None``: not checked here)."""


def _gzip_two_members(tar: bytes) -> bytes:
    half = len(tar) // 2
    return gzip.compress(tar[:half], mtime=0) + gzip.compress(tar[half:], mtime=0)


def _zstd(tar: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(tar)


def _oci_entries(img: Img) -> tuple[list[tc.Piece], bytes]:
    """``blobs/`` members and the index.json of an OCI view of ``img``."""
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + _sha(img.config),
                "size": len(img.config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:" + _sha(img.layer),
                    "size": len(img.layer),
                }
            ],
        }
    ).encode()
    index = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": "sha256:" + _sha(manifest),
                    "size": len(manifest),
                    "annotations": {
                        "io.containerd.image.name": "docker.io/" + TAG,
                        "org.opencontainers.image.ref.name": "1",
                    },
                }
            ],
        }
    ).encode()
    pieces: list[tc.Piece] = []
    for blob in (img.layer, img.config, manifest):
        pieces.append(file_member("blobs/sha256/" + _sha(blob), blob))
    return pieces, index


def _dedupe(pieces: list[tc.Piece]) -> list[tc.Piece]:
    seen: set[bytes] = set()
    out: list[tc.Piece] = []
    for piece in pieces:
        if isinstance(piece, Member):
            key = piece.header.name
            if key in seen:
                continue
            seen.add(key)
        out.append(piece)
    return out


def build_cases() -> list[SaveCase]:
    good, evil = Img(GOOD), Img(EVIL)
    base = [*good.members(), file_member("manifest.json", good.manifest())]
    plain = serialize(base)
    both = [*good.members(), *evil.members()]
    cases = [
        SaveCase("plain", plain, True, expect=GOOD),
        SaveCase("gzip", gzip.compress(plain, mtime=0), True, expect=GOOD),
        SaveCase(
            "gzip-two-members",
            _gzip_two_members(plain),
            True,
            expect=GOOD,
            note="Go's gzip reader reads concatenated members",
        ),
        SaveCase("bzip2", bz2.compress(plain), True, expect=GOOD),
        SaveCase("xz", lzma.compress(plain, format=lzma.FORMAT_XZ), True, expect=GOOD),
        SaveCase(
            "zstd",
            _zstd(plain),
            note="dockerd 20.10 does not sniff zstd (newer dockerd does): refused",
        ),
        SaveCase(
            "gzip-trailing-zeros",
            gzip.compress(plain, mtime=0) + bytes(1024),
            note="Python's gzip skips zero padding, Go's reader fails on it",
        ),
        SaveCase("gzip-trailing-garbage", gzip.compress(plain, mtime=0) + b"junk" * 64),
        SaveCase("gzip-truncated", gzip.compress(plain, mtime=0)[:-20]),
        SaveCase(
            "gnu-headers",
            serialize(
                [
                    *[
                        Member(
                            Header(
                                name=m.header.name,
                                typeflag=m.header.typeflag,
                                magic=tc.GNU_MAGIC[0],
                                version=tc.GNU_MAGIC[1],
                            ),
                            m.data,
                        )
                        for m in base
                        if isinstance(m, Member)
                    ]
                ]
            ),
            True,
            expect=GOOD,
        ),
        SaveCase(
            "v7-headers",
            serialize(
                [
                    *[
                        Member(
                            Header(
                                name=m.header.name,
                                typeflag=m.header.typeflag,
                                magic=tc.V7_MAGIC[0],
                                version=tc.V7_MAGIC[1],
                            ),
                            m.data,
                        )
                        for m in base
                        if isinstance(m, Member)
                    ]
                ]
            ),
            True,
            expect=GOOD,
        ),
        SaveCase(
            "pax-path-names-manifest",
            serialize(
                [
                    *both,
                    pax_member([(b"path", b"manifest.json")]),
                    file_member("decoy.json", evil.manifest()),
                ]
            ),
            expect=EVIL,
            note="the PAX path wins over the ustar name, for Go and tarfile alike",
        ),
        SaveCase(
            "pax-empty-path-repeats-manifest",
            serialize(
                [
                    *both,
                    file_member("manifest.json", good.manifest()),
                    pax_member([(b"path", b"")]),
                    file_member("manifest.json", evil.manifest()),
                ]
            ),
            note="Go ignores an empty PAX path: manifest.json twice (the later wins)",
        ),
        SaveCase(
            "gnu-longname-manifest",
            serialize(
                [
                    *both,
                    tc.gnu_long_member(b"L", b"manifest.json"),
                    Member(
                        Header(name=b"decoy.json", magic=tc.GNU_MAGIC[0], version=tc.GNU_MAGIC[1]),
                        evil.manifest(),
                    ),
                ]
            ),
            expect=EVIL,
        ),
        SaveCase(
            "pax-then-global-drops-path",
            serialize(
                [
                    *both,
                    pax_member([(b"path", b"manifest.json")]),
                    pax_member([(b"comment", b"g")], name=b"pax_global_header", typeflag=b"g"),
                    file_member("harmless.json", evil.manifest()),
                    file_member("manifest.json", good.manifest()),
                ]
            ),
            expect=GOOD,
            note="Go: the g header drops the pending PAX path",
        ),
        SaveCase(
            "size-leading-nul-hides-manifest",
            serialize(
                [
                    *both,
                    Member(
                        Header(
                            name=b"pad.bin",
                            size=b"\x00%010o\x00"
                            % len(file_member("manifest.json", evil.manifest()).bytes()),
                        ),
                        file_member("manifest.json", evil.manifest()).bytes(),
                    ),
                    file_member("manifest.json", good.manifest()),
                ]
            ),
            expect=GOOD,
            note="Go trims NULs around the size: the evil manifest is pad.bin's data",
        ),
        SaveCase(
            "nul-padding-after-pax-records",
            serialize(
                [
                    *good.members(),
                    Member(
                        Header(name=b"././@PaxHeader", typeflag=b"x"),
                        tc.pax_data([(b"path", b"manifest.json")]) + b"\x00" * 20,
                    ),
                    file_member("m.json", good.manifest()),
                ]
            ),
            note="Go refuses NULs after the PAX records; tarfile stops at them",
        ),
        SaveCase(
            "one-zero-block-then-manifest",
            serialize([*both, Raw(bytes(512)), file_member("manifest.json", good.manifest())]),
            note="Go: invalid tar header after a lone zero block",
        ),
        SaveCase(
            "end-then-evil-manifest",
            serialize([*base]) + serialize([file_member("manifest.json", evil.manifest())]),
            True,
            expect=GOOD,
            note="Go stops at the end marker; the rest is drained",
        ),
        SaveCase(
            "manifest-twice",
            serialize(
                [
                    *both,
                    file_member("manifest.json", good.manifest()),
                    file_member("manifest.json", evil.manifest()),
                ]
            ),
        ),
        SaveCase(
            "manifest-symlink",
            serialize(
                [
                    *both,
                    file_member("m.json", evil.manifest()),
                    Member(Header(name=b"manifest.json", typeflag=b"2", linkname=b"m.json")),
                ]
            ),
        ),
        SaveCase(
            "manifest-hardlink",
            serialize(
                [
                    *both,
                    file_member("m.json", evil.manifest()),
                    Member(Header(name=b"manifest.json", typeflag=b"1", linkname=b"m.json")),
                ]
            ),
        ),
        SaveCase(
            "config-symlink",
            serialize(
                [
                    *both,
                    Member(
                        Header(name=b"c.json", typeflag=b"2", linkname=evil.config_name.encode())
                    ),
                    file_member("manifest.json", evil.manifest(Config="c.json")),
                ]
            ),
            expect=EVIL,
            note="dockerd follows the link within the folder; so does buildguard",
        ),
        SaveCase(
            "layer-under-symlinked-dir",
            serialize(
                [
                    *both,
                    Member(Header(name=b"l", typeflag=b"2", linkname=evil.layer_dir.encode())),
                    file_member("manifest.json", good.manifest(Layers=["l/layer.tar"])),
                ]
            ),
        ),
        SaveCase(
            "member-written-through-symlink",
            serialize(
                [
                    *evil.members(),
                    Member(
                        Header(
                            name=good.layer_dir.encode(),
                            typeflag=b"2",
                            linkname=evil.layer_dir.encode(),
                        )
                    ),
                    *[p for p in good.members()[1:]],
                    file_member("manifest.json", evil.manifest()),
                ]
            ),
        ),
        SaveCase(
            "symlink-escapes",
            serialize(
                [
                    *good.members(),
                    Member(Header(name=b"x.tar", typeflag=b"2", linkname=b"../../../etc/passwd")),
                    file_member("manifest.json", good.manifest()),
                ]
            ),
            expect=GOOD,
            note="the extraction is chrooted: a link out of the folder is harmless",
        ),
        SaveCase(
            "config-symlink-climbs",
            serialize(
                [
                    *both,
                    Member(Header(name=b"d/", typeflag=b"5")),
                    Member(
                        Header(
                            name=b"d/c.json",
                            typeflag=b"2",
                            linkname=b"../../../" + evil.config_name.encode(),
                        )
                    ),
                    file_member("manifest.json", evil.manifest(Config="d/c.json")),
                ]
            ),
            expect=EVIL,
            note="FollowSymlinkInScope stops '..' at the folder's root",
        ),
        SaveCase(
            "hardlink-to-later-member",
            serialize(
                [
                    *good.members()[:2],
                    Member(
                        Header(name=b"c.json", typeflag=b"1", linkname=good.config_name.encode())
                    ),
                    *good.members()[2:],
                    file_member("manifest.json", good.manifest(Config="c.json")),
                ]
            ),
            note="os.Link needs its target: docker load fails",
        ),
        SaveCase(
            "config-named-config-json",
            serialize(
                [
                    *good.members()[:2],
                    file_member("c/config.json", good.config),
                    file_member("manifest.json", good.manifest(Config="c/config.json")),
                ]
            ),
            True,
            expect=GOOD,
            note="dockerd names the config by its bytes, not its file",
        ),
        SaveCase(
            "config-named-another-digest",
            serialize(
                [
                    *good.members()[:2],
                    file_member(evil.config_name, good.config),
                    file_member("manifest.json", good.manifest(Config=evil.config_name)),
                ]
            ),
            True,
            expect=GOOD,
        ),
        SaveCase(
            "absolute-names",
            serialize(
                [
                    *[
                        Member(
                            Header(name=b"/" + m.header.name, typeflag=m.header.typeflag), m.data
                        )
                        for m in base
                        if isinstance(m, Member)
                    ]
                ]
            ),
            expect=GOOD,
        ),
        SaveCase(
            "dot-slash-names",
            serialize(
                [
                    Member(Header(name=b"./", typeflag=b"5", mode=0o755)),
                    *[
                        Member(
                            Header(name=b"./" + m.header.name, typeflag=m.header.typeflag), m.data
                        )
                        for m in base
                        if isinstance(m, Member)
                    ],
                ]
            ),
            True,
            expect=GOOD,
        ),
        SaveCase(
            "manifest-key-case",
            serialize(
                [
                    *both,
                    file_member(
                        "manifest.json",
                        json.dumps(
                            [
                                {
                                    "Config": good.config_name,
                                    "config": evil.config_name,
                                    "RepoTags": [TAG],
                                    "Layers": [evil.layer_name],
                                }
                            ]
                        ).encode(),
                    ),
                ]
            ),
            note="Go binds 'config' to Config too (the last wins)",
        ),
        SaveCase(
            "manifest-key-repeated",
            serialize(
                [
                    *both,
                    file_member(
                        "manifest.json",
                        (
                            f'[{{"Config": "{good.config_name}", "Config": "{evil.config_name}", '
                            f'"RepoTags": ["{TAG}"], "Layers": ["{evil.layer_name}"]}}]'
                        ).encode(),
                    ),
                ]
            ),
        ),
        SaveCase(
            "manifest-trailing-data",
            serialize(
                [*both, file_member("manifest.json", good.manifest() + b"\n" + evil.manifest())]
            ),
            note="Go's Decoder reads the first value only",
        ),
        SaveCase(
            "layer-bzip2",
            serialize(
                [
                    *good.members()[:1],
                    file_member(good.layer_name, bz2.compress(good.layer)),
                    *good.members()[2:],
                    file_member("manifest.json", good.manifest()),
                ]
            ),
            note="dockerd sniffs bzip2 inside the archive too; buildguard refuses",
        ),
    ]
    cases.extend(_index_cases(good, evil))
    return cases


def _index_cases(good: Img, evil: Img) -> list[SaveCase]:
    evil_blobs, evil_index = _oci_entries(evil)
    good_blobs, good_index = _oci_entries(good)
    layout = file_member("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
    return [
        SaveCase(
            "index-agrees",
            serialize(
                _dedupe(
                    [
                        *good.members(),
                        *good_blobs,
                        layout,
                        file_member("index.json", good_index),
                        file_member("manifest.json", good.manifest()),
                    ]
                )
            ),
            True,
            expect=GOOD,
            note="what docker >= 25 writes: both views name one image",
        ),
        SaveCase(
            "index-disagrees-with-layout",
            serialize(
                _dedupe(
                    [
                        *good.members(),
                        *evil_blobs,
                        layout,
                        file_member("index.json", evil_index),
                        file_member("manifest.json", good.manifest()),
                    ]
                )
            ),
            note="dockerd 20.10 loads manifest.json, containerd's importer index.json",
        ),
        SaveCase(
            "index-disagrees-without-layout",
            serialize(
                _dedupe(
                    [
                        *good.members(),
                        *evil_blobs,
                        file_member("index.json", evil_index),
                        file_member("manifest.json", good.manifest()),
                    ]
                )
            ),
            expect=GOOD,
            note="without oci-layout both loaders read manifest.json",
        ),
        SaveCase(
            "v1-repositories-no-manifest",
            serialize(
                [
                    *good.members(),
                    file_member(
                        "repositories",
                        json.dumps({"buildguard-save/case": {"1": good.layer_dir}}).encode(),
                    ),
                ]
            ),
        ),
    ]


CASES = build_cases()
BY_NAME = {case.name: case for case in CASES}
