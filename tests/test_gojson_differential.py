"""buildguard's JSON decoding against Go's ``encoding/json`` (``tests/support/gojson``).

Documents are generated from real-looking manifests, indexes, configs and ``manifest.json``
files, then varied where Go's decoder is special: keys in other cases or with the Unicode
folds (U+212A, U+017F, U+0130, U+0131), repeated keys (nested ones merge in Go), ``null``,
escapes and lone surrogates, invalid UTF-8, deep nesting, trailing data, numbers Go does not
take as ``int64``, times Go does not parse, values of the wrong type. For each: either
buildguard refuses, or what it decoded equals what Go filled into every struct the runtimes
use; and whenever Go's ``Unmarshal`` fails for one of those structs, buildguard refuses.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator

import pytest
from gojson import SPECS, GoJson, build_gojson, judge
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsoncases import TEMPLATES, mutate, tree, vary_harmlessly

from buildguard._image.gojson import _FOLD_TO_ASCII, decode
from buildguard.errors import DocumentRefused, ImageReadError

# -- the oracle and the comparison ---------------------------------------------------------


@pytest.fixture(scope="module")
def go(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoJson]:
    with GoJson(build_gojson(tmp_path_factory.mktemp("gojson"))) as oracle:
        yield oracle


FIGURES: Counter[str] = Counter()


def check(go: GoJson, kind: str, data: bytes) -> None:
    FIGURES[judge(go, kind, data)] += 1


def test_go_folds_exactly_these_runes_to_ascii(go: GoJson) -> None:
    assert go.ascii_folds() == _FOLD_TO_ASCII


@pytest.mark.parametrize("index", range(len(TEMPLATES)))
def test_templates_are_read_as_go_reads_them(go: GoJson, index: int) -> None:
    kind, value = TEMPLATES[index]
    data = json.dumps(value).encode()
    decode(data, SPECS[kind], "template")  # never refused
    check(go, kind, data)
    check(go, kind, json.dumps(value, indent="\t", ensure_ascii=True).encode())


KNOWN = [
    ("document", b'{"Layers":[], "layers":[]}', DocumentRefused),
    ("document", b'{"layers":[{"digest":"x"}],"layers":[{"size":1}]}', DocumentRefused),
    ("document", b'{"manifest\xc5\xbf":[]}', DocumentRefused),  # U+017F LONG S
    ("document", b'{"schemaVersion":2}\n{}', ImageReadError),
    ("document", b'{"schemaVersion":2.0}', ImageReadError),
    ("document", b'{"schemaVersion":1e0}', ImageReadError),
    ("document", b'{"annotations":{"a":"1","a":"2"}}', DocumentRefused),
    (
        "config",
        b'{"rootfs":{"diff_ids":[]},"created":"2020-01-01T00:00:00\\u005a"}',
        ImageReadError,
    ),
    ("config", b'{"rootfs":{"diff_ids":["\xff"]}}', DocumentRefused),
    ("config", b'{"Rootfs":{"diff_ids":[]}}', DocumentRefused),
    ("save", b'[{"config":"x"}]', DocumentRefused),
    ("save", b'[{"Config":"x","Config":"y"}]', DocumentRefused),
]


@pytest.mark.parametrize(("kind", "data", "error"), KNOWN)
def test_known_divergences_are_refused(go: GoJson, kind: str, data: bytes, error: type) -> None:
    with pytest.raises(error):
        decode(data, SPECS[kind], "document")
    check(go, kind, data)


@settings(
    derandomize=True, max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.sampled_from(range(len(TEMPLATES))), st.integers(1, 4), st.randoms(use_true_random=False))
def test_generated_documents_agree_with_go_or_are_refused(
    go: GoJson, index: int, rounds: int, rng: random.Random
) -> None:
    kind, value = TEMPLATES[index]
    root = tree(value)
    data = b""
    for _ in range(rounds):
        data = mutate(rng, root)
    check(go, kind, data)


@settings(
    derandomize=True, max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.sampled_from(range(len(TEMPLATES))), st.integers(1, 4), st.randoms(use_true_random=False))
def test_harmless_variations_are_read_as_go_reads_them(
    go: GoJson, index: int, rounds: int, rng: random.Random
) -> None:
    """Escaped keys, unknown keys (even repeated, even "Layers_"), nulls, white space: Go
    reads them all, and so must buildguard — never a refusal."""
    kind, value = TEMPLATES[index]
    root = tree(value)
    data = b""
    for _ in range(rounds):
        data = vary_harmlessly(rng, root)
    outcome = judge(go, kind, data)
    FIGURES["harmless-" + outcome] += 1
    assert outcome == "compared", data


def test_the_generator_reached_both_sides() -> None:
    """The property test compared documents buildguard reads and documents Go rejects (and
    this file prints how many, for docs/reliability.md)."""
    print(f"gojson differential: {FIGURES}")
    assert FIGURES["compared"] >= 200
    assert FIGURES["refused-go-rejects"] >= 200
