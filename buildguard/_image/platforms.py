"""Which entry of an index the runtimes pull, for one platform or for ``--platform all``.

The entry is chosen by every runtime model of :mod:`buildguard._image.platformmatch` on the
whole list, media types and annotations included (the runtimes do not skip an attestation
or an artifact when they match: they pull it). The choice is refused (exit 3) when it is
not the runtime's for certain:

- two runtimes pull different entries;
- a runtime ranks two different entries equal and takes the first listed (its choice then
  rests on list order alone, which another tool may not keep);
- the entry pulled is not an image: an attestation (BuildKit's ``unknown/unknown`` or the
  ``vnd.docker.reference.type`` annotation), an artifact, a media type that is neither an
  image manifest nor an index;
- it has no platform and another entry has none either.

``--platform all`` asks which entries a runtime could pull for every platform it could be
asked for (each entry's own, the default, and dockerd's arm fallback) and verifies every
image any of them reaches, through nested indexes: there, runtimes that disagree are no
reason to refuse (each one's pick is verified), a platform listed twice still is.
"""

from __future__ import annotations

from typing import Literal

from buildguard._image.manifest import (
    INDEX_TYPES,
    MANIFEST_TYPES,
    Descriptor,
    Index,
    document_kind,
    parse_index,
)
from buildguard._image.platformmatch import (
    DEFAULT_PLATFORM,
    Entry,
    Pick,
    Platform,
    normalize_os,
    picks,
)
from buildguard._image.source import ImageSource
from buildguard._image.verified import verify_bytes
from buildguard.errors import HostileImage, ImageReadError

MAX_INDEX_DEPTH = 4
ATTESTATION = "attestation-manifest"
REFERENCE_TYPE = "vnd.docker.reference.type"
EntryKind = Literal["image", "index", "attestation", "artifact"]


def entry_kind(desc: Descriptor) -> EntryKind:
    """What an index entry is: an image manifest, an index, an attestation (BuildKit marks
    them ``unknown/unknown`` and annotates them), or anything else (an artifact)."""
    platform = desc.platform
    if desc.annotation(REFERENCE_TYPE) == ATTESTATION or (
        platform is not None and (platform.os, platform.architecture) == ("unknown", "unknown")
    ):
        return "attestation"
    if desc.media_type in MANIFEST_TYPES:
        return "image"
    return "index" if desc.media_type in INDEX_TYPES else "artifact"


def selectable(desc: Descriptor) -> bool:
    """An image manifest or an index, not an attestation or an artifact."""
    return entry_kind(desc) in ("image", "index")


def has_platform(desc: Descriptor) -> bool:
    """Not ``None`` and not all empty: moby 25+ takes ``"platform": {}`` for none."""
    return desc.platform is not None and not desc.platform.is_empty()


def describe(index: Index, position: int) -> str:
    desc = index.manifests[position]
    platform = str(desc.platform) if has_platform(desc) else "no platform"
    return f"manifests[{position}] {desc.digest} ({platform}, {desc.media_type})"


def _picks(index: Index, request: Platform) -> list[Pick]:
    return picks(
        [Entry(d.platform, d.media_type in MANIFEST_TYPES | INDEX_TYPES) for d in index.manifests],
        request,
    )


def _tie(index: Index, request: Platform, pick: Pick, what: str) -> HostileImage:
    return HostileImage(
        f"{what}: for {request}, {pick.runtime} ranks more than one entry equal ("
        + ", ".join(describe(index, i) for i in pick.ties)
        + ") and pulls the first listed; another tool may not keep the order",
        hint="list each platform once in the index",
    )


def _check_images(index: Index, request: Platform, positions: set[int], what: str) -> None:
    for position in sorted(positions):
        kind = entry_kind(index.manifests[position])
        if kind in ("image", "index"):
            continue
        raise HostileImage(
            f"{what}: for {request} the runtimes pull {describe(index, position)}, which is "
            f"an {kind}, not an image",
            hint="an image that passes must be the entry the runtime pulls; list the image "
            "before any attestation or artifact of its platform, or give those their own "
            "platform (BuildKit writes unknown/unknown)",
        )


def choose(index: Index, platform: Platform | None, what: str) -> Descriptor | None:
    """The entry every runtime pulls for ``platform`` (default linux/amd64), ``None`` when
    none pulls any; raises where the runtimes' choice is not certain."""
    request = platform or Platform.parse(DEFAULT_PLATFORM)
    found = _picks(index, request)
    for pick in found:
        if len({index.manifests[i].digest for i in pick.ties}) > 1:
            raise _tie(index, request, pick, what)
    chosen = [(p.runtime, p.chosen) for p in found if p.chosen is not None]
    if len({index.manifests[i].digest for _, i in chosen}) > 1:
        raise HostileImage(
            f"{what}: the runtimes pull different entries for {request}: "
            + "; ".join(f"{runtime} pulls {describe(index, i)}" for runtime, i in chosen),
            hint="spell every entry's platform as the runtimes do (linux/amd64, "
            "linux/arm64/v8, linux/arm/v7) and list each once",
        )
    if not chosen:
        return None
    # every entry a runtime ranks with its pick: the same digest may be listed twice
    _check_images(index, request, {i for p in found if p.chosen is not None for i in p.ties}, what)
    desc = index.manifests[chosen[0][1]]
    if not has_platform(desc) and sum(not has_platform(d) for d in index.manifests) > 1:
        raise ImageReadError(
            f"{what}: for {request} the runtimes fall back to entries without a platform, "
            "and there are several ("
            + ", ".join(
                describe(index, i) for i, d in enumerate(index.manifests) if not has_platform(d)
            )
            + "); which one a tool reads is its own choice",
            hint="give every entry of the index its platform, or name one image by digest",
        )
    return desc


