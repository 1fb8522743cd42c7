"""The checks of ``verify``: a flattened image tree + this build's expectations → findings.

Pure logic over an already-read tree (no I/O, no printing), so every rule is testable on a
hand-made tree. In the image, the manifest is the freshness proof: timestamps only add
evidence (``FILE_STALE``) to files that already fail, never fail matching content.
"""

from __future__ import annotations

import posixpath
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pydantic import ValidationError

from buildguard._internal.files import utc_from_timestamp
from buildguard._internal.timefmt import human_duration, rfc3339
from buildguard.models import (
    MANIFEST_NAME,
    BundleManifest,
    BundleResult,
    Finding,
    FindingCode,
    LayerInfo,
    Severity,
)


class TreeEntry(Protocol):
    """What the checks need of one flattened image entry."""

    @property
    def type(self) -> str: ...  # file, dir, symlink, hardlink
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def mtime(self) -> int: ...  # seconds since the epoch, as layer tars store it
    @property
    def layer(self) -> int: ...
    @property
    def link_target(self) -> str | None: ...


@dataclass(frozen=True)
class Expectations:
    build_id: str
    commit: str | None
    source_digest: str | None
    started_at: datetime
    """When this build started (the record), or when verify started without a record."""
    started_label: str = "this build started"


@dataclass
class BundleCheck:
    result: BundleResult
    findings: list[Finding] = field(default_factory=list)


def normalise_root(path: str) -> str:
    """``app/dist/`` → ``/app/dist``: absolute, no trailing slash."""
    return posixpath.normpath("/" + path.strip().lstrip("/"))


class _Reporter:
    def __init__(self, layers: Sequence[LayerInfo], platform: str | None) -> None:
        self.layers = layers
        self.platform = platform
        self.findings: list[Finding] = []

    def add(
        self,
        code: FindingCode,
        message: str,
        *,
        severity: Severity = "error",
        bundle: str | None = None,
        path: str | None = None,
        layer: int | None = None,
    ) -> None:
        info = self.layers[layer] if layer is not None and 0 <= layer < len(self.layers) else None
        self.findings.append(
            Finding(
                code=code,
                severity=severity,
                message=message,
                bundle=bundle,
                path=path,
                layer=layer,
                layer_digest=info.digest if info else None,
                created_by=info.created_by if info else None,
                platform=self.platform,
            )
        )


def _layer_text(layers: Sequence[LayerInfo], index: int) -> str:
    if not 0 <= index < len(layers):
        return f"layer {index}"
    step = layers[index].created_by
    return f"layer {index} ({step.strip()})" if step else f"layer {index}"


def find_bundle_roots(tree: Mapping[str, TreeEntry]) -> list[str]:
    """Every folder holding a ``buildguard-manifest.json`` file."""
    return sorted(
        posixpath.dirname(path)
        for path, entry in tree.items()
        if posixpath.basename(path) == MANIFEST_NAME and entry.type in ("file", "hardlink")
    )


def check_image(
    tree: Mapping[str, TreeEntry],
    manifest_bytes: Mapping[str, bytes],
    layers: Sequence[LayerInfo],
    expect: Expectations,
    *,
    paths: Sequence[str] = (),
    allow_extra: bool = False,
    platform: str | None = None,
) -> tuple[list[BundleResult], list[Finding], int]:
    """Check every bundle of one platform image. Returns bundles, findings, files compared."""
    report = _Reporter(layers, platform)
    found = find_bundle_roots(tree)
    if paths:
        roots = []
        for wanted in dict.fromkeys(normalise_root(p) for p in paths):
            if wanted in found:
                roots.append(wanted)
                continue
            nearby = [r for r in found if r.startswith(wanted + "/") or wanted.startswith(r)]
            where = f"; manifests found at: {', '.join(nearby)}" if nearby else ""
            report.add(
                "NO_MANIFEST",
                f"{wanted} is not a sealed bundle root: no {MANIFEST_NAME} in that folder "
                f"({'it does not exist in the image' if wanted not in tree else 'unsealed'})"
                f"{where}",
                bundle=wanted,
                path=posixpath.join(wanted, MANIFEST_NAME),
            )
    else:
        roots = found
        if not roots:
            report.add(
                "NO_MANIFEST",
                f"no {MANIFEST_NAME} anywhere in the image: the bundle was not sealed, or "
                "not copied into this image",
            )

    bundles: list[BundleResult] = []
    compared = 0
    ordered = sorted(tree)  # once; each bundle takes its slice
    for root in roots:
        prefix = root.rstrip("/") + "/"
        # paths starting with "ROOT/" sort between "ROOT/" and "ROOT0" ("0" follows "/")
        under = ordered[bisect_left(ordered, prefix) : bisect_left(ordered, prefix[:-1] + "0")]
        nested = [r for r in found if r != root and r.startswith(prefix)]
        result, n = _check_bundle(
            root, tree, under, manifest_bytes, expect, report, allow_extra, nested, layers,
            platform,
        )
        bundles.append(result)
        compared += n
    if compared == 0 and not any(f.severity == "error" for f in report.findings):
        report.add("NOTHING_CHECKED", "no bundle file was compared: a verify that checked "
                   "nothing cannot pass")
    return bundles, report.findings, compared


