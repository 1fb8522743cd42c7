"""Pseudo-random file content for the benchmarks' images: code-like text and random bytes."""

from __future__ import annotations

import itertools
import random

POOL_TEXT_MB = 24
POOL_BIN_MB = 8


class Pools:
    """Code-like text (gzip ~4x) and incompressible bytes, drawn from fixed pools."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        letters = "abcdefghijklmnopqrstuvwxyz_"
        words = ["".join(rng.choices(letters, k=rng.randint(3, 12))) for _ in range(1500)]
        wcum = list(itertools.accumulate(1.0 / (i + 1) for i in range(len(words))))
        punct = [" ", ".", "(", ")", ";\n", " = ", ", ", "{\n", "}\n", "\n  "]
        phrases = [
            "".join(w + rng.choice(punct) for w in rng.choices(words, cum_weights=wcum, k=n))
            for n in (rng.randint(2, 6) for _ in range(6000))
        ]
        pcum = list(itertools.accumulate(1.0 / (i + 1) ** 0.8 for i in range(len(phrases))))
        chunks: list[bytes] = []
        total = 0
        while total < POOL_TEXT_MB << 20:
            chunk = "".join(rng.choices(phrases, cum_weights=pcum, k=100_000)).encode()
            chunks.append(chunk)
            total += len(chunk)
        self.text = b"".join(chunks)
        self.binary = rng.randbytes(POOL_BIN_MB << 20)
        self.words = words
        self.rng = rng

    def content(self, size: int, binary: bool) -> bytes:
        pool = self.binary if binary else self.text
        out: list[bytes] = []
        left = size
        while left > 0:
            off = self.rng.randrange(0, len(pool) - 1)
            piece = pool[off : off + left]
            out.append(piece)
            left -= len(piece)
        return b"".join(out)

    def name(self) -> str:
        return self.rng.choice(self.words[:600])
