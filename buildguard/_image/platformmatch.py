"""A platform, and how each runtime matches it against the entries of an index.

The runtimes do not agree on which entry of an index serves a platform, so each one is
modelled here from its source (docs/decisions.md names the versions and files):

- ``dockerd 20.10`` (moby ``distribution/pull_v2_unix.go`` ``filterManifests``): every entry
  whose normalised os/architecture/variant equals the request's is a match, and the first
  match in list order is pulled, whatever its media type; with no match for an ``arm``
  request, the first entry whose raw os and architecture are the request's. Two builds
  differ in how they normalise: upstream's binaries vendor an older containerd
  ``platforms`` (``x86_64`` clears the variant, ``amd64/v1`` stays ``v1``), Debian's link
  containerd 1.6 (``amd64/v1`` is ``amd64``, ``x86_64/v3`` stays ``v3``).
- ``containerd`` (``platforms.Only`` with ``core/images`` ``FilterPlatforms`` +
  ``LimitManifests``): the request widens to an ordered vector (``amd64/v3`` accepts
  ``v3``, ``v2``, ``v1``, then ``386``; ``arm64`` accepts ``arm/v8``…``v5``); entries without
  a platform are candidates too, ranked last; the candidates are sorted stably by rank (more
  ``os.features`` first within a rank) and the first is taken.
- ``moby 25+`` (``daemon/internal/distribution/pull_v2_unix.go``): containerd's order, but an
  entry whose platform is all empty counts as having none, and an entry whose media type is
  neither a manifest nor an index is skipped for the next.

Each model answers the entry it picks and the entries it ranks equal with it (a tie broken
only by list order). Nothing here reads documents: :mod:`buildguard._image.platforms` decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from buildguard.errors import UsageError

DEFAULT_PLATFORM = "linux/amd64"
"""What every runtime asks for on a linux/amd64 host (``platforms.DefaultSpec``: the
variant is read from /proc/cpuinfo on arm only)."""


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    """``features`` exists in Docker's manifest list only; no matcher reads it."""

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise UsageError(
                f"platform {text!r} is not OS/ARCH or OS/ARCH/VARIANT",
                hint="write it like linux/amd64 or linux/arm64/v8",
            )
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def is_empty(self) -> bool:
        return not (
            self.os
            or self.architecture
            or self.variant
            or self.os_version
            or self.os_features
            or self.features
        )

    def matches(self, other: Platform) -> bool:
        """Would a runtime asked for ``self`` take an image whose platform is ``other`` (a
        config's)? containerd's ``Only(self)`` or dockerd 20.10's exact match."""
        return only_rank(self, other) is not None or any(
            exact(self, other, rules) for rules in (UPSTREAM_2010, CONTAINERD_16)
        )


# -- normalisation (containerd platforms/database.go normalizeOS, normalizeArch) -----------

Norm = Callable[[str, str], tuple[str, str]]


def normalize_os(os_: str) -> str:
    if not os_:
        return "linux"  # runtime.GOOS of the host
    os_ = os_.lower()
    return "darwin" if os_ == "macos" else os_


def _arm(variant: str) -> str:
    if variant in ("", "7"):
        return "v7"
    return "v" + variant if variant in ("5", "6", "8") else variant


def _arch_upstream_2010(arch: str, variant: str) -> tuple[str, str]:
    """moby v20.10.24 vendor/github.com/containerd/containerd/platforms/database.go."""
    arch, variant = arch.lower(), variant.lower()
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64"):
        return "amd64", ""
    if arch in ("aarch64", "arm64"):
        return "arm64", "" if variant in ("8", "v8") else variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        return "arm", _arm(variant)
    return arch, variant


def _arch_containerd_16(arch: str, variant: str) -> tuple[str, str]:
    """containerd v1.6.20 platforms/database.go (linked by Debian 12's docker.io 20.10.24)."""
    arch, variant = arch.lower(), variant.lower()
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    return _arch_upstream_2010(arch, variant)


