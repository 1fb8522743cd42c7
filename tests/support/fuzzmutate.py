"""Deterministic mutators for the fuzz runner (``fuzzrunner.py``, ``bench/fuzz.py``).

``mutate(rng, data, seeds, kind)`` returns a new input from ``data``: byte flips, inserted
and deleted ranges, splices with another seed, interesting numbers, truncation — and, for
tars, header-aware changes (a field of a header block rewritten, the checksum recomputed;
zero blocks and PAX members inserted), for JSON, value-level changes of a parsed document.
Everything comes from ``rng``, so case ``i`` of a run is reproducible from the seed alone.
"""

from __future__ import annotations

import gzip
import json
import random
import zlib
from collections.abc import Sequence
from typing import Any

import tarcraft as tc
import zstandard
from jsoncases import vary

INTERESTING = [
    b"0",
    b"-1",
    b"1",
    b"7",
    b"8",
    b"00000000000",
    b"77777777777",
    b"-0",
    b"9223372036854775807",
    b"9223372036854775808",
    b"99999999999999",
    b"1e9",
    b"1.5",
    b"-1.5",
    b"nan",
    b"inf",
    b" ",
    b"\x00",
    b"\xff",
    b"\x80",
    b"+1",
    b"0x10",
    b"1_0",
    b"\t1",
    b"",
    b"..",
    b"/",
    b"./",
    b".wh.",
    b".wh..wh..opq",
    b"GNU.sparse.",
    b"\\",
    b'"',
    b"\\x",
    b"\xc3\x28",
    b"\xed\xa0\x80",
]
FIELDS = [
    (0, 100),
    (100, 8),
    (108, 8),
    (116, 8),
    (124, 12),
    (136, 12),
    (148, 8),
    (156, 1),
    (157, 100),
    (257, 6),
    (263, 2),
    (329, 8),
    (337, 8),
    (345, 155),
    (476, 12),
    (508, 4),
]
TYPEFLAGS = b"\x000123456789gxLKSVMDNAZ"
PAX_KEYS = [
    b"path",
    b"linkpath",
    b"size",
    b"mtime",
    b"uid",
    b"gid",
    b"atime",
    b"ctime",
    b"GNU.sparse.name",
    b"GNU.sparse.major",
    b"GNU.sparse.minor",
    b"comment",
    b"SCHILY.xattr.x",
    b"uname",
]


def _bytes_mutation(rng: random.Random, data: bytes, seeds: Sequence[bytes]) -> bytes:
    out = bytearray(data)
    op = rng.randrange(7)
    if op == 0 and out:  # flip bytes
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    elif op == 1 and out:  # random bytes
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(len(out))] = rng.randrange(256)
    elif op == 2:  # insert
        at = rng.randrange(len(out) + 1)
        out[at:at] = (
            rng.choice(INTERESTING) if rng.random() < 0.5 else rng.randbytes(rng.randint(1, 64))
        )
    elif op == 3 and out:  # delete a range
        at = rng.randrange(len(out))
        del out[at : at + rng.randint(1, 64)]
    elif op == 4 and seeds:  # splice
        other = rng.choice(seeds)
        cut = rng.randrange(len(out) + 1)
        cut2 = rng.randrange(len(other) + 1)
        out = out[:cut] + other[cut2:]
    elif op == 5 and out:  # overwrite with an interesting token
        token = rng.choice(INTERESTING)
        at = rng.randrange(len(out))
        out[at : at + len(token)] = token
    elif out:  # truncate
        del out[rng.randrange(len(out)) :]
    return bytes(out)


