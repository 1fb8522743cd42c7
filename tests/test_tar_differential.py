"""Differential test of the tar walker against Go's ``archive/tar`` (the runtimes' reader).

The oracle is ``tests/support/golister`` (built here with ``go build``, standard library only) plus
the layer extractors' type switch (:func:`golister.runtime_view`). buildguard's walker, fed
in random chunk sizes, must list exactly the runtime's entries — raw name bytes, type, data
size, mode, uid, gid, mtime, link target, file digest — or refuse the tar with its reading
errors. Failures: a disagreement where buildguard answers, a crash, and for well-formed
input any refusal (see :mod:`tarjudge`).

Inputs: the fixed corpus of :mod:`tarcases` (issue 8's defects, Go's reader-test kinds,
well-formed archives of every format), Go's own testdata files read in place from
``/usr/lib/go-1.19/src/archive/tar/testdata`` (never copied), and hypothesis-generated
tars: well-formed ones and mutations of them (fixed seed, fixed budget).
"""

from __future__ import annotations

import bz2
from collections.abc import Iterator
from pathlib import Path

import pytest
import tarcases
import tarstrategies
from golister import GoLister, build_golister
from hypothesis import HealthCheck, given, settings
from tarjudge import Tally, judge

GO_TESTDATA = Path("/usr/lib/go-1.19/src/archive/tar/testdata")
WELL_FORMED_BUDGET = 300
MUTATED_BUDGET = 500
CHUNKS = ((), (1,), (511,), (7, 1000, 3))


@pytest.fixture(scope="module")
def golister(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoLister]:
    with GoLister(build_golister(tmp_path_factory.mktemp("golister"))) as lister:
        yield lister


@pytest.mark.parametrize("case", tarcases.CASES, ids=[c.name for c in tarcases.CASES])
def test_fixed_corpus_agrees_or_refuses(case: tarcases.TarCase, golister: GoLister) -> None:
    tally = Tally(case.name)
    for chunks in CHUNKS:
        tally.add(judge(golister, case.data, chunks), f"{case.name} chunks={chunks}")
    assert tally.failures(well_formed=case.well_formed) == 0, f"{case.note}\n{tally.summary()}"


def _go_testdata() -> list[Path]:
    if not GO_TESTDATA.is_dir():
        return []
    return sorted(p for p in GO_TESTDATA.iterdir() if p.name.endswith((".tar", ".tar.bz2")))


@pytest.mark.parametrize("path", _go_testdata(), ids=lambda p: p.name)
def test_go_testdata_agrees_or_refuses(path: Path, golister: GoLister) -> None:
    data = path.read_bytes()
    if path.name.endswith(".bz2"):
        data = bz2.decompress(data)
    tally = Tally(path.name)
    for chunks in CHUNKS:
        tally.add(judge(golister, data, chunks), f"{path.name} chunks={chunks}")
    assert tally.failures(well_formed=False) == 0, tally.summary()


def test_go_testdata_is_present() -> None:
    assert len(_go_testdata()) >= 40, f"golang-go's sources are missing under {GO_TESTDATA}"


def _run(strategy: object, budget: int, tally: Tally, golister: GoLister) -> None:
    @settings(
        max_examples=budget,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(drawn: tarstrategies.Drawn) -> None:
        tally.add(judge(golister, drawn.data, drawn.chunks), drawn.describe)

    one()


def test_generated_well_formed_tars(golister: GoLister, capsys: pytest.CaptureFixture[str]) -> None:
    tally = Tally("well-formed generated tars")
    _run(tarstrategies.well_formed_tars(), WELL_FORMED_BUDGET, tally, golister)
    with capsys.disabled():
        print("\n" + tally.summary())
    assert tally.total >= WELL_FORMED_BUDGET // 2
    assert tally.failures(well_formed=True) == 0, tally.summary()


def test_generated_mutated_tars(golister: GoLister, capsys: pytest.CaptureFixture[str]) -> None:
    tally = Tally("mutated generated tars")
    _run(tarstrategies.mutated_tars(), MUTATED_BUDGET, tally, golister)
    with capsys.disabled():
        print("\n" + tally.summary())
    assert tally.total >= MUTATED_BUDGET // 2
    assert tally.failures(well_formed=False) == 0, tally.summary()
