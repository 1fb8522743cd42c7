"""``buildguard.inspect(image)``: what an image holds, as an :class:`InspectReport`."""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterator, Sequence
from datetime import datetime

from buildguard._image.flatten import TreeEntry, wanted
from buildguard._image.imageinfo import FlatImage
from buildguard._image.layercache import open_cache
from buildguard._image.open import open_image
from buildguard._image.options import ReadOptions
from buildguard._internal.pathescape import escape
from buildguard._internal.timefmt import from_epoch
from buildguard._models.inspectreport import (
    FileReport,
    ImageRef,
    IndexEntryReport,
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
        path=escape(entry.path),
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
        bundle=escape(bundle) if bundle is not None else None,
        seconds_after_record=(mtime - record_at).total_seconds() if record_at else None,
        path=escape(entry.path),
        type=entry.type,
        size=entry.size,
        sha256=entry.sha256,
        mtime=mtime,
        layer=entry.layer,
        link_target=escape(entry.link_target) if entry.link_target is not None else None,
        mode=entry.mode,
        uid=entry.uid,
        gid=entry.gid,
    )


def _entries(flat: FlatImage, prefixes: tuple[str, ...]) -> Iterator[TreeEntry]:
    """The entries listed, sorted by path: all, or those at or under the prefixes."""
    if not prefixes:
        yield from flat.tree
        return
    picked: set[str] = set()
    for prefix in prefixes:
        picked.update(flat.tree.under_paths(prefix))
    for path in sorted(picked):
        yield flat.tree[path]


def _head(flat: FlatImage) -> tuple[InspectReport, list[tuple[str, datetime | None]]]:
    info = flat.info
    manifest_entries = flat.tree.manifests()
    manifests = tuple(_manifest_report(e) for e in manifest_entries)
    roots = sorted(
        (
            (posixpath.dirname(e.path), _parse_time(m.record_started_at))
            for e, m in zip(manifest_entries, manifests, strict=True)
        ),
        key=lambda item: len(item[0]),
        reverse=True,
    )
    head = InspectReport(
        image=ImageRef(
            reference=info.reference,
            digest=info.manifest_digest,
            media_type=info.media_type,
            config_digest=info.config_digest,
            platform=str(info.platform),
            created=info.created,
        ),
        index_entries=tuple(
            IndexEntryReport(
                index=e.index_digest,
                position=e.position,
                digest=e.digest,
                media_type=e.media_type,
                platform=e.platform,
                kind=e.kind,
                chosen=e.chosen,
            )
            for e in info.index_entries
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
                read_from=layer.read_from or "source",
            )
            for layer in info.layers
        ),
        manifests=manifests,
        files=(),
    )
    return head, roots


def stream_of(
    flat: FlatImage, paths: Sequence[str] = ()
) -> tuple[InspectReport, Iterator[FileReport]]:
    """The report of an image already read, its file listing made one entry at a time: the
    report with ``files=()`` and an iterator of the files (for a listing too big to hold)."""
    head, roots = _head(flat)
    prefixes = wanted(paths)

    def files() -> Iterator[FileReport]:
        for entry in _entries(flat, prefixes):
            for root, record_at in roots:
                if entry.path.startswith(root.rstrip("/") + "/"):
                    yield _file_report(entry, root, record_at)
                    break
            else:
                yield _file_report(entry)

    return head, files()


def report_of(flat: FlatImage, paths: Sequence[str] = ()) -> InspectReport:
    """Build the whole report of an image already read (with the same ``paths``)."""
    head, files = stream_of(flat, paths)
    return head.model_copy(update={"files": tuple(files)})


def inspect(image: str, options: ReadOptions | None = None) -> InspectReport:
    """Read ``image`` (every blob once, every digest verified) and report what it holds.

    Without ``options.paths`` every file is listed and hashed; with them, only the entries under
    those paths (absolute paths in the image). Raises :class:`~buildguard.errors.
    ImageReadError` (or its subclasses ``DigestMismatch``, ``HostileImage``) when the image
    cannot be read or fails verification; nothing is reported then.
    """
    options = options or ReadOptions()
    return report_of(_read(image, options), options.paths)


def inspect_stream(
    image: str, options: ReadOptions | None = None
) -> tuple[InspectReport, Iterator[FileReport]]:
    """:func:`inspect`, its file listing made one entry at a time (see :func:`stream_of`)."""
    options = options or ReadOptions()
    return stream_of(_read(image, options), options.paths)


def _read(image: str, options: ReadOptions) -> FlatImage:
    layer_cache = open_cache(options.cache, enabled=not options.no_cache)
    with open_image(image, options) as img:
        return img.read(options.paths, options.progress, layer_cache)