def _tar_mutation(rng: random.Random, data: bytes) -> bytes:
    blocks = len(data) // tc.BLOCK
    out = bytearray(data)
    op = rng.randrange(6)
    if op < 3 and blocks:
        # a field of some block (most likely a header) rewritten, checksum recomputed
        b = rng.randrange(blocks)
        start = b * tc.BLOCK
        offset, width = rng.choice(FIELDS)
        if offset == 156:
            value = bytes([rng.choice(TYPEFLAGS)])
        elif rng.random() < 0.5:
            value = rng.choice(INTERESTING)
        elif width in (8, 12) and rng.random() < 0.5:
            number = rng.choice([0, 1, 511, 512, 513, 1024, -1, 2**33, rng.randrange(2**20)])
            try:
                value = tc.number(number, width)
            except tc.Unrepresentable:
                value = b"0"
        else:
            value = rng.randbytes(rng.randint(1, width))
        out[start + offset : start + offset + width] = value[:width].ljust(width, b"\x00")
        if offset != 148 or rng.random() < 0.3:
            out[start : start + tc.BLOCK] = tc.checksum_ok(bytes(out[start : start + tc.BLOCK]))
    elif op == 3:  # zero blocks somewhere
        at = rng.randrange(blocks + 1) * tc.BLOCK
        out[at:at] = bytes(tc.BLOCK * rng.randint(1, 2))
    elif op == 4:  # a PAX / GNU member somewhere
        at = rng.randrange(blocks + 1) * tc.BLOCK
        if rng.random() < 0.7:
            records = [
                (rng.choice(PAX_KEYS), rng.choice([*INTERESTING, b"a/b.js"]))
                for _ in range(rng.randint(1, 3))
            ]
            member = tc.pax_member(records, typeflag=rng.choice([b"x", b"x", b"g"]))
        else:
            member = tc.gnu_long_member(rng.choice([b"L", b"K"]), rng.randbytes(rng.randint(0, 30)))
        out[at:at] = member.bytes()
    elif blocks > 1:  # duplicate or drop a block
        b = rng.randrange(blocks) * tc.BLOCK
        if rng.random() < 0.5:
            out[b:b] = out[b : b + tc.BLOCK]
        else:
            del out[b : b + tc.BLOCK]
    return bytes(out)


def _json_values(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            True,
            0,
            -1,
            2**63,
            1.5,
            "",
            "x" * rng.randint(0, 40),
            "sha256:" + "0" * 64,
            "sha256:zz",
            "\udce9",
            "a\\xe9",
            "..",
            [],
            {},
            [None],
            {"a": 1},
            "1970-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "linux/amd64",
            "application/vnd.oci.image.manifest.v1+json",
        ]
    )


def _json_mutation(rng: random.Random, data: bytes) -> bytes | None:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None

    def walk(node: Any, depth: int) -> Any:
        if isinstance(node, dict) and node and rng.random() < 0.7:
            key = rng.choice(list(node))
            op = rng.randrange(4)
            if op == 0:
                node[key] = _json_values(rng)
            elif op == 1:
                del node[key]
            elif op == 2:
                node[key] = walk(node[key], depth + 1)
            else:
                node[rng.choice([key + "x", key.upper(), "extra"])] = _json_values(rng)
            return node
        if isinstance(node, list) and node and rng.random() < 0.7:
            i = rng.randrange(len(node))
            op = rng.randrange(3)
            if op == 0:
                node[i] = walk(node[i], depth + 1)
            elif op == 1:
                node.append(node[i])
            else:
                del node[i]
            return node
        return _json_values(rng) if depth else node

    doc = walk(doc, 0)
    return json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


def _layer_mutation(rng: random.Random, blob: bytes) -> bytes | None:
    """Inflate a gzip/zstd blob, mutate the tar inside, compress it again (as one or two
    gzip members / zstd frames, at a random level)."""
    try:
        if blob.startswith(b"\x1f\x8b"):
            inner = gzip.decompress(blob)
            level = rng.randint(1, 9)

            def pack(b: bytes) -> bytes:
                return gzip.compress(b, compresslevel=level, mtime=0)
        elif blob.startswith(b"\x28\xb5\x2f\xfd"):
            inner = (
                zstandard.ZstdDecompressor()
                .stream_reader(blob, read_across_frames=True)
                .read(1 << 26)
            )
            pack = zstandard.ZstdCompressor(level=rng.randint(1, 9)).compress  # type: ignore
        else:
            return None
    except (OSError, EOFError, zlib.error, zstandard.ZstdError, ValueError):
        return None
    inner = _tar_mutation(rng, inner)
    if rng.random() < 0.3 and len(inner) > 1:
        cut = rng.randrange(1, len(inner))
        return bytes(pack(inner[:cut]) + pack(inner[cut:]))
    return bytes(pack(inner))


def mutate(rng: random.Random, data: bytes, seeds: Sequence[bytes], kind: str) -> bytes:
    """One to three mutations of ``data`` of the given kind (``tar``, ``json``, ``gojson``
    (JSON with the variations Go's decoder treats specially), ``layer`` (a compressed
    tar), ``bytes``)."""
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if kind == "layer" and roll < 0.6:
            data = _layer_mutation(rng, data) or _bytes_mutation(rng, data, seeds)
        elif kind == "tar" and roll < 0.6:
            data = _tar_mutation(rng, data)
        elif kind == "gojson" and roll < 0.5:
            data = vary(rng, data) or _bytes_mutation(rng, data, seeds)
        elif kind in ("json", "gojson") and roll < 0.7:
            data = _json_mutation(rng, data) or _bytes_mutation(rng, data, seeds)
        else:
            data = _bytes_mutation(rng, data, seeds)
    return data
