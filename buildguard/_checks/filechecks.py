"""The file checks of one sealed bundle: every file the manifest lists is in the image,
unchanged and readable as sealed, and nothing else is in the bundle folder.

Findings: ``FILE_MISSING`` (naming the layer whose whiteout removed it, where one did),
``FILE_CHANGED``, ``FILE_MODE`` (a file others could read, or could execute, no longer can,
or a folder above it shuts others out: the web server's worker would fail on it; a folder
above it that no entry wrote is refused, its mode depends on the runtime),
``FILE_EXTRA`` (one from a layer below the bundle's manifest is the base image's, named as
such, with its fixes in the hint; ``--allow-extra`` makes allowed ones ``info``),
``FILE_LINK_OUTSIDE`` (a sealed symlink whose target lies outside the bundle:
what is served through it was never sealed); then, for the files that fail,
their age as evidence (``FILE_STALE``), except where the image's times are clamped by a
reproducible build (at the epoch, or equal to the image's ``created``): those say nothing
about age, and one ``TIMESTAMPS_CLAMPED`` note says so instead.
"""

from __future__ import annotations

import posixpath
import shlex
from datetime import datetime

from buildguard._checks.extras import ExtraAllowance, glob_for
from buildguard._checks.findings import CheckedEntry, Reporter, ResolvedExpectations, Tree
from buildguard._internal.pathescape import escape, unescape
from buildguard._internal.timefmt import from_epoch, human_duration, rfc3339
from buildguard.errors import HostileImage, ImageReadError
from buildguard.models import MANIFEST_NAME, BundleManifest

CLAMP_WINDOW = 86_400
"""File times within a day of the epoch are clamps (``--timestamp 0``, SOURCE_DATE_EPOCH=0)."""
_READ_OTHERS = 0o004
_SEARCH_OTHERS = 0o001
_EXEC_BITS = 0o111


def check_files(
    root: str,
    manifest: BundleManifest,
    tree: Tree,
    expect: ResolvedExpectations,
    report: Reporter,
    *,
    allow: ExtraAllowance,
    nested: list[str],
    wrong_build: bool,
) -> int:
    """Add the file findings of the bundle at ``root``; return how many files were compared."""
    failing: list[tuple[str, CheckedEntry]] = []
    listed: set[str] = set()
    compared = 0
    reachable: dict[str, bool] = {}
    for item in manifest.files:
        try:
            relative = unescape(item.path)
        except ValueError:
            report.add(
                "MANIFEST_INVALID",
                f"the manifest of {escape(root)} lists a damaged path {item.path!r}",
                bundle=root,
            )
            continue
        path = posixpath.join(root, relative)
        listed.add(path)
        entry = tree.get(path)
        if entry is None or entry.type == "dir":
            deleted = tree.deleted_by(path) if entry is None else None
            why = "is a folder in the image" if entry else "is not in the image"
            if deleted is not None:
                why = f"was deleted by {report.layer_text(deleted)}"
            report.add(
                "FILE_MISSING",
                f"{escape(path)} is listed in the manifest but {why}",
                bundle=root,
                path=path,
                layer=entry.layer if entry else deleted,
            )
            continue
        compared += 1
        if entry.type == "hardlink" and entry.sha256 is None:
            raise _unread_link(path, entry)
        if not _same(item.type, item.sha256, item.size, item.link_target, entry):
            failing.append((path, entry))
            report.add(
                "FILE_CHANGED",
                f"{escape(path)} differs from the sealed bundle ({_describe(entry)}); it was "
                f"written by {report.layer_text(entry.layer)}",
                bundle=root,
                path=path,
                layer=entry.layer,
            )
            continue
        if item.type == "symlink":
            _check_link(path, entry, root, report)
        if item.type == "file":
            _check_mode(path, item.mode, entry, root, report)
            if item.mode & _READ_OTHERS:
                _check_folders(path, tree, root, report, reachable)
        if wrong_build:
            failing.append((path, entry))

    manifest_path = posixpath.join(root, MANIFEST_NAME)
    manifest_entry = tree.get(manifest_path)
    manifest_layer = manifest_entry.layer if manifest_entry is not None else None
    nested_dirs = tuple(n + "/" for n in nested)
    for path in tree.under_paths(root):
        if path in listed or path == manifest_path or path.startswith(nested_dirs):
            continue
        entry = tree.get(path)
        if entry is None or entry.type == "dir":
            continue
        below = manifest_layer is not None and entry.layer < manifest_layer
        if _extra(root, path, entry.layer, manifest_layer if below else None, allow, report):
            continue
        if not below:  # a base image's file is as old as the base: no evidence of a stale build
            failing.append((path, entry))
    _age_evidence(root, failing, expect, report)
    return compared


