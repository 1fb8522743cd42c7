"""The one escape for names that are not UTF-8: reversible, canonical, exact."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildguard._internal.pathescape import decode_name, encode_name, escape, unescape

NAME_BYTES = st.binary(min_size=0, max_size=40) | st.text(max_size=20).map(str.encode)


@settings(derandomize=True, max_examples=2000)
@given(NAME_BYTES)
def test_round_trip_is_exact(raw: bytes) -> None:
    name = decode_name(raw)
    text = escape(name)
    text.encode("utf-8")  # always valid UTF-8 (serialisable into JSON)
    assert unescape(text) == name
    assert encode_name(unescape(text)) == raw


@settings(derandomize=True, max_examples=2000)
@given(NAME_BYTES, NAME_BYTES)
def test_equal_text_iff_equal_bytes(a: bytes, b: bytes) -> None:
    assert (escape(decode_name(a)) == escape(decode_name(b))) == (a == b)


@settings(derandomize=True, max_examples=1000)
@given(st.text(max_size=20))
def test_unescape_accepts_only_what_escape_writes(text: str) -> None:
    try:
        name = unescape(text)
    except ValueError:
        return
    assert escape(name) == text


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"caf\xe9.js", "caf\\xe9.js"),
        (b"a\\b.js", "a\\\\b.js"),
        ("café.js".encode(), "café.js"),
        (b"100%.js", "100%.js"),
    ],
)
def test_documented_examples(raw: bytes, text: str) -> None:
    assert escape(decode_name(raw)) == text


@pytest.mark.parametrize("bad", ["a\\", "a\\q", "a\\x41", "a\\xE9", "\udc80"])
def test_damaged_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        unescape(bad)