def _arch_current(arch: str, variant: str) -> tuple[str, str]:
    """containerd/platforms v1.0.0-rc.4 database.go."""
    arch, variant = arch.lower(), variant.lower()
    if arch in ("aarch64", "arm64"):
        if variant in ("8", "v8", "v8.0"):
            return "arm64", ""
        return "arm64", "v9" if variant in ("9", "9.0", "v9.0") else variant
    return _arch_containerd_16(arch, variant)


UPSTREAM_2010: Norm = _arch_upstream_2010
CONTAINERD_16: Norm = _arch_containerd_16
CURRENT: Norm = _arch_current


def normalize(p: Platform, rules: Norm) -> tuple[str, str, str]:
    arch, variant = rules(p.architecture, p.variant or "")
    return normalize_os(p.os), arch, variant


def exact(request: Platform, candidate: Platform, rules: Norm) -> bool:
    """dockerd 20.10's ``platforms.NewMatcher(request).Match(candidate)``: os.version and
    os.features are not compared."""
    return normalize(request, rules) == normalize(candidate, rules)


# -- containerd's ordered vector (platforms/compare.go platformVector, Only) ---------------

_ARM64_VERSIONS: dict[str, tuple[tuple[int, int], ...]] = {
    **{f"v8.{m}": ((8, m),) for m in range(10)},
    "v8": ((8, 0),),
    **{f"v9.{m}": ((9, m), (8, min(m + 5, 9))) for m in range(8)},
    "v9": ((9, 0), (8, 5)),
}
_NUMBER = re.compile(r"^[+-]?[0-9]+$")


def _version(variant: str) -> int | None:
    """Go's ``strconv.Atoi(strings.TrimPrefix(variant, "v"))``."""
    text = variant[1:] if variant.startswith("v") else variant
    return int(text) if _NUMBER.match(text) and len(text) < 19 else None


def platform_vector(os_: str, arch: str, variant: str) -> list[tuple[str, str, str]]:
    """The platforms ``Only`` accepts, best first, for a request already normalised."""
    vector = [(os_, arch, variant)]
    if arch == "amd64":
        level = _version(variant)
        if level is not None and level > 1:
            vector += [(os_, "amd64", f"v{v}") for v in range(level - 1, 0, -1)]
        vector.append((os_, "386", ""))
    elif arch == "arm":
        level = _version(variant)
        if level is not None and level > 5:
            vector += [(os_, "arm", f"v{v}") for v in range(level - 1, 4, -1)]
    elif arch == "arm64":
        wanted = variant or "v8"
        vector = []
        versions = _ARM64_VERSIONS.get(wanted)
        if versions is None:
            return vector
        for major, top in versions:
            vector += [
                (os_, "arm64", f"v{major}.{m}" if m else f"v{major}") for m in range(top, -1, -1)
            ]
        arm_variant = "v8" if wanted.startswith(("v8", "v9")) else wanted
        vector += platform_vector(os_, "arm", arm_variant)
    return vector


def _current_match(want: tuple[str, str, str], windows: bool, candidate: Platform) -> bool:
    """containerd's ``matcher.Match`` (os.version always matches: a request from
    ``--platform`` carries none; os.features must be a subset of the request's, which has
    none, after Windows' ``win32k`` is stripped)."""
    os_, arch, variant = want
    features = [f for f in candidate.os_features if not (windows and f == "win32k")]
    return not features and normalize(candidate, CURRENT) == normalize(
        Platform(os_, arch, variant or None), CURRENT
    )


def only_rank(request: Platform, candidate: Platform) -> int | None:
    """Index of the first element of ``Only(request)``'s vector that ``candidate`` matches."""
    want = normalize(request, CURRENT)
    windows = want[0] == "windows"
    for rank, element in enumerate(platform_vector(*want)):
        if _current_match(element, windows, candidate):
            return rank
    return None


# -- the models ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """What the matchers see of an index entry."""

    platform: Platform | None
    """``None`` when the entry has no ``platform`` (JSON null or absent)."""
    index_or_manifest: bool
    """Its media type is an image manifest's or an index's."""


@dataclass(frozen=True)
class Pick:
    runtime: str
    chosen: int | None
    """Position in the index of the entry the runtime pulls; ``None``: it pulls nothing."""
    ties: tuple[int, ...]
    """Every entry ranked equal with ``chosen`` (``chosen`` included)."""
    fallback: bool = False
    """Chosen by dockerd's arm fallback (any variant of the request's os and ``arm``)."""


