"""The tables of ``bench_verify.py``, printed as Markdown (ready for bench/README.md)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from benchtiming import Sample, max_rss, median_cpu, median_s, verdict

TARGET_FLOOR = 1.3
TARGET_COLD_FILL = 1.25
TARGET_WARM = 0.2
TARGET_VERSION_S = 0.15
TARGET_EXAMPLE_S = 0.35


def peer_target(size_mb: int) -> float:
    """≤ 0.25 of the peer at 1 GB, ≤ 0.35 at 264 MB (and below)."""
    return 0.25 if size_mb >= 1000 else 0.35


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(" ---: " for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _floor(r: Any, mode: str | None = None) -> float:
    """Median floor over the rounds: one mode, or the faster of threads and processes."""
    if mode is not None:
        return statistics.median(f[mode] for f in r.floor if mode in f)
    return statistics.median(min(f["threads"], f["processes"]) for f in r.floor)


def _loads(r: Any) -> str:
    ones = [float(x) for text in r.loads for x in text.replace("→", " ").split()[::3]]
    return f"{min(ones):.1f}-{max(ones):.1f}"


def print_main(items: Sequence[tuple[int, Any, Any]], runs: int) -> None:
    print(
        f"\n### verify vs. peer vs. floor (medians of {runs} alternating rounds; "
        "RSS: max over rounds, GNU time %M)\n"
    )
    rows = []
    for size, image, r in items:
        ours, peer, lay, floor = median_s(r.ours), median_s(r.peer), median_s(r.layout), _floor(r)
        pt = peer_target(size)
        rows.append(
            [
                f"{image.uncompressed >> 20}",
                f"{image.compressed >> 20}",
                f"{image.files}",
                f"{ours:.2f}",
                f"{peer:.2f}",
                f"**{ours / peer:.2f}** (≤ {pt}: {verdict(ours / peer, pt)})",
                f"{floor:.2f}",
                f"**{ours / floor:.2f}** (≤ {TARGET_FLOOR}: {verdict(ours / floor, TARGET_FLOOR)})",
                f"{lay:.2f}",
                f"{lay / floor:.2f}",
                f"{median_cpu(r.ours):.2f}",
                f"{median_cpu(r.ours) / _floor(r, 'threads_cpu'):.2f}",
                f"{max_rss(r.ours):.0f}",
                f"{max_rss(r.peer):.0f}",
                _loads(r),
            ]
        )
    _table(
        [
            "size MB",
            "gzip MB",
            "files",
            "verify s",
            "peer s",
            "÷ peer",
            "floor s",
            "÷ floor",
            "oci-layout s",
            "÷ floor",
            "verify CPU s",
            "÷ floor CPU",
            "verify RSS MB",
            "peer RSS MB",
            "load 1 min",
        ],
        rows,
    )
    print(
        "\nverify: from the registry, `--no-cache`; oci-layout: the same image from the local "
        "layout, `--no-cache`. floor (medians, s):"
    )
    for size, _, r in items:
        serial = [f["serial"] for f in r.floor if "serial" in f]
        print(
            f"- {size} MB: threads {_floor(r, 'threads'):.2f} (CPU "
            f"{_floor(r, 'threads_cpu'):.2f}), processes {_floor(r, 'processes'):.2f}"
            + (f", one thread {serial[0]:.2f}" if serial else "")
        )
    print(
        "\n÷ floor CPU: buildguard's CPU time (user + system) over the floor's: the work done, "
        "whatever the load; ÷ floor (wall) is the target."
    )


def print_cache(items: Sequence[tuple[int, Any]], gcs: bool) -> None:
    print(
        "\n### the layer-index cache (registry image; medians; cold = into an empty cache, "
        "warm = the `-next` tag: same base layers, a new bundle layer)\n"
    )
    rows = []
    for size, r in items:
        base, base_cpu = median_s(r.ours), median_cpu(r.ours)
        row = [f"{size}", f"{base:.2f}"]
        pairs: list[tuple[str, list[Sample], list[Sample]]] = [("dir", r.cold_dir, r.warm_dir)]
        if gcs:
            pairs.append(("gcs", r.cold_gcs, r.warm_gcs))
        for _, cold, warm in pairs:
            c, w = median_s(cold), median_s(warm)
            row += [
                f"{c:.2f}",
                f"**{c / base:.2f}** ({verdict(c / base, TARGET_COLD_FILL)})",
                f"{w:.2f}",
                f"**{w / base:.2f}** ({verdict(w / base, TARGET_WARM)})",
                f"{median_cpu(cold) / base_cpu:.2f} / {median_cpu(warm) / base_cpu:.2f}",
                f"{max(max_rss(cold), max_rss(warm)):.0f}",
            ]
        rows.append(row)
    header = ["size MB", "no-cache s"]
    for name in ("dir", "gcs") if gcs else ("dir",):
        header += [
            f"{name} cold s",
            f"÷ no-cache (≤ {TARGET_COLD_FILL})",
            f"{name} warm s",
            f"÷ no-cache (≤ {TARGET_WARM})",
            f"{name} CPU ÷ (cold / warm)",
            f"{name} RSS MB",
        ]
    _table(header, rows)
    print("\nCPU ÷: the cold and warm runs' CPU time over the `--no-cache` run's.")


def print_startup(startup: dict[str, list[Sample]]) -> None:
    print(
        f"\n### start-up (bytecode compiled; medians of {len(next(iter(startup.values())))} "
        "alternating runs)\n"
    )
    targets = {
        "buildguard --version": TARGET_VERSION_S,
        "verify examples/images (fresh)": TARGET_EXAMPLE_S,
    }
    base = median_s(startup["python -c pass"])
    rows = []
    for name, samples in startup.items():
        med = median_s(samples)
        target = targets.get(name)
        rows.append(
            [
                f"`{name}`",
                f"{med:.3f}",
                f"{min(s.seconds for s in samples):.3f}",
                f"{median_cpu(samples):.3f}",
                f"{med / base:.1f}",
                f"≤ {target} ({verdict(med, target)})" if target else "",
                f"{max_rss(samples):.0f}",
            ]
        )
    _table(["command", "median s", "min s", "CPU s", "÷ python -c pass", "target", "RSS MB"], rows)
    print(
        "\nCPU s: user + system (GNU time), median; on a loaded machine the wall time of a "
        "one-thread start-up is about its CPU time plus waiting for a core."
    )