def _extra(
    root: str,
    path: str,
    layer: int,
    manifest_layer: int | None,
    allow: ExtraAllowance,
    report: Reporter,
) -> bool:
    """Report one ``FILE_EXTRA``; returns whether ``--allow-extra`` allows it.

    ``manifest_layer`` is set when the file came from a layer below the one that wrote the
    bundle's manifest: the base image (the official nginx image's ``50x.html``) or an
    earlier step put it there, and the ``COPY`` of the bundle kept it."""
    relative = path[len(root.rstrip("/")) + 1 :]
    allowed = allow.allows(relative)
    if manifest_layer is not None:
        message = (
            f"{escape(path)} is in the bundle folder but not in its manifest; it came from "
            f"{report.layer_text(layer)}, below {report.layer_text(manifest_layer)} that "
            "wrote the bundle's manifest: the base image (or an earlier step) put it there "
            "and copying the bundle in kept it"
        )
        allow_fix = (
            f"--allow-extra {glob_for(relative)} if {escape(relative)} is meant to be served"
        )
        folder = root.rstrip("/")
        fix = (
            f"delete the folder's old content before copying the bundle in (RUN rm -rf "
            f"{shlex.quote(escape(folder))}/* before the COPY), or pass {allow_fix}"
            if folder  # never suggest `rm -rf /*` for a bundle at the image's root
            else f"pass {allow_fix}"
        )
    else:
        message = (
            f"{escape(path)} is in the bundle folder but not in its manifest; it was written "
            f"by {report.layer_text(layer)}"
        )
        fix = (
            f"remove {escape(relative)} from the bundle folder (it was added after seal, or "
            f"by a later step), or pass --allow-extra {glob_for(relative)} if it is meant "
            "to be served"
        )
    report.add(
        "FILE_EXTRA",
        message + (f" (allowed by {allow.flag()})" if allowed else ""),
        severity="info" if allowed else "error",
        bundle=root,
        path=path,
        layer=layer,
        hint=None if allowed else fix,
    )
    return allowed


def _check_link(path: str, entry: CheckedEntry, root: str, report: Reporter) -> None:
    """A sealed symlink must stay inside its bundle: the manifest binds only its target
    text, so the bytes a web server serves through a link out of the bundle are unchecked.
    The target is resolved lexically from the link's folder; a link to another link inside
    the bundle is judged there."""
    target = entry.link_target or ""
    start = "/" if target.startswith("/") else posixpath.dirname(path)
    resolved = posixpath.normpath(posixpath.join(start, target))
    if resolved == root or resolved.startswith(root.rstrip("/") + "/"):
        return
    report.add(
        "FILE_LINK_OUTSIDE",
        f"{escape(path)} is a symlink to {escape(target)} ({escape(resolved)}), outside the "
        f"bundle {escape(root)}: what is served through it was never sealed; it was written "
        f"by {report.layer_text(entry.layer)}",
        bundle=root,
        path=path,
        layer=entry.layer,
    )


def _unread_link(path: str, entry: CheckedEntry) -> ImageReadError:
    """A hard link whose target lies outside ``--path`` was not hashed (with ``--no-cache``
    only files under the paths are): its content is unknown, which is no finding."""
    return ImageReadError(
        f"{escape(path)} is a hard link to {escape(entry.link_target or '')}, outside the "
        "folders named by --path, whose content was not hashed",
        hint="verify without --no-cache (the cache's fill hashes every file), or add a "
        "--path that covers the link's target",
    )


def _check_mode(path: str, sealed: int, entry: CheckedEntry, root: str, report: Reporter) -> None:
    mode = entry.mode & 0o7777
    lost = []
    if sealed & _READ_OTHERS and not mode & _READ_OTHERS:
        lost.append("read permission for others (a web server's worker can no longer read it)")
    if sealed & _EXEC_BITS & ~mode:
        lost.append("the exec bit it had")
    if lost:
        report.add(
            "FILE_MODE",
            f"{escape(path)} has mode {mode:04o} in the image but was sealed as {sealed:04o}: "
            f"it lost {' and '.join(lost)}; it was written by {report.layer_text(entry.layer)}",
            bundle=root,
            path=path,
            layer=entry.layer,
        )


