"""JSON documents for the Go decoding differential and its fuzz target.

``TEMPLATES``: real-looking manifests, indexes, configs and ``manifest.json`` files (kind,
value). :func:`mutate` varies a document where Go's ``encoding/json`` is special (see
``tests/test_gojson_differential.py``); :func:`vary` does it to bytes, for the fuzzer.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64
D3 = "sha256:" + "c" * 64
LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

TEMPLATES: list[tuple[str, Any]] = [
    (
        "document",
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1469,
                "digest": D1,
            },
            "layers": [
                {"mediaType": LAYER, "size": 2811, "digest": D2},
                {"mediaType": LAYER, "size": 100, "digest": D3},
            ],
        },
    ),
    (
        "document",
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": D1,
                "size": 7,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": D2,
                    "size": 32,
                    "annotations": {"org.opencontainers.image.title": "a"},
                    "urls": ["http://127.0.0.1/x"],
                }
            ],
            "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
            "subject": {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": D3,
                "size": 1,
                "data": "e30=",
            },
        },
    ),
    (
        "document",
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": D1,
                    "size": 100,
                    "platform": {"architecture": "amd64", "os": "linux"},
                },
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": D2,
                    "size": 100,
                    "platform": {
                        "architecture": "arm64",
                        "os": "linux",
                        "variant": "v8",
                        "os.features": ["a"],
                    },
                },
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": D3,
                    "size": 100,
                    "platform": {"architecture": "unknown", "os": "unknown"},
                    "annotations": {
                        "vnd.docker.reference.type": "attestation-manifest",
                        "vnd.docker.reference.digest": D1,
                    },
                },
            ],
        },
    ),
    (
        "document",
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "digest": D1,
                    "size": 10,
                    "platform": {
                        "architecture": "arm",
                        "os": "linux",
                        "variant": "v7",
                        "features": ["sse4"],
                        "os.version": "10.0",
                    },
                },
            ],
        },
    ),
    (
        "document",
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": D1,
                    "size": 500,
                    "annotations": {
                        "org.opencontainers.image.ref.name": "app:1",
                        "io.containerd.image.name": "docker.io/x/app:1",
                    },
                }
            ],
        },
    ),
    (
        "config",
        {
            "architecture": "amd64",
            "os": "linux",
            "variant": "",
            "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "WorkingDir": "/"},
            "container": "abc",
            "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) ADD x"]},
            "created": "2024-05-01T12:30:45.123456789Z",
            "docker_version": "20.10.24",
            "history": [
                {"created": "2024-05-01T12:30:45.1+02:00", "created_by": "/bin/sh -c #(nop) ADD"},
                {
                    "created": "2024-05-01T12:30:46Z",
                    "created_by": 'CMD ["sh"]',
                    "empty_layer": True,
                    "comment": "buildkit.dockerfile.v0",
                    "author": "me",
                },
            ],
            "rootfs": {"type": "layers", "diff_ids": [D1, D2]},
            "os.version": "",
            "id": "x",
            "parent": D3,
            "size": 0,
        },
    ),
    (
        "config",
        {
            "created": "1970-01-01T00:00:00Z",
            "architecture": "arm64",
            "variant": "v8",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [D1]},
            "config": {"Labels": {"a": "b"}},
            "history": [{"created_by": "buildah"}],
        },
    ),
    (
        "save",
        [
            {
                "Config": "blobs/sha256/" + "a" * 64,
                "RepoTags": ["app:1", "app:latest"],
                "Layers": ["blobs/sha256/" + "b" * 64],
                "LayerSources": {D2: {"mediaType": LAYER, "size": 5, "digest": D3}},
            },
            {"Config": "c.json", "RepoTags": None, "Layers": ["l/layer.tar"], "Parent": D1},
        ],
    ),
]

# -- documents as trees we can vary and write ----------------------------------------------


class Obj(list[list[Any]]):
    """An object: [raw key bytes, node] pairs."""


class Arr(list[Any]):
    pass


class Raw(bytes):
    """A scalar, already JSON."""


MAPS = frozenset({"annotations", "LayerSources"})


class MapObj(Obj):
    """An object Go decodes into a map (any key binds; values are typed)."""


def tree(value: Any, kind: type[Obj] = Obj) -> Any:
    if isinstance(value, dict):
        return kind(
            [json.dumps(k).encode(), tree(v, MapObj if k in MAPS else Obj)]
            for k, v in value.items()
        )
    if isinstance(value, list):
        return Arr(tree(v) for v in value)
    return Raw(json.dumps(value).encode())


def write(node: Any) -> bytes:
    if isinstance(node, Obj):
        return b"{" + b",".join(k + b":" + write(v) for k, v in node) + b"}"
    if isinstance(node, Arr):
        return b"[" + b",".join(write(v) for v in node) + b"]"
    return bytes(node)


def places(node: Any, out: list[tuple[Any, int]]) -> list[tuple[Any, int]]:
    """Every (container, index) in the tree."""
    if isinstance(node, Obj | Arr):
        for i, item in enumerate(node):
            out.append((node, i))
            places(item[1] if isinstance(node, Obj) else item, out)
    return out


FOLDS = {
    "k": ["\u212a", "K"],
    "K": ["\u212a", "k"],
    "s": ["\u017f", "S"],
    "S": ["\u017f", "s"],
    "i": ["\u0131", "\u0130", "I"],
    "I": ["\u0131", "\u0130", "i"],
}
NUMBERS = [
    b"1.0",
    b"1e3",
    b"1E0",
    b"-0",
    b"0",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b"12345678901234567890123",
    b"-1",
    b"1.5e300",
    b"1e400",
    b"0.0",
    b"7",
]
BAD_LITERALS = [
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"01",
    b"+1",
    b".5",
    b"1.",
    b"tru",
    b"'x'",
    b"0x10",
    b"1_0",
    b'"\\x41"',
    b'"a\tb"',
    b"nul",
]
TIMES = [
    b'"2020-01-01T00:00:00\\u005a"',
    b'"2020-13-01T00:00:00Z"',
    b'"2020-01-01t00:00:00Z"',
    b'"2020-01-01 00:00:00Z"',
    b'"2020-01-01T00:00:00.1234567891Z"',
    b'"2020-02-30T00:00:00Z"',
    b'"2020-01-01T00:00:00+23:59"',
    b'"2020-01-01T00:00:00+24:00"',
    b'"2020-01-01T00:00:00"',
    b'"0001-01-01T00:00:00Z"',
    b'"2020-01-01T23:59:60Z"',
    b'"2020-01-01T00:00:00,5Z"',
    b'"2020-01-01T00:00:00.5-07:30"',
    b'""',
    b"17",
]
VALUES = [
    b"null",
    b"[]",
    b"{}",
    b'"x"',
    b"true",
    b"false",
    b"1",
    b"[null]",
    b"[{}]",
    b'{"a":1}',
    b'["x",null]',
    b'"\\ud800"',
    b'"\\udc00\\ud800x"',
    b'"\\ud83d\\ude00"',
    b'"sha256:' + b"a" * 64 + b'"',
    b'"\xc3\xa9"',
    b'"e30"',
    b'"e30=\\n"',
]


def _key_variant(rng: random.Random, key: bytes) -> bytes:
    try:
        text = json.loads(key)
    except ValueError:  # already made invalid UTF-8
        return key
    if not text:
        return key
    choice = rng.randrange(4)
    chars = list(text)
    if choice == 0:  # ASCII case change
        i = rng.randrange(len(chars))
        chars[i] = chars[i].swapcase()
    elif choice == 1:  # a Unicode fold
        spots = [i for i, c in enumerate(chars) if c in FOLDS]
        if spots:
            i = rng.choice(spots)
            chars[i] = rng.choice(FOLDS[chars[i]])
        else:
            chars = [c.upper() for c in chars]
    elif choice == 2:  # the same key, written with escapes
        return (
            b'"'
            + b"".join(
                b"\\u%04x" % ord(c) if rng.random() < 0.4 else json.dumps(c).encode()[1:-1]
                for c in chars
            )
            + b'"'
        )
    else:  # near misses Go ignores
        chars.append(rng.choice(["_", " ", "\u00e9", "x", "\u0000"]))
    return json.dumps("".join(chars)).encode()


def mutate(rng: random.Random, root: Any) -> bytes:
    """One variation of ``root`` (in place), written out."""
    spots = places(root, [])
    container, i = rng.choice(spots) if spots else (None, 0)
    op = rng.randrange(14)
    if isinstance(container, Obj):
        key, _ = container[i]
        if op == 0:
            container[i][0] = _key_variant(rng, key)
        elif op == 1:  # repeat the pair, same or other value, before or after
            value = container[i][1] if rng.random() < 0.5 else Raw(rng.choice(VALUES))
            if rng.random() < 0.3 and isinstance(container[i][1], Obj | Arr):
                value = copy.deepcopy(container[i][1])
                spots2 = places(value, [])
                if spots2:
                    c2, j = rng.choice(spots2)
                    if isinstance(c2, Obj):
                        c2[j][1] = Raw(rng.choice(VALUES))
                    else:
                        c2[j] = Raw(rng.choice(VALUES))
            container.insert(
                i + rng.choice([0, 1]), [rng.choice([key, _key_variant(rng, key)]), value]
            )
        elif op == 2:
            container[i][1] = Raw(b"null")
        elif op == 3:
            container[i][1] = Raw(rng.choice(NUMBERS + BAD_LITERALS))
        elif op == 4:
            container[i][1] = Raw(rng.choice(VALUES))
        elif op == 5:
            container[i][1] = Raw(rng.choice(TIMES))
        elif op == 6:  # invalid UTF-8 in a key
            container[i][0] = key[:-1] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80"]) + b'"'
        elif op == 7:  # an unknown key, deeply nested
            depth = rng.choice([3, 150, 250, 10001])
            container.append([b'"zz"', Raw(b"[" * depth + b"]" * depth)])
        else:
            container[i][1] = Raw(rng.choice(VALUES + NUMBERS + TIMES))
    elif isinstance(container, Arr):
        if op < 4:
            container[i] = Raw(rng.choice(VALUES))
        elif op < 6:
            del container[i]
        else:
            container.insert(i, Raw(b"null"))
    data = write(root)
    tail = rng.random()
    if tail < 0.04:
        data += rng.choice([b" \n", b"x", b"{}", b"\x00", b"]", b" null"])
    elif tail < 0.06:
        data = rng.choice([b"\xef\xbb\xbf", b" \t", b"\x0b", b"\xc2\xa0"]) + data
    return data


def vary(rng: random.Random, data: bytes) -> bytes | None:
    """One to three Go-special variations of a JSON document (``None``: not JSON)."""
    try:
        root = tree(json.loads(data))
    except (ValueError, RecursionError):
        return None
    out = data
    for _ in range(rng.randint(1, 3)):
        out = mutate(rng, root)
    return out


HARMLESS = [
    b"null",
    b"[]",
    b"{}",
    b'"x"',
    b"1.5e300",
    b"-0",
    b"1e400",
    b'{"a":[1,{"b":null}]}',
    b'"\\ud800"',
    b'"\\u00e9\\n"',
    b"true",
    b'"Layers"',
]


def vary_harmlessly(rng: random.Random, root: Any) -> bytes:
    """A variation Go reads and buildguard must read too (never refuse): a key written with
    escapes, an unknown key (also twice), a ``null`` value, white space."""
    spots = [(c, i) for c, i in places(root, []) if isinstance(c, Obj)]
    container, i = rng.choice(spots)
    op = rng.randrange(3)
    if op == 1 and isinstance(container, MapObj):
        op = 0
    if op == 0:
        text = json.loads(container[i][0])
        container[i][0] = (
            b'"'
            + b"".join(
                b"\\u%04x" % ord(c) if rng.random() < 0.5 else json.dumps(c).encode()[1:-1]
                for c in text
            )
            + b'"'
        )
    elif op == 1:
        name = rng.choice([b'"x-extra"', b'"Lay\\u0065rs_"', b'"mediaTypes"', b'"_"'])
        container.insert(rng.randrange(len(container) + 1), [name, Raw(rng.choice(HARMLESS))])
    else:
        container[i][1] = Raw(b"null")
    data = write(root)
    return data.replace(b",", rng.choice([b",", b" ,\n\t", b",\r\n"]))
