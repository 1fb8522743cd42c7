"""The parts of verify-live that need no server: URL ↔ bundle path mapping, Content-Encoding
decoding (bounded, truncation seen), the reference scanners fed in any chunking, the
caching rule, and the command line's value parsers. Parsers are property-tested.
"""

from __future__ import annotations

import gzip
import itertools
import zlib
from datetime import UTC, datetime
from urllib.parse import quote_from_bytes

import brotli
import httpx
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from buildguard._internal.decode import (
    DecodeError,
    IterReader,
    UnsupportedEncoding,
    ZstdFrames,
    decoded,
    parse_codings,
)
from buildguard._internal.pathescape import decode_name, escape
from buildguard._live.caching import cacheable_for
from buildguard._live.options import parse_duration, parse_header
from buildguard._live.refs import HtmlRefs, TokenScanner
from buildguard._live.urls import (
    bundle_path,
    check_site_url,
    check_under_base,
    normalise_base,
    resolve,
)
from buildguard.errors import UsageError

# -- URL ↔ bundle path ------------------------------------------------------------------

segment = st.binary(min_size=1, max_size=12).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..")
)


@settings(derandomize=True, max_examples=300)
@given(st.lists(segment, min_size=1, max_size=4), st.sampled_from(["/", "/app/", "/a b/"]))
def test_a_percent_encoded_url_maps_to_the_escaped_manifest_name(
    parts: list[bytes], base: str
) -> None:
    name = b"/".join(parts)
    url = (
        "https://cdn.example"
        + quote_from_bytes(base.encode()).replace("%2F", "/")
        + quote_from_bytes(name, safe="/")
    )
    mapped = bundle_path(url, quote_from_bytes(base.encode()).replace("%2F", "/"))
    assert mapped == escape(decode_name(name))


def test_url_mapping_examples() -> None:
    assert bundle_path("http://h/assets/caf%C3%A9.js", "/") == "assets/café.js"
    assert bundle_path("http://h/assets/caf%E9.js?v=1#x", "/") == "assets/caf\\xe9.js"
    assert bundle_path("http://h/assets/a%5Cb.js", "/") == "assets/a\\\\b.js"
    assert bundle_path("http://h/app/x.js", "/app/") == "x.js"
    assert bundle_path("http://h/other/x.js", "/app/") is None
    assert bundle_path("http://h/app/", "/app/") is None
    assert bundle_path("http://h/app/a/%2e%2e/x.js", "/app/") is None
    assert resolve("data:text/javascript,1", "http://h/") is None
    assert resolve("./x.js#frag", "http://h/app/index.html") == "http://h/app/x.js"
    assert resolve("//cdn.example/x.js", "https://h/") == "https://cdn.example/x.js"


@pytest.mark.parametrize(
    "given_base,expected", [("/", "/"), ("app", "/app/"), ("/app", "/app/"), ("/a/b/", "/a/b/")]
)
def test_base_is_normalised(given_base: str, expected: str) -> None:
    assert normalise_base(given_base) == expected


@pytest.mark.parametrize(
    "url", ["ftp://h/", "http://", "http://h:99999/", "h/x", "", "http://u:p@h/", "http://h/ x"]
)
def test_bad_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError):
        check_site_url(url)


def test_the_url_must_be_under_the_base() -> None:
    check_under_base("http://h/app", "/app/")
    check_under_base("http://h/app/some/route", "/app/")
    with pytest.raises(UsageError, match="not under --base /app/"):
        check_under_base("http://h/", "/app/")


# -- Content-Encoding ---------------------------------------------------------------------


def read_all(raw: bytes, codings: str, piece: int = 4096, size: int = 1 << 20) -> list[bytes]:
    chunks = iter([raw[i : i + piece] for i in range(0, len(raw), piece)])
    reader = decoded(IterReader(chunks), parse_codings(codings))
    out = []
    while chunk := reader.read(size):
        out.append(chunk)
    return out