def _dockerd_2010(name: str, rules: Norm) -> Callable[[Sequence[Entry], Platform], Pick]:
    def pick(entries: Sequence[Entry], request: Platform) -> Pick:
        matches = tuple(
            i
            for i, e in enumerate(entries)
            if e.platform is not None and exact(request, e.platform, rules)
        )
        os_, arch, _ = normalize(request, rules)
        if not matches and arch == "arm":
            matches = tuple(
                i
                for i, e in enumerate(entries)
                if e.platform is not None
                and (e.platform.os, e.platform.architecture) == (os_, "arm")
            )
            return Pick(name, matches[0] if matches else None, matches, fallback=True)
        return Pick(name, matches[0] if matches else None, matches)

    return pick


def _ranked(
    entries: Sequence[Entry], request: Platform, none_like: Callable[[Platform | None], bool]
) -> list[tuple[tuple[int, int], int]]:
    """containerd's candidates, sorted: (rank, -len(os.features)) then list order."""
    ranked = []
    for i, e in enumerate(entries):
        if none_like(e.platform):
            ranked.append(((1 << 30, 0), i))
            continue
        assert e.platform is not None
        rank = only_rank(request, e.platform)
        if rank is not None:
            ranked.append(((rank, -len(e.platform.os_features)), i))
    ranked.sort()
    return ranked


def _tied(ranked: list[tuple[tuple[int, int], int]], at: int) -> tuple[int, ...]:
    key = ranked[at][0]
    return tuple(i for k, i in ranked if k == key)


def _containerd(entries: Sequence[Entry], request: Platform) -> Pick:
    ranked = _ranked(entries, request, lambda p: p is None)
    if not ranked:
        return Pick("containerd", None, ())
    return Pick("containerd", ranked[0][1], _tied(ranked, 0))


def _moby_current(entries: Sequence[Entry], request: Platform) -> Pick:
    ranked = _ranked(entries, request, lambda p: p is None or p.is_empty())
    for at, (_, i) in enumerate(ranked):
        if entries[i].index_or_manifest:  # "OCI spec requires to skip unknown manifest types"
            return Pick("moby 25+", i, _tied(ranked, at))
    return Pick("moby 25+", None, ())


RUNTIMES: tuple[tuple[str, Callable[[Sequence[Entry], Platform], Pick]], ...] = (
    ("dockerd 20.10", _dockerd_2010("dockerd 20.10", UPSTREAM_2010)),
    (
        "dockerd 20.10 (Debian, containerd 1.6)",
        _dockerd_2010("dockerd 20.10 (Debian, containerd 1.6)", CONTAINERD_16),
    ),
    ("containerd", _containerd),
    ("moby 25+", _moby_current),
)


def picks(entries: Sequence[Entry], request: Platform) -> list[Pick]:
    """What each modelled runtime pulls from ``entries`` for ``request``."""
    return [model(entries, request) for _, model in RUNTIMES]


# -- reading an entry's platform -----------------------------------------------------------


def _text(raw: dict[str, object], key: str, what: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad_platform(what, key)
    return value


def _texts(raw: dict[str, object], key: str, what: str) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad_platform(what, key)
    return tuple(value)


def _bad_platform(what: str, key: str) -> Exception:
    from buildguard.errors import ImageReadError

    return ImageReadError(
        f"{what}: platform field {key!r} is not of the type the runtimes decode (Go's "
        "encoding/json rejects the whole document)",
        hint="the index is corrupt or crafted; rebuild and push it again",
    )


def entry_platform(raw: object, what: str) -> Platform | None:
    """An index entry's ``platform`` as containerd's ``*ocispec.Platform`` holds it:
    ``None`` when absent or null; an object, even ``{}``, is a platform (empty fields
    stay empty: containerd matches an empty platform against nothing)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _bad_platform(what, "platform")
    return Platform(
        _text(raw, "os", what),
        _text(raw, "architecture", what),
        _text(raw, "variant", what) or None,
        os_version=_text(raw, "os.version", what) or None,
        os_features=_texts(raw, "os.features", what),
        features=_texts(raw, "features", what),
    )