def _check_bundle(
    root: str,
    tree: Mapping[str, TreeEntry],
    under: Sequence[str],
    manifest_bytes: Mapping[str, bytes],
    expect: Expectations,
    report: _Reporter,
    allow_extra: bool,
    nested: Sequence[str],
    layers: Sequence[LayerInfo],
    platform: str | None,
) -> tuple[BundleResult, int]:
    manifest_path = posixpath.join(root, MANIFEST_NAME)
    start = len(report.findings)
    raw = manifest_bytes.get(manifest_path)
    manifest: BundleManifest | None = None
    problem = "its content was not read"
    if raw is not None:
        try:
            manifest = BundleManifest.model_validate_json(raw)
        except ValidationError as exc:
            problem = f"{exc.error_count()} problems, first: {exc.errors()[0]['msg']}"
    if manifest is None:
        entry = tree.get(manifest_path)
        report.add(
            "MANIFEST_INVALID",
            f"{manifest_path} is not a valid buildguard manifest ({problem})",
            bundle=root,
            path=manifest_path,
            layer=entry.layer if entry else None,
        )
        return BundleResult(root=root, platform=platform, build_id=None, commit=None,
                            ok=False), 0

    manifest_layer = tree[manifest_path].layer if manifest_path in tree else None
    wrong_build = manifest.build_id != expect.build_id
    if wrong_build:
        report.add(
            "BUILD_ID_MISMATCH",
            f"bundle {root} was sealed by build {manifest.build_id} "
            f"(sealed {rfc3339(manifest.sealed_at)}), not by this build {expect.build_id}",
            bundle=root,
            path=manifest_path,
            layer=manifest_layer,
        )
    if expect.commit is None:
        report.add(
            "COMMIT_UNCHECKED",
            f"commit not checked for {root}: no expected commit (pass --expect-commit or set "
            f"$COMMIT_SHA); the bundle says {manifest.commit or 'nothing'}",
            severity="warning",
            bundle=root,
        )
    elif manifest.commit != expect.commit:
        report.add(
            "COMMIT_MISMATCH",
            f"bundle {root} was built from commit {manifest.commit or '(unknown)'}, "
            f"not {expect.commit}",
            bundle=root,
            path=manifest_path,
            layer=manifest_layer,
        )
    if expect.source_digest is None:
        report.add(
            "SOURCE_UNCHECKED",
            f"source digest not checked for {root}: no record of this build (pass --record)",
            severity="warning",
            bundle=root,
        )
    elif manifest.source_digest != expect.source_digest:
        report.add(
            "SOURCE_MISMATCH",
            f"bundle {root} was built from other sources ({manifest.source_digest[:19]}…) "
            f"than this build recorded ({expect.source_digest[:19]}…)",
            bundle=root,
            path=manifest_path,
            layer=manifest_layer,
        )

    failing: list[tuple[str, TreeEntry]] = []
    listed = set()
    compared = 0
    for item in manifest.files:
        path = posixpath.join(root, item.path)
        listed.add(path)
        entry = tree.get(path)
        if entry is None or entry.type == "dir":
            report.add(
                "FILE_MISSING",
                f"{path} is listed in the manifest but "
                + ("is a folder in the image" if entry else "is not in the image"),
                bundle=root,
                path=path,
                layer=entry.layer if entry else None,
            )
            continue
        compared += 1
        if not _same(item.type, item.sha256, item.size, item.link_target, entry):
            failing.append((path, entry))
            report.add(
                "FILE_CHANGED",
                f"{path} differs from the sealed bundle ({_describe(entry)}); it was written "
                f"by {_layer_text(layers, entry.layer)}",
                bundle=root,
                path=path,
                layer=entry.layer,
            )
        elif wrong_build:
            failing.append((path, entry))

    for path in under:
        entry = tree[path]
        if (
            path in listed
            or path == manifest_path
            or entry.type == "dir"
            or any(path.startswith(n + "/") for n in nested)
        ):
            continue
        report.add(
            "FILE_EXTRA",
            f"{path} is in the bundle folder but not in its manifest; it was written by "
            f"{_layer_text(layers, entry.layer)}"
            + (" (allowed by --allow-extra)" if allow_extra else ""),
            severity="info" if allow_extra else "error",
            bundle=root,
            path=path,
            layer=entry.layer,
        )
        if not allow_extra:
            failing.append((path, entry))

    for path, entry in failing:
        mtime = utc_from_timestamp(entry.mtime)
        if mtime < expect.started_at:
            report.add(
                "FILE_STALE",
                f"{path} was built {human_duration(expect.started_at - mtime)} before "
                f"{expect.started_label} (modified {rfc3339(mtime)}); it came from "
                f"{_layer_text(layers, entry.layer)}",
                bundle=root,
                path=path,
                layer=entry.layer,
            )
    ok = not any(f.severity == "error" for f in report.findings[start:])
    return (
        BundleResult(
            root=root,
            platform=platform,
            build_id=manifest.build_id,
            commit=manifest.commit,
            source_digest=manifest.source_digest,
            sealed_at=manifest.sealed_at,
            files_compared=compared,
            ok=ok,
        ),
        compared,
    )


def _same(
    kind: str, sha256: str, size: int, link_target: str | None, entry: TreeEntry
) -> bool:
    if kind == "symlink":
        return entry.type == "symlink" and entry.link_target == link_target
    return entry.type in ("file", "hardlink") and entry.sha256 == sha256 and entry.size == size


def _describe(entry: TreeEntry) -> str:
    if entry.type == "symlink":
        return f"a symlink to {entry.link_target}"
    if entry.type not in ("file", "hardlink"):
        return f"a {entry.type}"
    digest = (entry.sha256 or "?")[:12]
    return f"{entry.size} bytes, sha256 {digest}…"
