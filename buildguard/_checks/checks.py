"""The checks of ``verify``: a flattened image tree + this build's expectations → findings.

Pure logic over an already-read tree (no I/O, no printing), so every rule is testable on a
hand-made tree (:class:`MappingTree`). This module judges bundles (manifest, build id,
commit, source digest); :mod:`buildguard._checks.filechecks` judges their files. In the image, the
manifest is the freshness proof: timestamps only add evidence (``FILE_STALE``) to files that
already fail, never fail matching content.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Mapping, Sequence

from pydantic import ValidationError

from buildguard._checks.extras import AllowExtra, ExtraAllowance
from buildguard._checks.filechecks import check_files
from buildguard._checks.findings import (
    CheckedEntry,
    MappingTree,
    Reporter,
    ResolvedExpectations,
    Tree,
)
from buildguard._checks.sourcecheck import bundle_expectations, check_source
from buildguard._internal.pathescape import escape
from buildguard._internal.timefmt import rfc3339
from buildguard.errors import ImageReadError
from buildguard.models import (
    MANIFEST_MAX_BYTES,
    MANIFEST_MAX_FILES,
    MANIFEST_NAME,
    BundleManifest,
    BundleResult,
    Finding,
    LayerInfo,
)

__all__ = [
    "CheckedEntry",
    "MappingTree",
    "ResolvedExpectations",
    "Tree",
    "check_image",
    "find_bundle_roots",
    "normalise_root",
]


def normalise_root(path: str) -> str:
    """``app/dist/`` → ``/app/dist``: absolute, no trailing slash."""
    return posixpath.normpath("/" + path.strip().lstrip("/"))


def find_bundle_roots(manifest_paths: Iterable[str]) -> list[str]:
    """Every folder holding a ``buildguard-manifest.json`` file."""
    return sorted(
        posixpath.dirname(path)
        for path in manifest_paths
        if posixpath.basename(path) == MANIFEST_NAME
    )


def check_image(
    tree: Tree | Mapping[str, CheckedEntry],
    manifest_bytes: Mapping[str, bytes | None],
    layers: Sequence[LayerInfo],
    expect: ResolvedExpectations,
    *,
    paths: Sequence[str] = (),
    allow_extra: AllowExtra = False,
    platform: str | None = None,
) -> tuple[list[BundleResult], list[Finding], int]:
    """Check every bundle of one platform image. Returns bundles, findings, files compared.

    ``allow_extra``: ``True`` allows every extra file, a tuple of gitignore-style globs
    (relative to the bundle root) those that match (see :mod:`buildguard._checks.extras`).
    ``manifest_bytes`` maps the path of every ``buildguard-manifest.json`` file in the image
    to its bytes (``None`` where they were not kept: over the size cap).
    """
    allow = ExtraAllowance(allow_extra)
    view: Tree = MappingTree(tree) if isinstance(tree, Mapping) else tree
    report = Reporter(layers, platform)
    found = find_bundle_roots(manifest_bytes)
    if paths:
        roots = []
        for wanted in dict.fromkeys(normalise_root(p) for p in paths):
            if wanted in found:
                roots.append(wanted)
                continue
            nearby = [r for r in found if r.startswith(wanted + "/") or wanted.startswith(r)]
            where = f"; manifests found at: {', '.join(map(escape, nearby))}" if nearby else ""
            exists = view.get(wanted) is not None
            report.add(
                "NO_MANIFEST",
                f"{escape(wanted)} is not a sealed bundle root: no {MANIFEST_NAME} in that "
                f"folder ({'unsealed' if exists else 'it does not exist in the image'}){where}",
                bundle=wanted,
                path=posixpath.join(wanted, MANIFEST_NAME),
            )
        # A bundle nested in a named one is served under that name too, and its folder is
        # left out of the outer bundle's extra-file check: it must be checked itself.
        named = tuple(r.rstrip("/") + "/" for r in roots)
        roots += [r for r in found if r not in roots and r.startswith(named)]
    else:
        roots = found
        for folder, why, layer in _unsealed_bundles(view, found):
            report.add(
                "NO_MANIFEST",
                f"{escape(folder)} was a sealed bundle, but its {MANIFEST_NAME} {why} while "
                "the folder still holds files: what it serves is not verified",
                bundle=folder,
                path=posixpath.join(folder, MANIFEST_NAME),
                layer=layer,
            )
        if not roots and not report.findings:
            report.add(
                "NO_MANIFEST",
                f"no {MANIFEST_NAME} anywhere in the image: the bundle was not sealed, or "
                "not copied into this image",
            )

    bundles: list[BundleResult] = []
    compared = 0
    for root in roots:
        start = len(report.findings)
        manifest = _read_manifest(root, view, manifest_bytes, report)
        if manifest is None:
            bundles.append(
                BundleResult(
                    root=escape(root), platform=platform, build_id=None, commit=None, ok=False
                )
            )
            continue
        nested = [r for r in found if r != root and r.startswith(root.rstrip("/") + "/")]
        judged, chosen = bundle_expectations(expect, manifest.source_digest)
        wrong_build = _check_identity(root, manifest, view, judged, report)
        n = check_files(
            root,
            manifest,
            view,
            judged,
            report,
            allow=allow,
            nested=nested,
            wrong_build=wrong_build,
        )
        compared += n
        ok = not any(f.severity == "error" for f in report.findings[start:])
        bundles.append(
            BundleResult(
                root=escape(root),
                platform=platform,
                build_id=manifest.build_id,
                commit=manifest.commit,
                source_digest=manifest.source_digest,
                sealed_at=manifest.sealed_at,
                files_compared=n,
                record=chosen.name if chosen is not None else None,
                ok=ok,
            )
        )
    if compared == 0 and not any(f.severity == "error" for f in report.findings):
        report.add(
            "NOTHING_CHECKED",
            "no bundle file was compared: a verify that checked nothing cannot pass",
        )
    return bundles, report.findings, compared


def _unsealed_bundles(view: Tree, found: Sequence[str]) -> list[tuple[str, str, int]]:
    """Folders whose manifest a later layer deleted (while files are left in them) or
    replaced by a symlink, a folder or another non-file: (folder, what happened, layer)."""
    out = []
    for path in view.deleted_paths():
        if not path.endswith(MANIFEST_NAME):  # the cheap test first: trees are large
            continue
        folder = posixpath.dirname(path)
        layer = view.deleted_by(path)
        if (
            posixpath.basename(path) != MANIFEST_NAME
            or folder in found
            or layer is None
            or not _holds_files(view, folder)
        ):
            continue
        out.append((folder, f"was deleted by layer {layer}", layer))
    for path in view.under_paths("/"):
        if not path.endswith(MANIFEST_NAME) or posixpath.basename(path) != MANIFEST_NAME:
            continue
        entry = view.get(path)
        if entry is not None and entry.type not in ("file", "hardlink"):
            out.append((posixpath.dirname(path), f"is a {entry.type} now", entry.layer))
    return sorted(out)


def _holds_files(view: Tree, folder: str) -> bool:
    folder_entry = view.get(folder) if folder != "/" else None
    if folder != "/" and (folder_entry is None or folder_entry.type != "dir"):
        return False
    for path in view.under_paths(folder):
        entry = view.get(path)
        if entry is not None and entry.type != "dir":
            return True
    return False


def _read_manifest(
    root: str, tree: Tree, manifest_bytes: Mapping[str, bytes | None], report: Reporter
) -> BundleManifest | None:
    manifest_path = posixpath.join(root, MANIFEST_NAME)
    raw = manifest_bytes.get(manifest_path)
    entry = tree.get(manifest_path)
    problem = None
    if (
        raw is None
        and entry is not None
        and entry.type == "hardlink"
        and (entry.size <= MANIFEST_MAX_BYTES)
    ):
        raise ImageReadError(
            f"{escape(manifest_path)} is a hard link to "
            f"{escape(entry.link_target or '')}, whose bytes buildguard keeps only under "
            f"the name {MANIFEST_NAME}: the manifest cannot be read",
            hint="copy the manifest into the bundle folder instead of hard-linking it",
        )
    if raw is None:
        size = entry.size if entry is not None else 0
        problem = (
            f"it is {size} bytes, over the {MANIFEST_MAX_BYTES >> 20} MiB cap"
            if size > MANIFEST_MAX_BYTES
            else "its content was not read"
        )
    elif len(raw) > MANIFEST_MAX_BYTES:
        problem = f"it is {len(raw)} bytes, over the {MANIFEST_MAX_BYTES >> 20} MiB cap"
    elif (count := _file_count_if_many(raw)) is not None:
        problem = f"it lists {count} files, over the cap of {MANIFEST_MAX_FILES}"
    else:
        try:
            manifest = BundleManifest.model_validate_json(raw)
        except ValidationError as exc:
            problem = f"{exc.error_count()} problems, first: {exc.errors()[0]['msg']}"
        else:
            if len(manifest.files) <= MANIFEST_MAX_FILES:
                return manifest
            problem = f"it lists {len(manifest.files)} files, over the cap of {MANIFEST_MAX_FILES}"
    report.add(
        "MANIFEST_INVALID",
        f"{escape(manifest_path)} is not a valid buildguard manifest ({problem})",
        bundle=root,
        path=manifest_path,
        layer=entry.layer if entry else None,
    )
    return None


def _file_count_if_many(raw: bytes) -> int | None:
    """The number of files a manifest lists when it is over the cap, found without building
    a model per file (a 32 MiB manifest of tiny entries would cost ~300 MB as models).
    Every file is a JSON object, so fewer ``{`` than the cap means under it."""
    if raw.count(b"{") <= MANIFEST_MAX_FILES + 1:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None  # the model's own parse names the problem
    files = doc.get("files") if isinstance(doc, dict) else None
    if isinstance(files, list) and len(files) > MANIFEST_MAX_FILES:
        return len(files)
    return None


def _check_identity(
    root: str, manifest: BundleManifest, tree: Tree, expect: ResolvedExpectations, report: Reporter
) -> bool:
    """Build id, commit and source digest; returns whether the build id is wrong."""
    manifest_path = posixpath.join(root, MANIFEST_NAME)
    entry = tree.get(manifest_path)
    layer = entry.layer if entry is not None else None
    shown = escape(root)
    wrong_build = manifest.build_id != expect.build_id
    if wrong_build:
        report.add(
            "BUILD_ID_MISMATCH",
            f"bundle {shown} was sealed by build {manifest.build_id} "
            f"(sealed {rfc3339(manifest.sealed_at)}), not by this build {expect.build_id}",
            bundle=root,
            path=manifest_path,
            layer=layer,
        )
    if expect.commit is None:
        report.add(
            "COMMIT_UNCHECKED",
            f"commit not checked for {shown}: no expected commit (pass --expect-commit or set "
            f"$COMMIT_SHA); the bundle says {manifest.commit or 'nothing'}",
            severity="warning",
            bundle=root,
        )
    elif manifest.commit != expect.commit:
        report.add(
            "COMMIT_MISMATCH",
            f"bundle {shown} was built from commit {manifest.commit or '(unknown)'}, "
            f"not {expect.commit}"
            + (
                f" (expected from {expect.commit_from}; pass --expect-commit to say otherwise)"
                if expect.commit_from
                else ""
            ),
            bundle=root,
            path=manifest_path,
            layer=layer,
        )
    check_source(root, manifest, expect, report, layer)
    return wrong_build
