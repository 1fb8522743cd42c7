"""The attachment in cosign's format: the tag ``sha256-HEX.att`` in the image's repository
names an OCI image manifest with one layer per DSSE envelope (media type
``application/vnd.dsse.envelope.v1+json``, annotations ``predicateType`` and cosign's empty
``dev.cosignproject.cosign/signature``), read by cosign, Kyverno and policy-controller.

The registry has no compare-and-swap, so :func:`attach` reads what is there, writes it back
with ours added, reads the tag again and starts over (a few times) when our layer, or one
that was there before, is missing: another writer's PUT replaced ours. What remains (named
in docs/attest.md): a writer that read before our PUT and writes after our read-back
replaces our layer unseen by us.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from buildguard._attest.ocistore import AttestationRegistry
from buildguard._image.manifest import OCI_CONFIG, OCI_MANIFEST
from buildguard._image.reference import parse_reference
from buildguard._image.transport.keychain import Provider, default_keychain
from buildguard.errors import HostileImage

logger = logging.getLogger(__name__)

DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
PREDICATE_ANNOTATION = "predicateType"
ATTEMPTS = 5


def attestation_tag(digest: str) -> str:
    """``sha256-HEX.att`` for ``sha256:HEX``."""
    algorithm, _, hex_digest = digest.partition(":")
    return f"{algorithm}-{hex_digest}.att"


@dataclass(frozen=True)
class Attached:
    target: str
    """``HOST/REPO:sha256-HEX.att``."""
    layer: str
    """The digest of our envelope's layer."""
    layers: int
    """Layers the attestation manifest holds now."""
    attempts: int


MAX_LAYERS = 256
"""Attestations one digest may carry before the tag is refused as not an attestation list."""


def layers_of(data: bytes, where: str) -> list[dict[str, Any]]:
    """The layer descriptors of an attestation manifest (HostileImage when not one)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        doc = None
    layers = doc.get("layers") if isinstance(doc, dict) else None
    if not isinstance(layers, list) or not all(
        isinstance(layer, dict)
        and isinstance(layer.get("digest"), str)
        and isinstance(layer.get("size"), int)
        for layer in layers
    ):
        raise HostileImage(
            f"{where} is not an image manifest with layers",
            hint="something other than an attestation tool wrote this tag; delete it or "
            "check what wrote it",
        )
    if len(layers) > MAX_LAYERS:
        raise HostileImage(
            f"{where} holds {len(layers)} layers, more than the {MAX_LAYERS} attestations "
            "buildguard reads for one digest",
            hint="something other than an attestation tool wrote this tag; check what wrote it",
        )
    return layers


def _config(layers: Sequence[dict[str, Any]]) -> bytes:
    """A config as cosign writes for its signature images: empty but for the layers'
    diff ids (an uncompressed layer's diff id is its digest)."""
    doc = {
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"} for _ in layers],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def _manifest(config: bytes, config_digest: str, layers: Sequence[dict[str, Any]]) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "size": len(config), "digest": config_digest},
        "layers": list(layers),
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def attach(
    reference: str,
    digest: str,
    envelope: bytes,
    predicate_type: str,
    *,
    insecure_registries: Sequence[str] = (),
    keychain: Provider = default_keychain,
    backoff: float = 0.2,
) -> Attached:
    """Add ``envelope`` to the attestations of ``digest`` in the repository of ``reference``,
    keeping the ones there (see the module docstring)."""
    ref = parse_reference(reference)
    tag = attestation_tag(digest)
    target = f"{ref.registry}/{ref.repository}:{tag}"
    with AttestationRegistry(
        f"{ref.registry}/{ref.repository}@{digest}",
        insecure_registries=insecure_registries,
        keychain=keychain,
    ) as registry:
        layer_digest = registry.put_blob(envelope)
        ours = {
            "mediaType": DSSE_MEDIA_TYPE,
            "size": len(envelope),
            "digest": layer_digest,
            "annotations": {SIGNATURE_ANNOTATION: "", PREDICATE_ANNOTATION: predicate_type},
        }
        for attempt in range(1, ATTEMPTS + 1):
            present = registry.manifest_or_none(tag)
            layers = layers_of(present.data, target) if present is not None else []
            before = {layer["digest"] for layer in layers}
            if layer_digest not in before:
                layers = [*layers, ours]
                config = _config(layers)
                config_digest = registry.put_blob(config)
                registry.put_manifest_bytes(
                    tag, _manifest(config, config_digest, layers), OCI_MANIFEST
                )
            after = registry.manifest_or_none(tag)
            now = {layer["digest"] for layer in layers_of(after.data, target)} if after else set()
            if layer_digest in now and before <= now:
                logger.info("attached %s to %s (attempt %d)", layer_digest, target, attempt)
                return Attached(target, layer_digest, len(now), attempt)
            logger.info(
                "another writer replaced %s between our read and write; reading again (attempt %d)",
                target,
                attempt,
            )
            if attempt < ATTEMPTS:
                time.sleep(backoff * attempt)
    from buildguard._image.transport.errors import RegistryError, Repo, Subject

    raise RegistryError(
        f"could not attach the attestation to {target}: other writers replaced the tag "
        f"{ATTEMPTS} times between our read and our write",
        repo=Repo(ref.registry, ref.repository),
        subject=Subject("tag", tag),
        hint="run the attestation again when the other writers are done",
    )
