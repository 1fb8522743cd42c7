"""Judge buildguard's walker against the runtime's reading of one tar, and count.

Outcomes (the rule of issue 8: agree, or refuse):

- ``agree``: buildguard listed exactly the runtime's entries;
- ``refused``: buildguard refused and so do the runtimes;
- ``refused-runtime-accepts``: buildguard refused a tar the runtimes would apply (allowed
  for malformed input; for well-formed input it is a failure: a reader that refuses
  everything unusual does not pass);
- ``disagree``: buildguard answered and the answer differs from the runtime's (or the
  runtimes refuse the tar): always a failure;
- ``crash``: buildguard raised something other than its reading errors: always a failure.
"""

from __future__ import annotations

import collections
import re
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field

from golister import GoLister, Listed, runtime_view
from walkadapter import Refused, walk_tar

FAILURES = ("disagree", "crash")


@dataclass(frozen=True)
class Verdict:
    outcome: str
    detail: str = ""
    signature: str = ""
    """What kind of difference (for grouping examples): the fields, or the refusal."""


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_difference(ours: list[Listed], theirs: list[Listed]) -> tuple[str, str]:
    """(signature, detail): the fields that differ in the first differing entry."""
    for i in range(max(len(ours), len(theirs))):
        a = ours[i] if i < len(ours) else None
        b = theirs[i] if i < len(theirs) else None
        if a == b:
            continue
        if a is None or b is None:
            extra = a or b
            assert extra is not None
            who = "buildguard" if a else "runtime"
            return (
                f"only {who} lists an entry ({extra.kind})",
                f"entry {i}: only {who} lists {_short(extra.name)} ({extra.kind})",
            )
        fields = [
            f
            for f in ("name", "kind", "size", "mode", "uid", "gid", "mtime", "linkname", "sha256")
            if getattr(a, f) != getattr(b, f)
        ]
        detail = "; ".join(
            f"{f}: buildguard={_short(getattr(a, f))} runtime={_short(getattr(b, f))}"
            for f in fields
        )
        return (f"{'/'.join(fields)} differ ({b.kind})", f"entry {i} {_short(b.name)}: {detail}")
    return "same", "same"


def judge(go: GoLister, data: bytes, chunk_sizes: Sequence[int] | None = None) -> Verdict:
    view = runtime_view(go.list(data))
    try:
        ours = walk_tar(data, chunk_sizes)
    except Exception as exc:  # a crash, reported with its traceback
        return Verdict(
            "crash", "".join(traceback.format_exception(exc))[-2000:], f"{type(exc).__name__}"
        )
    if isinstance(ours, Refused):
        if view.refused:
            return Verdict("refused", f"{ours} / runtime: {view.refused}")
        return Verdict("refused-runtime-accepts", str(ours), _signature(str(ours)))
    if view.refused:
        return Verdict(
            "disagree",
            f"buildguard lists {len(ours)} entries; runtime refuses: {view.refused}",
            f"runtime refuses: {_signature(view.refused)}",
        )
    if ours != view.entries:
        signature, detail = _first_difference(ours, view.entries)
        return Verdict("disagree", detail, signature)
    return Verdict("agree")


def _signature(message: str) -> str:
    """A refusal message without the parts that vary (offsets, names, numbers)."""
    text = re.sub(r"b?'[^']*'|\"[^\"]*\"|\d+", "_", message)
    return text.split(": ", 1)[-1][:90]


@dataclass
class Tally:
    """Counts per outcome, and one example per kind of failure (outcome + signature)."""

    label: str
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    kinds: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, verdict: Verdict, describe: str) -> None:
        self.counts[verdict.outcome] += 1
        if verdict.outcome in (*FAILURES, "refused-runtime-accepts"):
            key = (verdict.outcome, verdict.signature)
            self.kinds[key] += 1
            self.examples.setdefault(key, f"{describe}\n        {verdict.detail}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def failures(self, *, well_formed: bool) -> int:
        bad = sum(self.counts[k] for k in FAILURES)
        return bad + (self.counts["refused-runtime-accepts"] if well_formed else 0)

    def summary(self) -> str:
        order = ("agree", "refused", "refused-runtime-accepts", "disagree", "crash")
        parts = ", ".join(f"{k} {self.counts[k]}" for k in order)
        lines = [f"{self.label}: {self.total} tars: {parts}"]
        for (outcome, signature), n in self.kinds.most_common():
            lines.append(f"  {outcome} x{n}: {signature}")
            lines.append(f"      e.g. {self.examples[(outcome, signature)]}")
        return "\n".join(lines)