def _check_folders(
    path: str, tree: Tree, root: str, report: Reporter, reachable: dict[str, bool]
) -> None:
    """A file others could read is still out of their reach when a folder above it lacks
    search permission for others (``chmod 700`` of the bundle folder): say so once a folder.

    A folder no entry wrote (an implicit parent) has no mode of its own: dockerd creates it
    with mode 0600 (others cannot enter it), containerd with 0755. Whether the file can be
    served then depends on the runtime, so the image is refused (:class:`HostileImage`)."""
    folder = posixpath.dirname(path)
    while folder not in reachable:
        entry = tree.get(folder) if folder != "/" else None
        if entry is not None and entry.type == "dir" and getattr(entry, "implicit", False):
            raise HostileImage(
                f"{escape(folder)}, a folder above the sealed file {escape(path)}, is written "
                f"by no entry of any layer (layer {entry.layer} needs it as a parent): dockerd "
                "creates such a folder with mode 0600, which others cannot enter, containerd "
                "with 0755; whether a web server's worker can read the bundle depends on the "
                "runtime, so buildguard refuses the image",
                hint="write the folder into the layer (builders such as docker build and "
                "buildah do), e.g. with its own tar entry",
            )
        ok = entry is None or entry.type != "dir" or bool(entry.mode & _SEARCH_OTHERS)
        reachable[folder] = ok
        if not ok and entry is not None:
            report.add(
                "FILE_MODE",
                f"{escape(folder)} has mode {entry.mode & 0o7777:04o} in the image: others "
                f"cannot enter it, so a web server's worker cannot read the sealed files under "
                f"it; it was written by {report.layer_text(entry.layer)}",
                bundle=root,
                path=folder,
                layer=entry.layer,
            )
        if folder == "/":
            break
        folder = posixpath.dirname(folder)


def _is_clamped(mtime: int, created: datetime | None) -> bool:
    if -CLAMP_WINDOW <= mtime <= CLAMP_WINDOW:
        return True
    return created is not None and mtime == int(created.timestamp())


def _age_evidence(
    root: str,
    failing: list[tuple[str, CheckedEntry]],
    expect: ResolvedExpectations,
    report: Reporter,
) -> None:
    clamped: list[tuple[str, CheckedEntry]] = []
    for path, entry in failing:
        if _is_clamped(entry.mtime, expect.image_created):
            clamped.append((path, entry))
            continue
        mtime = from_epoch(entry.mtime)
        if mtime < expect.started_at:
            report.add(
                "FILE_STALE",
                f"{escape(path)} was built {human_duration(expect.started_at - mtime)} before "
                f"{expect.started_label} (modified {rfc3339(mtime)}); it came from "
                f"{report.layer_text(entry.layer)}",
                bundle=root,
                path=path,
                layer=entry.layer,
            )
    if clamped:
        times = sorted({rfc3339(from_epoch(e.mtime)) for _, e in clamped})
        shown = ", ".join(times[:3]) + (" …" if len(times) > 3 else "")
        report.add(
            "TIMESTAMPS_CLAMPED",
            f"{len(clamped)} failing file(s) of {escape(root)} carry clamped timestamps "
            f"({shown}), set by a reproducible build (--timestamp, SOURCE_DATE_EPOCH), not "
            "when they were built: their age cannot be told",
            severity="info",
            bundle=root,
        )


def _same(kind: str, sha256: str, size: int, link_target: str | None, entry: CheckedEntry) -> bool:
    if kind == "symlink":  # the manifest writes link targets escaped, like paths
        return entry.type == "symlink" and escape(entry.link_target or "") == link_target
    return entry.type in ("file", "hardlink") and entry.sha256 == sha256 and entry.size == size


def _describe(entry: CheckedEntry) -> str:
    if entry.type == "symlink":
        return f"a symlink to {escape(entry.link_target or '')}"
    if entry.type not in ("file", "hardlink"):
        return f"a {entry.type}"
    digest = (entry.sha256 or "?")[:12]
    return f"{entry.size} bytes, sha256 {digest}…"
