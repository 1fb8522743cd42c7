"""The layer-index cache: a layer read (and verified) once is not read again.

An entry is the index of one layer (every entry of its tar, the sha256 of every file, the
bytes of its ``buildguard-manifest.json`` files; ``indexcodec.py``), keyed by the layer's
compressed digest, the index format and the reading rules' fingerprint (``readingrules.py``:
a change to the walker starts a fresh cache). It is written only after the layer was read with
its digest, size and DiffID checked; it is trusted only if its seal verifies: an HMAC-SHA256
with ``$BUILDGUARD_CACHE_KEY`` (required for ``gs://``), else a plain SHA-256 (local folders,
where whoever can write the folder can write the cache anyway). A damaged, unreadable,
wrongly versioned or wrongly signed entry is ignored with a warning and the layer is read.
Trouble with the store itself never fails a verify: the cache is then skipped, with a warning.

Stores: a local folder (``atomic_write``: temp file + rename) or a Google Cloud Storage prefix
(``google-cloud-storage``, imported only then; ``$STORAGE_EMULATOR_HOST`` is honoured, as the
library does). See ``docs/cache.md`` for the trust model.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from buildguard._image import layerindex as li
from buildguard._image.indexcodec import FORMAT, CachedLayer, IndexFormatError, decode, encode
from buildguard._image.layerindex import LayerIndex
from buildguard._image.readingrules import reading_rules
from buildguard._image.tarwalk import WANT_KEEP, Want
from buildguard._internal.files import atomic_write
from buildguard.errors import UsageError

logger = logging.getLogger(__name__)

CACHE_ENV = "BUILDGUARD_CACHE"
KEY_ENV = "BUILDGUARD_CACHE_KEY"
SEAL_MAGIC = b"BGLC"
_SEAL = struct.Struct("<4sI32s")


class Store(Protocol):
    """Where entries live: get/put whole entries by name."""

    description: str

    def get(self, name: str) -> bytes | None: ...
    def put(self, name: str, data: bytes) -> None: ...


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = str(root)

    def get(self, name: str) -> bytes | None:
        try:
            return (self.root / name).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, name: str, data: bytes) -> None:
        atomic_write(self.root / name, data)  # a reader sees the old entry or the new one


class GcsStore:
    """A ``gs://BUCKET/PREFIX`` store through google-cloud-storage."""

    def __init__(self, bucket: str, prefix: str) -> None:
        import google.cloud.storage as storage  # only when a gs:// cache is used

        if os.environ.get("STORAGE_EMULATOR_HOST"):
            from google.auth.credentials import AnonymousCredentials

            client = storage.Client(
                project="buildguard-emulator",
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            )
        else:
            client = storage.Client()
        self._bucket: Any = client.bucket(bucket)
        self._prefix = prefix.strip("/")
        self.description = f"gs://{bucket}/{self._prefix}"

    def _blob(self, name: str) -> Any:
        return self._bucket.blob(f"{self._prefix}/{name}" if self._prefix else name)

    def get(self, name: str) -> bytes | None:
        from google.api_core import exceptions

        try:
            data: bytes = self._blob(name).download_as_bytes(timeout=30)
        except exceptions.NotFound:
            return None
        return data

    def put(self, name: str, data: bytes) -> None:
        self._blob(name).upload_from_string(
            data, content_type="application/octet-stream", timeout=60
        )


def entry_name(digest: str) -> str:
    algo, _, hexdigest = digest.partition(":")
    return f"v{FORMAT}/{reading_rules()}/{algo}/{hexdigest}.idx"