def reachable(index: Index, request: Platform, what: str) -> list[int]:
    """The entries some runtime pulls for ``request`` (for ``--platform all``, which reads
    them all): where the runtimes disagree, each one's pick; where dockerd's arm fallback
    takes the first of several arm entries, all of them. An entry ranked equal with another
    of the same platform is still refused (the index lists a platform twice), and so is a
    pick that is not an image."""
    found = _picks(index, request)
    out: set[int] = set()
    for pick in found:
        if pick.chosen is None:
            continue
        if pick.fallback:
            out.update(pick.ties)
        elif len({index.manifests[i].digest for i in pick.ties}) > 1:
            raise _tie(index, request, pick, what)
        else:
            out.add(pick.chosen)
    _check_images(index, request, out, what)
    return sorted(out)


def select_manifest(index: Index, platform: Platform | None, what: str) -> Descriptor:
    """:func:`choose`, raising when no runtime would pull anything."""
    desc = choose(index, platform, what)
    if desc is None:
        wanted = platform or Platform.parse(DEFAULT_PLATFORM)
        available = (
            ", ".join(
                str(d.platform) for d in index.manifests if d.platform is not None and selectable(d)
            )
            or "none"
        )
        raise ImageReadError(
            f"{what} has no image for platform {wanted} (available: {available})",
            hint="pick one of the available platforms with --platform OS/ARCH",
        )
    return desc


# -- --platform all ------------------------------------------------------------------------


def _child(source: ImageSource, desc: Descriptor, depth: int) -> tuple[Index, str]:
    if depth >= MAX_INDEX_DEPTH:
        raise ImageReadError(f"{source.reference}: indexes nested more than {MAX_INDEX_DEPTH} deep")
    raw = source.manifest(desc.digest)
    what = f"index {desc.digest} of {source.reference}"
    verify_bytes(raw.data, desc.digest, desc.size, what)
    kind, doc = document_kind(raw.data, desc.media_type, what)
    if kind != "index":
        raise ImageReadError(f"{what} is listed as an index but is not one")
    return parse_index(doc, what), what


def _requests(
    source: ImageSource, index: Index, what: str, depth: int, out: list[Platform]
) -> None:
    """Every platform a runtime could be asked for that reaches an entry of ``index`` or of
    the indexes under it; refuses an entry without a platform beside others (it serves any
    platform no other entry matches)."""
    lone = len({d.digest for d in index.manifests}) == 1
    for desc in index.manifests:
        platform = desc.platform
        if not has_platform(desc) and not lone:
            raise ImageReadError(
                f"{what}: index entry {desc.digest} has no platform; the runtimes pull it "
                "for any platform no other entry matches, so --platform all cannot tell "
                "which platforms it serves",
                hint="give every entry of the index its platform, or verify one platform "
                "with --platform OS/ARCH",
            )
        if (
            platform is not None
            and platform.os
            and platform.architecture
            and normalize_os(platform.os) != "unknown"
        ):
            out.append(Platform(platform.os, platform.architecture, platform.variant))
            if platform.architecture == "arm" and platform.os == normalize_os(platform.os):
                out.append(Platform(platform.os, "arm", "fallback"))  # dockerd's arm fallback
        if desc.media_type in INDEX_TYPES:
            child, child_what = _child(source, desc, depth)
            _requests(source, child, child_what, depth + 1, out)


def _leaves(
    source: ImageSource,
    index: Index,
    request: Platform,
    what: str,
    chain: tuple[str, ...],
    out: dict[str, tuple[Platform, tuple[str, ...], Descriptor]],
) -> None:
    if len(chain) >= MAX_INDEX_DEPTH:
        raise ImageReadError(f"{what}: indexes nested more than {MAX_INDEX_DEPTH} deep")
    for position in reachable(index, request, what):
        desc = index.manifests[position]
        if desc.media_type in INDEX_TYPES:
            child, child_what = _child(source, desc, len(chain) + 1)
            _leaves(source, child, request, child_what, (*chain, desc.digest), out)
        elif desc.digest not in out:
            out[desc.digest] = (request, (*chain, desc.digest), desc)


def platform_entries(
    source: ImageSource, index: Index
) -> dict[str, tuple[Platform, tuple[str, ...]]] | None:
    """Label → (a platform that reaches it, the digests leading to it from ``index``) for
    every image a runtime could pull from ``index``; ``None`` for an index of one image
    without a platform (read as a single image)."""
    what = f"index of {source.reference}"
    requests: list[Platform] = [Platform.parse(DEFAULT_PLATFORM)]
    _requests(source, index, what, 1, requests)
    reached: dict[str, tuple[Platform, tuple[str, ...], Descriptor]] = {}
    for request in dict.fromkeys(requests):
        _leaves(source, index, request, what, (), reached)
    if not reached:
        raise ImageReadError(
            f"{what}: no runtime pulls an image from it for any platform it lists",
            hint="the index lists no image manifest a runtime would pull",
        )
    if len(reached) == 1 and not has_platform(next(iter(reached.values()))[2]):
        return None
    labelled: dict[str, tuple[Platform, tuple[str, ...]]] = {}
    for request, chain, desc in reached.values():
        label = str(desc.platform) if desc.platform is not None else str(request)
        if label in labelled:
            label = f"{label} ({desc.digest})"
        labelled[label] = (request, chain)
    return labelled
