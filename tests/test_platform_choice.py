"""Which index entry each runtime pulls, as tables read from the runtimes' source, and the
properties of buildguard's choice over random indexes.

Sources (docs/decisions.md names them fully):
- [20.10] moby v20.10.24 ``vendor/github.com/containerd/containerd/platforms/database.go`` and
  ``distribution/pull_v2_unix.go`` (``filterManifests``: ``NewMatcher``, first match);
- [1.6] containerd v1.6.20 ``platforms/database.go`` (Debian 12's docker.io links it);
- [cur] containerd/platforms v1.0.0-rc.4 ``database.go``, ``compare.go`` (``Only``,
  ``platformVector``), containerd ``core/images/handlers.go`` (``LimitManifests``);
- [moby] moby master ``daemon/internal/distribution/pull_v2_unix.go``, ``pull_v2.go``.

The runtime differential is ``test_platform_runtime.py``.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from platformspellings import SPELLINGS

from buildguard._image.manifest import OCI_INDEX, OCI_MANIFEST, document_kind, parse_index
from buildguard._image.platformmatch import (
    CONTAINERD_16,
    CURRENT,
    UPSTREAM_2010,
    Entry,
    Platform,
    entry_platform,
    normalize,
    only_rank,
    picks,
    platform_vector,
)
from buildguard._image.platforms import choose, entry_kind
from buildguard.errors import BuildguardError, HostileImage, ImageReadError

P = Platform.parse

# (arch, variant) → normalised under [20.10], [1.6], [cur]
NORMALISED = [
    (("x86_64", ""), ("amd64", ""), ("amd64", ""), ("amd64", "")),
    (("X86-64", ""), ("amd64", ""), ("amd64", ""), ("amd64", "")),
    (("x86_64", "v3"), ("amd64", ""), ("amd64", "v3"), ("amd64", "v3")),  # 20.10 clears it
    (("amd64", "v1"), ("amd64", "v1"), ("amd64", ""), ("amd64", "")),  # 1.6 added "amd64"
    (("AMD64", "V2"), ("amd64", "v2"), ("amd64", "v2"), ("amd64", "v2")),
    (("aarch64", ""), ("arm64", ""), ("arm64", ""), ("arm64", "")),
    (("arm64", "v8"), ("arm64", ""), ("arm64", ""), ("arm64", "")),
    (("arm64", "8"), ("arm64", ""), ("arm64", ""), ("arm64", "")),
    (("arm64", "v8.0"), ("arm64", "v8.0"), ("arm64", "v8.0"), ("arm64", "")),  # cur only
    (("arm64", "9.0"), ("arm64", "9.0"), ("arm64", "9.0"), ("arm64", "v9")),  # cur only
    (("armhf", ""), ("arm", "v7"), ("arm", "v7"), ("arm", "v7")),
    (("armel", "v7"), ("arm", "v6"), ("arm", "v6"), ("arm", "v6")),
    (("arm", ""), ("arm", "v7"), ("arm", "v7"), ("arm", "v7")),
    (("arm", "6"), ("arm", "v6"), ("arm", "v6"), ("arm", "v6")),
    (("i386", "sse"), ("386", ""), ("386", ""), ("386", "")),
    (("riscv64", "RVA20"), ("riscv64", "rva20"), ("riscv64", "rva20"), ("riscv64", "rva20")),
]


@pytest.mark.parametrize(("raw", "old", "deb", "cur"), NORMALISED)
def test_normalisation_follows_each_version(
    raw: tuple[str, str], old: tuple[str, str], deb: tuple[str, str], cur: tuple[str, str]
) -> None:
    p = Platform("Linux", raw[0], raw[1] or None)
    assert normalize(p, UPSTREAM_2010) == ("linux", *old)
    assert normalize(p, CONTAINERD_16) == ("linux", *deb)
    assert normalize(p, CURRENT) == ("linux", *cur)


def test_os_normalisation() -> None:
    assert normalize(Platform("MacOS", "arm64"), CURRENT)[0] == "darwin"
    assert normalize(Platform("", "amd64"), CURRENT)[0] == "linux"  # runtime.GOOS


# [cur] compare.go platformVector, as Only(request) orders it
VECTORS = [
    ("linux/amd64", ["amd64/", "386/"]),
    ("linux/amd64/v3", ["amd64/v3", "amd64/v2", "amd64/v1", "386/"]),
    ("linux/arm64", ["arm64/v8", "arm/v8", "arm/v7", "arm/v6", "arm/v5"]),
    (
        "linux/arm64/v8.2",
        ["arm64/v8.2", "arm64/v8.1", "arm64/v8", "arm/v8", "arm/v7", "arm/v6", "arm/v5"],
    ),
    (
        "linux/arm64/v9",
        [
            "arm64/v9",
            "arm64/v8.5",
            "arm64/v8.4",
            "arm64/v8.3",
            "arm64/v8.2",
            "arm64/v8.1",
            "arm64/v8",
            "arm/v8",
            "arm/v7",
            "arm/v6",
            "arm/v5",
        ],
    ),
    ("linux/arm64/v10", []),  # not in arm64variantToVersion: Only matches nothing
    ("linux/arm/v7", ["arm/v7", "arm/v6", "arm/v5"]),
    ("linux/arm/v5", ["arm/v5"]),
    ("linux/s390x", ["s390x/"]),
]


@pytest.mark.parametrize(("request_", "vector"), VECTORS)
def test_only_vector(request_: str, vector: list[str]) -> None:
    got = platform_vector(*normalize(P(request_), CURRENT))
    assert [f"{arch}/{variant}" for _, arch, variant in got] == vector


# (request, candidate, rank in Only(request) or None, dockerd 20.10 [1.6] exact match)
MATCHES = [
    ("linux/amd64", "linux/amd64", 0, True),
    ("linux/amd64", "linux/x86_64", 0, True),
    ("linux/amd64", "linux/amd64/v1", 0, True),
    ("linux/amd64", "linux/amd64/v2", None, False),  # a v2 image does not run on a v1 host
    ("linux/amd64", "linux/386", 1, False),  # containerd falls back to 386; dockerd does not
    ("linux/amd64/v3", "linux/amd64/v2", 1, False),
    ("linux/arm64", "linux/aarch64", 0, True),
    ("linux/arm64", "linux/arm64/v8", 0, True),
    ("linux/arm64", "linux/arm/v7", 2, False),
    ("linux/arm64/v8", "linux/arm64", 0, True),
    ("linux/arm/v7", "linux/armhf", 0, True),
    ("linux/arm/v7", "linux/arm", 0, True),
    ("linux/arm/v7", "linux/armel", 1, False),
    ("linux/amd64", "unknown/unknown", None, False),
    ("linux/amd64", "windows/amd64", None, False),
]


@pytest.mark.parametrize(("request_", "candidate", "rank", "exact"), MATCHES)
def test_matching(request_: str, candidate: str, rank: int | None, exact: bool) -> None:
    assert only_rank(P(request_), P(candidate)) == rank
    same = normalize(P(request_), CONTAINERD_16) == normalize(P(candidate), CONTAINERD_16)
    assert same == exact


def test_os_features_exclude_an_entry_for_containerd_only() -> None:
    """[cur] matcher.Match: an entry's os.features must be in the request's (none here);
    [20.10]/[1.6] compare os/architecture/variant only."""
    featured = Platform("linux", "amd64", os_features=("x",))
    assert only_rank(P("linux/amd64"), featured) is None
    assert only_rank(P("windows/amd64"), Platform("windows", "amd64", os_features=("win32k",))) == 0


# -- indexes --------------------------------------------------------------------------------


def _digest(n: int) -> str:
    return "sha256:" + f"{n:x}" * 64 if n < 16 else "sha256:" + f"{n:02x}" * 32


def _index(*entries: dict[str, object]) -> bytes:
    manifests = []
    for n, entry in enumerate(entries):
        desc: dict[str, object] = {"mediaType": OCI_MANIFEST, "digest": _digest(n + 1), "size": 100}
        desc.update(entry)
        manifests.append(desc)
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()


def _plat(text: str) -> dict[str, str]:
    os_, arch, *variant = text.split("/")
    return {"os": os_, "architecture": arch, **({"variant": variant[0]} if variant else {})}


def _choose(data: bytes, request: str | None) -> str | None:
    _, doc = document_kind(data, None, "t")
    desc = choose(parse_index(doc, "t"), P(request) if request else None, "t")
    return None if desc is None else desc.digest


ATTEST = {"annotations": {"vnd.docker.reference.type": "attestation-manifest"}}
CASES = [
    # (name, entries, request, expected entry number (1-based) | None | error class)
    (
        "buildkit",
        [
            {"platform": _plat("linux/amd64")},
            {"platform": _plat("linux/arm64")},
            {"platform": _plat("unknown/unknown"), **ATTEST},
        ],
        None,
        1,
    ),
    (
        "buildkit arm64",
        [
            {"platform": _plat("linux/amd64")},
            {"platform": _plat("linux/arm64")},
            {"platform": _plat("unknown/unknown"), **ATTEST},
        ],
        "linux/arm64/v8",
        2,
    ),
    (
        "aarch64 is arm64",
        [{"platform": _plat("linux/amd64")}, {"platform": _plat("linux/aarch64")}],
        "linux/arm64",
        2,
    ),
    (
        "aarch64 and arm64/v8 tie",
        [{"platform": _plat("linux/aarch64")}, {"platform": _plat("linux/arm64/v8")}],
        "linux/arm64",
        HostileImage,
    ),
    (
        "two amd64",
        [{"platform": _plat("linux/amd64")}, {"platform": _plat("linux/amd64")}],
        None,
        HostileImage,
    ),
    (
        "the same image twice is no tie",
        [
            {"platform": _plat("linux/amd64"), "digest": _digest(9)},
            {"platform": _plat("linux/amd64"), "digest": _digest(9)},
        ],
        None,
        1,
    ),
    (
        "attestation annotated, listed first, linux/amd64",
        [{"platform": _plat("linux/amd64"), **ATTEST}, {"platform": _plat("linux/amd64")}],
        None,
        HostileImage,
    ),
    (
        "artifact first",
        [
            {"platform": _plat("linux/amd64"), "mediaType": "application/vnd.example.sbom+json"},
            {"platform": _plat("linux/arm64")},
        ],
        None,
        HostileImage,
    ),
    (
        "unknown/unknown first is skipped by matching",
        [{"platform": _plat("unknown/unknown"), **ATTEST}, {"platform": _plat("linux/amd64")}],
        None,
        2,
    ),
    (
        "amd64/v2 is not for a v1 request",
        [{"platform": _plat("linux/amd64/v2")}, {"platform": _plat("linux/amd64")}],
        None,
        2,
    ),
    (
        "only amd64/v3: nobody pulls it for linux/amd64",
        [{"platform": _plat("linux/amd64/v3")}],
        None,
        None,
    ),
    (
        "v3 request: dockerd takes v3 exactly, containerd v3 first",
        [{"platform": _plat("linux/amd64")}, {"platform": _plat("linux/amd64/v3")}],
        "linux/amd64/v3",
        2,
    ),
    (
        "v2 request with v1 and v3: dockerd none, containerd amd64",
        [{"platform": _plat("linux/amd64/v3")}, {"platform": _plat("linux/amd64")}],
        "linux/amd64/v2",
        2,
    ),
    (
        "amd64/v1 before amd64: upstream 20.10 and 1.6 differ",
        [{"platform": _plat("linux/amd64/v1")}, {"platform": _plat("linux/amd64")}],
        None,
        HostileImage,
    ),
    (
        "x86_64/v3 before amd64: upstream 20.10 pulls it, containerd does not",
        [{"platform": _plat("linux/x86_64/v3")}, {"platform": _plat("linux/amd64")}],
        None,
        HostileImage,
    ),
    (
        "386 only: containerd pulls it for linux/amd64, dockerd nothing",
        [{"platform": _plat("linux/386")}],
        None,
        1,
    ),
    (
        "amd64 and 386: all agree on amd64",
        [{"platform": _plat("linux/386")}, {"platform": _plat("linux/amd64")}],
        None,
        2,
    ),
    (
        "arm/v7 for an arm64 request: containerd only",
        [{"platform": _plat("linux/arm/v7")}],
        "linux/arm64",
        1,
    ),
    (
        "arm/v6 then arm/v7 for arm/v7: dockerd exact, containerd rank 0",
        [{"platform": _plat("linux/arm/v6")}, {"platform": _plat("linux/arm/v7")}],
        "linux/arm/v7",
        2,
    ),
    (
        "dockerd's arm fallback: arm/v6 asked, only arm/v7 listed",
        [{"platform": _plat("linux/arm/v7")}],
        "linux/arm/v6",
        1,
    ),
    (
        "dockerd's arm fallback disagrees with containerd",
        [{"platform": _plat("linux/arm/v7")}, {"platform": _plat("linux/arm/v5")}],
        "linux/arm/v6",
        HostileImage,
    ),
    (
        "no platform: containerd falls back to it, dockerd pulls nothing",
        [{"platform": _plat("linux/arm64")}, {}],
        None,
        2,
    ),
    ("two without platform", [{}, {}], None, ImageReadError),
    (
        "an empty platform is nothing to containerd, none to moby 25+",
        [{"platform": {}}, {}],
        None,
        HostileImage,
    ),
    (
        "os.features: dockerd takes it, containerd skips it",
        [
            {"platform": {**_plat("linux/amd64"), "os.features": ["x"]}},
            {"platform": _plat("linux/amd64")},
        ],
        None,
        HostileImage,
    ),
    ("nested index entry", [{"platform": _plat("linux/amd64"), "mediaType": OCI_INDEX}], None, 1),
    ("Linux/AMD64 spelled in capitals", [{"platform": _plat("Linux/AMD64")}], None, 1),
]


@pytest.mark.parametrize(
    ("entries", "request_", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_choice(
    entries: list[dict[str, object]], request_: str | None, expected: int | type[Exception] | None
) -> None:
    data = _index(*entries)
    if isinstance(expected, type):
        with pytest.raises(expected):
            _choose(data, request_)
        return
    digests = [e.get("digest", _digest(n + 1)) for n, e in enumerate(entries)]
    assert _choose(data, request_) == (None if expected is None else digests[expected - 1])


def test_a_platform_of_the_wrong_type_is_refused_as_go_would() -> None:
    with pytest.raises(ImageReadError, match="'os'"):
        entry_platform({"os": 1, "architecture": "amd64"}, "t")
    with pytest.raises(ImageReadError, match="platform"):
        entry_platform("linux/amd64", "t")
    assert entry_platform(None, "t") is None
    assert entry_platform({}, "t") == Platform("", "")


def test_entry_kinds() -> None:
    _, doc = document_kind(
        _index(
            {"platform": _plat("linux/amd64")},
            {"platform": _plat("unknown/unknown")},
            {"platform": _plat("linux/amd64"), **ATTEST},
            {"mediaType": OCI_INDEX},
            {"mediaType": "application/vnd.in-toto+json"},
        ),
        None,
        "t",
    )
    kinds = [entry_kind(d) for d in parse_index(doc, "t").manifests]
    assert kinds == ["image", "attestation", "attestation", "index", "artifact"]


# -- properties -----------------------------------------------------------------------------

REQUESTS = [
    None,
    "linux/amd64",
    "linux/amd64/v2",
    "linux/amd64/v3",
    "linux/arm64",
    "linux/arm64/v8",
    "linux/arm64/v9",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/386",
    "windows/amd64",
]
_entry = st.fixed_dictionaries(
    {
        "platform": st.one_of(
            st.none(),
            st.sampled_from(SPELLINGS).map(_plat),
            st.just({}),
            st.sampled_from(SPELLINGS).map(lambda s: {**_plat(s), "os.features": ["f"]}),
        ),
        "mediaType": st.sampled_from(
            [OCI_MANIFEST, OCI_MANIFEST, OCI_INDEX, "application/vnd.in-toto+json"]
        ),
        "digest": st.integers(1, 6).map(_digest),
    },
    optional={"annotations": st.just({"vnd.docker.reference.type": "attestation-manifest"})},
).map(lambda e: {k: v for k, v in e.items() if v is not None})


def _outcome(entries: list[dict[str, object]], request: str | None) -> str | None:
    try:
        return _choose(_index(*entries), request)
    except BuildguardError:
        return "refused"


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.lists(_entry, max_size=6), st.sampled_from(REQUESTS), st.randoms(use_true_random=False))
def test_the_choice_never_rests_on_list_order(
    entries: list[dict[str, object]], request: str | None, rnd: object
) -> None:
    """Every runtime breaks a tie by list order and they rank differently: an answer that
    depended on the order would be some runtime's, not all of theirs."""
    shuffled = list(entries)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert _outcome(entries, request) == _outcome(shuffled, request)


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.lists(_entry, max_size=6), st.sampled_from(REQUESTS))
def test_a_choice_is_every_runtime_s_choice(
    entries: list[dict[str, object]], request: str | None
) -> None:
    """What is chosen is what every modelled runtime that pulls anything pulls, it is an
    image or an index, and no runtime ranks another digest equal with it."""
    data = _index(*entries)
    try:
        chosen = _choose(data, request)
    except BuildguardError:
        return
    _, doc = document_kind(data, None, "t")
    index = parse_index(doc, "t")
    found = picks(
        [Entry(d.platform, d.media_type in (OCI_MANIFEST, OCI_INDEX)) for d in index.manifests],
        P(request or "linux/amd64"),
    )
    pulled = {index.manifests[p.chosen].digest for p in found if p.chosen is not None}
    if chosen is None:
        assert not pulled
        return
    assert pulled == {chosen}
    for p in found:
        assert {index.manifests[i].digest for i in p.ties} <= {chosen}
        for i in p.ties:
            assert entry_kind(index.manifests[i]) in ("image", "index")


