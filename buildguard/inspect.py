"""``buildguard.inspect(image)``: what an image holds, as an :class:`InspectReport`."""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Sequence
from datetime import datetime

from buildguard._internal.timefmt import from_epoch
from buildguard.image.flatten import TreeEntry, wanted
from buildguard.image.open import open_image
from buildguard.image.reader import FlatImage, Progress
from buildguard.image.report import (
    FileReport,
    ImageRef,
    InspectReport,
    LayerReport,
    ManifestReport,
)


def _manifest_report(entry: TreeEntry) -> ManifestReport:
    data = entry.data
    digest = entry.sha256
    if data is not None and digest is None:
        digest = hashlib.sha256(data).hexdigest()
    fields: dict[str, str | None] = {}
    error: str | None = None
    if data is None:
        error = "the manifest's bytes were not kept (too large)"
    else:
        try:
            doc = json.loads(data)
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
            for key in ("build_id", "commit", "sealed_at", "record_started_at"):
                value = doc.get(key)
                fields[key] = value if isinstance(value, str) else None
        except (ValueError, UnicodeDecodeError) as exc:
            error = f"not valid JSON: {exc}"
    return ManifestReport(
        path=entry.path,
        layer=entry.layer,
        sha256=digest or "0" * 64,
        size=entry.size,
        error=error,
        **fields,
    )


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _file_report(
    entry: TreeEntry, bundle: str | None = None, record_at: datetime | None = None
) -> FileReport:
    mtime = from_epoch(entry.mtime)
    return FileReport(
        bundle=bundle,
        seconds_after_record=(mtime - record_at).total_seconds() if record_at else None,
        path=entry.path,
        type=entry.type,
        size=entry.size,
        sha256=entry.sha256,
        mtime=mtime,
        layer=entry.layer,
        link_target=entry.link_target,
        mode=entry.mode,
        uid=entry.uid,
        gid=entry.gid,
    )


def report_of(flat: FlatImage, paths: Sequence[str] = ()) -> InspectReport:
    """Build the report of an image already read (with the same ``paths``)."""
    info = flat.info
    prefixes = wanted(paths)
    if prefixes:
        seen: dict[str, TreeEntry] = {}
        for prefix in prefixes:
            for entry in flat.tree.under(prefix):
                seen[entry.path] = entry
        entries = [seen[p] for p in sorted(seen)]
    else:
        entries = list(flat.tree)
    manifests = tuple(_manifest_report(e) for e in flat.tree.manifests())
    roots = sorted(
        ((posixpath.dirname(m.path), _parse_time(m.record_started_at)) for m in manifests),
        key=lambda item: len(item[0]),
        reverse=True,
    )

    def in_bundle(entry: TreeEntry) -> FileReport:
        for root, record_at in roots:
            if entry.path.startswith(root.rstrip("/") + "/"):
                return _file_report(entry, root, record_at)
        return _file_report(entry)

    return InspectReport(
        image=ImageRef(
            reference=info.reference,
            digest=info.manifest_digest,
            media_type=info.media_type,
            config_digest=info.config_digest,
            platform=str(info.platform),
            created=info.created,
        ),
        layers=tuple(
            LayerReport(
                index=layer.index,
                digest=layer.digest,
                diff_id=layer.diff_id,
                size=layer.size,
                media_type=layer.media_type,
                compression=layer.compression or "none",
                created_by=layer.created_by,
                created=layer.created,
                comment=layer.comment,
            )
            for layer in info.layers
        ),
        manifests=manifests,
        files=tuple(in_bundle(e) for e in entries),
    )


def inspect(
    image: str,
    *,
    paths: Sequence[str] = (),
    platform: str | None = None,
    insecure_registries: Sequence[str] = (),
    progress: Progress | None = None,
) -> InspectReport:
    """Read ``image`` (every blob once, every digest verified) and report what it holds.

    Without ``paths`` every file is listed and hashed; with them, only the entries under
    those paths (absolute paths in the image). Raises :class:`~buildguard.errors.
    ImageReadError` (or its subclasses ``DigestMismatch``, ``HostileImage``) when the image
    cannot be read or fails verification; nothing is reported then.
    """
    with open_image(image, platform=platform, insecure_registries=insecure_registries) as img:
        flat = img.read(paths, progress)
    return report_of(flat, paths)
