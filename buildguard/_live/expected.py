"""The sealed bundle the site must serve: from a manifest file, a sealed dist/, or an image.

The image is read with the image reader (every blob verified); its flattened tree keeps the
bytes of every ``buildguard-manifest.json``. Without ``--path`` the image must hold exactly
one sealed bundle.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from buildguard._image.layercache import open_cache
from buildguard._image.open import open_image
from buildguard._image.options import ReadOptions
from buildguard.errors import UsageError
from buildguard.models import MANIFEST_NAME, BundleManifest


@dataclass(frozen=True)
class ExpectedBundle:
    manifest: BundleManifest
    source: str
    """Where it came from, for the report (``manifest FILE``, ``image REF:/root``, …)."""


def _parse(raw: bytes, where: str) -> BundleManifest:
    try:
        return BundleManifest.model_validate_json(raw)
    except ValidationError as exc:
        raise UsageError(
            f"{where} is not a valid buildguard manifest ({exc.error_count()} problems, "
            f"first: {exc.errors()[0]['msg']})",
            hint=f"give the {MANIFEST_NAME} that `buildguard seal` wrote",
        ) from None


def from_manifest_file(path: str | os.PathLike[str]) -> ExpectedBundle:
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"cannot read the manifest {file}: {exc.strerror or exc}",
            hint=f"give the {MANIFEST_NAME} of the sealed bundle",
        ) from None
    return ExpectedBundle(_parse(raw, f"manifest {file}"), f"manifest {file}")


def from_dist(directory: str | os.PathLike[str]) -> ExpectedBundle:
    folder = Path(directory)
    file = folder / MANIFEST_NAME
    if not file.is_file():
        raise UsageError(
            f"{folder} is not a sealed bundle: it has no {MANIFEST_NAME}",
            hint=f"run `buildguard seal {folder}` after the build",
        )
    found = from_manifest_file(file)
    return ExpectedBundle(found.manifest, f"dist {folder}")


def from_image(image: str, options: ReadOptions | None = None) -> ExpectedBundle:
    """The sealed bundle in ``image``: at the one of ``options.paths``, else the only one
    there is. The layer cache is used only when ``options.cache`` names one (verify-live
    reads one folder of the image; its command line has no cache options)."""
    options = options or ReadOptions()
    path = options.paths[0] if options.paths else None
    root = posixpath.normpath("/" + path.strip().lstrip("/")) if path else None
    layer_cache = (
        open_cache(options.cache, enabled=not options.no_cache)
        if options.cache is not None
        else None
    )
    with open_image(image, options) as opened:
        flat = opened.read([root] if root else [], options.progress, layer_cache)
    found = {posixpath.dirname(e.path) or "/": e for e in flat.tree.manifests()}
    if root is not None:
        entry = found.get(root)
        if entry is None:
            raise UsageError(
                f"{image} has no sealed bundle at {root}: no {MANIFEST_NAME} in that folder",
                hint=f"bundles found: {', '.join(sorted(found)) or 'none'}",
            )
    elif len(found) == 1:
        root, entry = next(iter(found.items()))
    else:
        raise UsageError(
            f"{image} holds {len(found)} sealed bundles"
            + (f" ({', '.join(sorted(found))})" if found else "")
            + ": say which one the site serves with --path",
            hint="--path DIR_IN_IMAGE, e.g. --path /app/v5-frontend",
        )
    where = f"image {image} {root}"
    if entry.data is None:
        raise UsageError(f"{where}/{MANIFEST_NAME}: the manifest's bytes were not kept")
    return ExpectedBundle(_parse(entry.data, f"{where}/{MANIFEST_NAME}"), where)
