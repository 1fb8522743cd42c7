"""A small, fixed fuzz budget of every target of ``bench/fuzz.py`` (seed 0, the same cases on
every run): no crash, no oracle failure, no hang (each call bounded by the runner).

The big runs are ``bench/fuzz.py``'s (figures in docs/reliability.md).
"""

from __future__ import annotations

import pytest
from fuzzrunner import run_target
from fuzztargets import TARGETS

pytestmark = pytest.mark.fuzz

BUDGET = {
    "tar": 400,
    "layers": 400,
    "manifest": 2000,
    "platform": 1500,
    "json-decoding": 1500,
    "reference": 3000,
    "www-authenticate": 3000,
    "bundle-manifest": 1500,
    "record": 500,
    "verify": 80,
    "archive": 600,
    "http-body": 1500,
    "lint": 400,
}


def test_every_target_has_a_budget() -> None:
    assert set(BUDGET) == set(TARGETS)


@pytest.mark.parametrize("name", sorted(BUDGET))
def test_fuzz_target_finds_nothing(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_target(name, cases=BUDGET[name], seed=0, per_call=20.0)
    with capsys.disabled():
        print("\n" + result.summary(show=0))
    assert result.tried == BUDGET[name], result.summary()
    assert not result.problems, result.summary(show=5)