def packers() -> dict[str, bytes]:
    data = b"".join(b"line %d of the asset\n" % i for i in range(20000))
    raw = zlib.compressobj(wbits=-15)
    zc = zstandard.ZstdCompressor(write_checksum=True, write_content_size=False)
    return {
        "gzip": gzip.compress(data[:1000]) + gzip.compress(data[1000:]),  # two members
        "deflate": zlib.compress(data),
        "raw-deflate": raw.compress(data) + raw.flush(),
        "br": brotli.compress(data),
        "zstd": zc.compress(data[:5000]) + zstandard.ZstdCompressor().compress(data[5000:]),
        "data": data,
    }


@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw-deflate", "br", "zstd"])
def test_each_coding_decodes_and_a_cut_stream_is_an_error(coding: str) -> None:
    packed = packers()
    header = "deflate" if coding == "raw-deflate" else coding
    assert b"".join(read_all(packed[coding], header)) == packed["data"]
    assert b"".join(read_all(packed[coding], header, piece=7)) == packed["data"]
    for cut in (1, len(packed[coding]) // 2, len(packed[coding]) - 1):
        with pytest.raises(DecodeError):
            read_all(packed[coding][:cut], header)
    with pytest.raises(DecodeError):
        read_all(b"\x00not compressed data at all" * 10, header)


def test_stacked_codings_are_undone_in_reverse() -> None:
    data = b"twice encoded\n" * 100
    packed = brotli.compress(gzip.compress(data))
    assert b"".join(read_all(packed, "gzip, br")) == data
    assert parse_codings("identity") == []
    with pytest.raises(UnsupportedEncoding):
        parse_codings("gzip, compress")


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_a_compression_bomb_is_read_in_bounded_chunks(coding: str) -> None:
    zeros = bytes(256 << 20)  # 256 MiB of zeros: a few hundred KB compressed, at most
    if coding == "gzip":
        packed = gzip.compress(zeros, 1)
    elif coding == "deflate":
        packed = zlib.compress(zeros, 1)
    elif coding == "br":
        packed = brotli.compress(zeros, quality=1)
    else:
        packed = zstandard.ZstdCompressor(level=1).compress(zeros)
    del zeros
    reader = decoded(IterReader(iter([packed])), [coding])
    total = biggest = 0
    while chunk := reader.read(1 << 20):
        total += len(chunk)
        biggest = max(biggest, len(chunk))
    assert total == 256 << 20
    assert biggest <= 4 << 20  # never the whole body at once


@settings(derandomize=True, max_examples=150)
@given(
    st.lists(
        st.tuples(st.binary(max_size=3000), st.booleans(), st.booleans()), min_size=1, max_size=3
    ),
    st.integers(min_value=1, max_value=500),
)
def test_the_zstd_frame_walker_ends_exactly_at_frame_ends(
    frames: list[tuple[bytes, bool, bool]], piece: int
) -> None:
    packed = [
        zstandard.ZstdCompressor(write_checksum=check, write_content_size=size).compress(data)
        for data, check, size in frames
    ]
    stream = b"".join(packed)
    ends = {sum(len(p) for p in packed[: i + 1]) for i in range(len(packed))}
    walker = ZstdFrames()
    for i in range(0, len(stream), piece):
        walker.feed(stream[i : i + piece])
    walker.finish()
    for cut in range(1, len(stream), max(1, len(stream) // 40)):
        walker = ZstdFrames()
        walker.feed(stream[:cut])
        if cut in ends:
            walker.finish()
        else:
            with pytest.raises(DecodeError):
                walker.finish()


# -- references ---------------------------------------------------------------------------

PAGE = b"""<!doctype html><html><head><base href="/app/">
<script type="module" crossorigin src="/app/assets/index-Bs7jaBNr.js"></script>
<link rel="stylesheet" href="assets/index-D-gMUb_0.css">
<link rel="modulepreload" href="/app/assets/vendor-x.js"><link rel="canonical" href="/x">
<link rel="icon" href="/favicon.ico"><link rel="manifest" href="site.webmanifest">
<LINK REL="Preload" HREF="/app/f&amp;o.woff2" as="font"><script>var a = "<script src=x>";</script>
</head><body><img src="/img.png"></body></html>"""


@settings(derandomize=True, max_examples=100)
@given(st.lists(st.integers(min_value=0, max_value=len(PAGE)), max_size=8))
def test_html_references_do_not_depend_on_chunking(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(PAGE)]
    parser = HtmlRefs()
    for start, end in itertools.pairwise(bounds):
        parser.feed_bytes(PAGE[start:end])
    parser.finish()
    assert parser.base_href == "/app/"
    assert [(r.value, r.what) for r in parser.references] == [
        ("/app/assets/index-Bs7jaBNr.js", "script src"),
        ("assets/index-D-gMUb_0.css", "link rel=stylesheet"),
        ("/app/assets/vendor-x.js", "link rel=modulepreload"),
        ("/favicon.ico", "link rel=icon"),
        ("site.webmanifest", "link rel=manifest"),
        ("/app/f&o.woff2", "link rel=preload"),
    ]


SCRIPT = (
    b'import{a as e}from"./vendor-Ab12.js";const t=()=>import(`./lazy-D5TR3WuY.js`),'
    b'n=__vite__mapDeps([0,1]);var m=["assets/page-Zz.js","assets/page-Zz.css"];'
    b"document.querySelector(`#app`).textContent=`build `+e;url(/fonts/caf%C3%A9.woff2)"
)
NAMES = frozenset({"vendor-Ab12.js", "lazy-D5TR3WuY.js", "page-Zz.js", "page-Zz.css", "café.woff2"})


@settings(derandomize=True, max_examples=100)
@given(st.lists(st.integers(min_value=0, max_value=len(SCRIPT)), max_size=10))
def test_script_tokens_do_not_depend_on_chunking(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(SCRIPT)]
    scanner = TokenScanner(NAMES)
    for start, end in itertools.pairwise(bounds):
        scanner.feed(SCRIPT[start:end])
    scanner.finish()
    assert list(scanner.tokens) == [
        "./vendor-Ab12.js",
        "./lazy-D5TR3WuY.js",
        "assets/page-Zz.js",
        "assets/page-Zz.css",
        "/fonts/caf%C3%A9.woff2",
    ]


# -- caching ------------------------------------------------------------------------------

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "cacheable"),
    [
        ({}, False),
        ({"cache-control": "max-age=3600"}, True),
        ({"cache-control": "public, s-maxage=60"}, True),
        ({"cache-control": "private, max-age=60"}, True),
        ({"cache-control": "no-cache, max-age=3600"}, False),
        ({"cache-control": "max-age=3600, no-store"}, False),
        ({"cache-control": "max-age=0"}, False),
        ({"cache-control": "max-age=0", "expires": "Thu, 01 Jan 2099 00:00:00 GMT"}, False),
        ({"expires": "Thu, 01 Jan 2099 00:00:00 GMT"}, True),
        (
            {"expires": "Thu, 01 Jan 2099 00:00:00 GMT", "date": "Fri, 01 Jan 2100 00:00:00 GMT"},
            False,
        ),
        ({"expires": "Thu, 01 Jan 2026 00:00:00 GMT"}, False),
        ({"expires": "0"}, False),
        ({"cache-control": "must-revalidate"}, False),
    ],
)
def test_the_caching_rule(headers: dict[str, str], cacheable: bool) -> None:
    assert (cacheable_for(httpx.Headers(headers), now=NOW) is not None) is cacheable


# -- the command line's values ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20s", 20),
        ("90", 90),
        ("5m", 300),
        ("1m30s", 90),
        ("1h", 3600),
        ("250ms", 0.25),
        ("1.5s", 1.5),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5x", "-1s", "1m 30s", "s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


def test_headers() -> None:
    assert parse_header("Authorization: Bearer abc: def") == ("Authorization", "Bearer abc: def")
    assert parse_header("X-Token:v") == ("X-Token", "v")
    for bad in ("no colon here", ": value", "Bad Name: v"):
        with pytest.raises(UsageError) as raised:
            parse_header(bad)
        assert "value" not in raised.value.message.replace("'Name: value'", "")
