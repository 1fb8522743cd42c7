"""Decoding image documents as Go does (``gojson``) against Python's ``json.loads`` (the peer,
which the readers used before and which reads differently from Go).

    .venv/bin/python bench/bench_json.py

Prints, per document: its size, the median time of ``godocs.decode_*`` and of ``json.loads``
over several rounds, and their ratio. Exit 0 whatever the figures are.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable

from buildguard._image.godocs import decode_config, decode_document


def _config() -> bytes:
    history = [
        {"created": "2024-01-01T00:00:00.123456789Z", "created_by": "/bin/sh -c echo \u003e x " * 5}
    ] * 40
    return json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": ["PATH=/bin"] * 20, "Labels": {f"l{i}": "v" * 40 for i in range(50)}},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64] * 40},
            "history": history,
        }
    ).encode()


def _index(entries: int) -> bytes:
    entry = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + "a" * 64,
        "size": 1,
        "platform": {"os": "linux", "architecture": "amd64"},
    }
    return json.dumps({"schemaVersion": 2, "manifests": [entry] * entries}).encode()


def _median(call: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    cases: list[tuple[str, bytes, Callable[[bytes, str], object], int]] = [
        ("config, 40 layers", _config(), decode_config, 200),
        ("index, 10 entries", _index(10), decode_document, 200),
        ("index, 5000 entries", _index(5000), decode_document, 5),
    ]
    for name, data, decode, rounds in cases:
        ours = _median(lambda: decode(data, name), rounds)  # noqa: B023
        peer = _median(lambda: json.loads(data), rounds)  # noqa: B023
        print(
            f"{name:22} {len(data):>9,} bytes  gojson {ours * 1e3:8.2f} ms  "
            f"json.loads {peer * 1e3:7.3f} ms  ratio {ours / peer:5.1f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