class LayerCache:
    """Layer indexes in a :class:`Store`, sealed with ``key`` (or a plain SHA-256)."""

    def __init__(self, store: Store, key: bytes | None) -> None:
        self.store = store
        self._key = key
        self.hits = 0
        self.misses = 0
        self._broken = False

    def _seal(self, payload: bytes) -> bytes:
        if self._key is not None:
            return hmac.new(self._key, payload, hashlib.sha256).digest()
        return hashlib.sha256(payload).digest()

    def load(self, digest: str, diff_id: str, size: int, want: Want) -> CachedLayer | None:
        """The cached index of the layer ``digest`` (``size`` bytes, DiffID ``diff_id``, as
        the image's manifest and config say) if it is intact, sealed, of this layer, made
        under today's reading rules, and holds every hash ``want`` asks for; else ``None``
        (the layer must be read)."""
        if self._broken:
            return None
        name = entry_name(digest)
        try:
            raw = self.store.get(name)
        except Exception as exc:  # a store that fails must not fail the verify
            self._give_up(f"cannot read the layer-index cache {self.store.description}: {exc}")
            return None
        if raw is None:
            self.misses += 1
            return None
        try:
            layer = self._open(raw)
        except IndexFormatError as exc:
            logger.warning(
                "ignoring the cached index of layer %s in %s: %s; reading the layer",
                digest,
                self.store.description,
                exc,
            )
            self.misses += 1
            return None
        if layer.digest != digest or layer.diff_id != diff_id or layer.size != size:
            logger.warning(
                "ignoring the cached index of layer %s (%d bytes) in %s: it belongs "
                "to %s (%d bytes) / %s; reading the layer",
                digest,
                size,
                self.store.description,
                layer.digest,
                layer.size,
                layer.diff_id,
            )
            self.misses += 1
            return None
        if layer.rules != reading_rules():
            logger.warning(
                "ignoring the cached index of layer %s in %s: made under other "
                "reading rules (%s, these are %s); reading the layer",
                digest,
                self.store.description,
                layer.rules,
                reading_rules(),
            )
            self.misses += 1
            return None
        if not covers(layer.index, want):
            logger.info(
                "cached index of layer %s lacks hashes asked for; reading the layer", digest
            )
            self.misses += 1
            return None
        self.hits += 1
        logger.info("layer %s: index from the cache %s", digest, self.store.description)
        return layer

    def _open(self, raw: bytes) -> CachedLayer:
        if len(raw) < _SEAL.size:
            raise IndexFormatError("the entry is truncated")
        magic, version, seal = _SEAL.unpack_from(raw)
        if magic != SEAL_MAGIC or version != FORMAT:
            raise IndexFormatError("not an entry of this index format")
        payload = raw[_SEAL.size :]
        if not hmac.compare_digest(seal, self._seal(payload)):
            raise IndexFormatError(
                "its signature does not verify (another key, or damaged)"
                if self._key
                else "its checksum does not match (damaged, or written with a key)"
            )
        return decode(payload)

    def save(self, layer: CachedLayer) -> None:
        """Store the index of a layer that was read with every digest checked."""
        if self._broken:
            return
        payload = encode(layer)
        try:
            self.store.put(
                entry_name(layer.digest),
                _SEAL.pack(SEAL_MAGIC, FORMAT, self._seal(payload)) + payload,
            )
        except Exception as exc:
            self._give_up(f"cannot write to the layer-index cache {self.store.description}: {exc}")
            return
        logger.debug("layer %s: index written to the cache", layer.digest)

    def _give_up(self, why: str) -> None:
        logger.warning("%s; going on without the cache", why)
        self._broken = True


def covers(index: LayerIndex, want: Want) -> bool:
    """Whether ``index`` holds every hash (and kept manifest) ``want`` asks for."""
    if index.complete:
        return True
    for row, path in enumerate(index.paths):
        if index.kind(row) != li.FILE:
            continue
        level = want(path)
        if level and index.digest(row) is None:
            return False
        if level == WANT_KEEP and index.data(row) is None:
            return False
    return True


def default_location(environ: Mapping[str, str]) -> str:
    if environ.get(CACHE_ENV):
        return environ[CACHE_ENV]
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "buildguard")


def open_cache(
    location: str | os.PathLike[str] | None = None,
    *,
    enabled: bool = True,
    environ: Mapping[str, str] | None = None,
) -> LayerCache | None:
    """The cache at ``location`` (default ``$BUILDGUARD_CACHE``, else
    ``$XDG_CACHE_HOME/buildguard``, else ``~/.cache/buildguard``), or ``None`` if disabled.

    A ``gs://BUCKET/PREFIX`` location needs ``$BUILDGUARD_CACHE_KEY`` (:class:`UsageError`
    otherwise): anyone who can write the bucket could otherwise vouch for layers.
    """
    if not enabled:
        return None
    env = os.environ if environ is None else environ
    where = os.fspath(location) if location is not None else default_location(env)
    key_text = env.get(KEY_ENV)
    key = key_text.encode() if key_text else None
    if where.startswith("gs://"):
        bucket, _, prefix = where[len("gs://") :].partition("/")
        if not bucket:
            raise UsageError(
                f"--cache {where!r} names no bucket", hint="write it as gs://BUCKET/PREFIX"
            )
        if key is None:
            raise UsageError(
                f"a gs:// cache ({where}) needs ${KEY_ENV} to sign and check its entries",
                hint="set it from a secret (e.g. Secret Manager in cloudbuild.yaml), or use "
                "--no-cache",
            )
        from buildguard._internal.distribution import CLOUD_STORAGE, require_gcp

        require_gcp(f"a gs:// cache ({where})", CLOUD_STORAGE)
        try:
            return LayerCache(GcsStore(bucket, prefix), key)
        except Exception as exc:  # no credentials, a bad bucket name: never fail the verify
            logger.warning(
                "cannot open the layer-index cache %s: %s; going on without it", where, exc
            )
            return None
    return LayerCache(LocalStore(Path(where)), key)