# -- --platform all -------------------------------------------------------------------------


def _all(*entries: dict[str, object]) -> dict[str, tuple[str, ...]] | None:
    from buildguard._image.layout import MemorySource
    from buildguard._image.platforms import platform_entries

    data = _index(*entries)
    _, doc = document_kind(data, None, "t")
    found = platform_entries(MemorySource("t", None, data, {}), parse_index(doc, "t"))
    return None if found is None else {label: chain for label, (_, chain) in found.items()}


def test_all_reads_every_platform_and_leaves_buildkit_attestations_out() -> None:
    assert _all(
        {"platform": _plat("linux/amd64")},
        {"platform": _plat("linux/arm/v7")},
        {"platform": _plat("linux/arm64/v8")},
        {"platform": _plat("unknown/unknown"), **ATTEST},
    ) == {
        "linux/amd64": (_digest(1),),
        "linux/arm/v7": (_digest(2),),
        "linux/arm64/v8": (_digest(3),),
    }


def test_all_reads_each_runtime_s_pick_where_they_disagree() -> None:
    """For linux/amd64 upstream dockerd 20.10 pulls the x86_64/v3 entry (it drops the
    variant) and containerd the 386 one: both are read (that platform alone is refused)."""
    entries = ({"platform": _plat("linux/x86_64/v3")}, {"platform": _plat("linux/386")})
    assert _all(*entries) == {"linux/x86_64/v3": (_digest(1),), "linux/386": (_digest(2),)}
    with pytest.raises(HostileImage, match="different entries"):
        _choose(_index(*entries), None)


def test_all_reads_every_arm_entry_dockerd_s_fallback_could_take() -> None:
    """linux/arm/v8 (a 32-bit userland on an armv8 CPU) gets the first arm entry from
    dockerd 20.10 and arm/v7 from containerd; every arm entry is read."""
    assert set(
        _all(
            {"platform": _plat("linux/arm/v5")},
            {"platform": _plat("linux/arm/v7")},
            {"platform": _plat("linux/arm/v6")},
        )
        or {}
    ) == {"linux/arm/v5", "linux/arm/v7", "linux/arm/v6"}
    with pytest.raises(HostileImage):
        _choose(
            _index({"platform": _plat("linux/arm/v5")}, {"platform": _plat("linux/arm/v7")}),
            "linux/arm/v8",
        )


def test_all_reads_what_only_containerd_pulls() -> None:
    assert _all({"platform": _plat("linux/386")}) == {"linux/386": (_digest(1),)}


@pytest.mark.parametrize(
    "entries",
    [
        [{"platform": _plat("linux/amd64")}, {"platform": _plat("linux/amd64")}],
        [{"platform": _plat("linux/amd64"), **ATTEST}, {"platform": _plat("linux/arm64")}],
        [
            {"platform": _plat("linux/arm64")},
            {"platform": _plat("linux/arm64"), "mediaType": "application/vnd.in-toto+json"},
        ],
        [{"platform": _plat("linux/arm64")}, {}],
        [{"platform": _plat("linux/arm64")}, {"platform": {}}],
    ],
    ids=[
        "a platform twice",
        "an attestation with a platform",
        "an artifact tied",
        "no platform beside others",
        "an empty platform beside others",
    ],
)
def test_all_refuses(entries: list[dict[str, object]]) -> None:
    with pytest.raises(ImageReadError):
        _all(*entries)


def test_all_of_one_image_without_a_platform_is_that_image() -> None:
    assert _all({}) is None


ALL_REQUESTS = [
    *REQUESTS[1:],
    "linux/arm/v8",
    "linux/arm/v5",
    "linux/arm64/v8.2",
    "linux/amd64/v4",
    "linux/s390x",
    "Linux/X86_64",
]


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.lists(_entry.filter(lambda e: e.get("mediaType") != OCI_INDEX), max_size=6))
@example(
    [
        {"platform": {}, "mediaType": OCI_MANIFEST, "digest": _digest(1)},
        {"platform": _plat("linux/amd64"), "mediaType": OCI_MANIFEST, "digest": _digest(2)},
    ]
)
def test_all_reads_every_image_any_platform_gets(entries: list[dict[str, object]]) -> None:
    """Whatever platform a runtime is asked for (an os no host has aside), the image any
    modelled runtime pulls is one ``--platform all`` reads, or ``--platform all`` refuses."""
    data = _index(*entries)
    try:
        found = _all(*entries)
    except BuildguardError:
        return
    _, doc = document_kind(data, None, "t")
    index = parse_index(doc, "t")
    read = (
        {chain[-1] for chain in found.values()}
        if found is not None
        else {d.digest for d in index.manifests}
    )
    for request in ALL_REQUESTS:
        for pick in picks(
            [Entry(d.platform, d.media_type in (OCI_MANIFEST, OCI_INDEX)) for d in index.manifests],
            P(request),
        ):
            if pick.chosen is not None:
                assert index.manifests[pick.chosen].digest in read, (request, pick)


def test_inspect_text_lists_the_index_entries() -> None:
    import io

    from buildguard._formats.text import render_inspect
    from buildguard._models.inspectreport import ImageRef, IndexEntryReport, InspectReport

    report = InspectReport(
        image=ImageRef(
            reference="r",
            digest=_digest(1),
            media_type=OCI_MANIFEST,
            config_digest=_digest(3),
            platform="linux/amd64",
        ),
        index_entries=(
            IndexEntryReport(
                index=_digest(9),
                position=0,
                digest=_digest(2),
                media_type=OCI_MANIFEST,
                platform="unknown/unknown",
                kind="attestation",
                chosen=False,
            ),
            IndexEntryReport(
                index=_digest(9),
                position=1,
                digest=_digest(1),
                media_type=OCI_MANIFEST,
                platform="linux/amd64",
                kind="image",
                chosen=True,
            ),
        ),
        layers=(),
        manifests=(),
        files=(),
    )
    out = io.StringIO()
    render_inspect(report, (), out)
    text = out.getvalue()
    assert "index entries (2; * = the one read)" in text
    assert "unknown/unknown      attestation (never verified)" in text
    assert f"* {_digest(9)[:19]} [1] {_digest(1)[:19]} linux/amd64" in text
