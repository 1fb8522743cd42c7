"""docs/troubleshooting.md names every finding code and every error (issue 20).

The codes come from the report models' Literal types, the errors from the classes of
``buildguard.errors`` and the public API: a code or an error class added without a row here
fails this test, and so does a row whose exit code is not the class's.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import get_args

import buildguard
import buildguard.errors
from buildguard._models.livereport import LiveFindingCode
from buildguard.errors import BuildguardError
from buildguard.models import FindingCode

DOC = Path(__file__).resolve().parent.parent / "docs" / "troubleshooting.md"
README = DOC.parent.parent / "README.md"

PLANNED_LIVE_CODES = {"LIVE_API_FALLBACK"}
"""Codes DESIGN names that another change adds (verify-live's runtime twin of lint); their
rows are written already."""

ROW = re.compile(r"^\| `([A-Za-z_]+)` \| ([^|]+) \|(.+)\|$")


def _sections() -> dict[str, dict[str, list[str]]]:
    """Each ``## `` section's table rows: first cell → the other cells."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), {})
        elif current is not None and (match := ROW.match(line)):
            name, second, rest = match.groups()
            assert name not in current, f"{name} has two rows"
            cells = [second.strip(), *(c.strip() for c in rest.split("|"))]
            assert len(cells) == 3 and all(cells), f"row of {name} has an empty cell: {line}"
            current[name] = cells
    return sections


def _error_classes() -> set[type[BuildguardError]]:
    """Every error class of buildguard.errors, and every one the public API exports."""
    found = {
        cls
        for _, cls in inspect.getmembers(buildguard.errors, inspect.isclass)
        if issubclass(cls, BuildguardError) and cls.__module__ == "buildguard.errors"
    }
    for name in buildguard.__all__:
        value = getattr(buildguard, name)
        if inspect.isclass(value) and issubclass(value, BuildguardError):
            found.add(value)
    return found


def test_every_verify_finding_code_has_a_row() -> None:
    rows = _sections()["verify findings"]
    codes = set(get_args(FindingCode))
    assert codes - set(rows) == set(), "finding codes missing from docs/troubleshooting.md"
    assert set(rows) - codes == set(), "rows for codes verify does not have"
    for code, (severity, _, _) in rows.items():
        assert severity.split()[0] in {"error", "warning", "info"}, (code, severity)


def test_every_live_finding_code_has_a_row() -> None:
    rows = _sections()["verify-live findings"]
    codes = set(get_args(LiveFindingCode))
    assert codes - set(rows) == set(), "live codes missing from docs/troubleshooting.md"
    assert set(rows) - codes - PLANNED_LIVE_CODES == set(), "rows for unknown live codes"
    assert set(rows) >= PLANNED_LIVE_CODES


def test_every_error_class_has_a_row_with_its_exit_code() -> None:
    rows = _sections()["Errors"]
    classes = _error_classes()
    assert {"UsageError", "DigestMismatch", "MarkFailed"} <= {c.__name__ for c in classes}
    missing = {c.__name__ for c in classes} - set(rows)
    assert missing == set(), "error classes missing from docs/troubleshooting.md"
    for cls in classes:
        assert rows[cls.__name__][0] == str(cls.exit_code), cls.__name__
    for name, (exit_code, _, _) in rows.items():  # rows beyond the required ones are real
        documented = _find_error_class(name)
        assert documented is not None, f"{name} is not an error class of buildguard"
        assert exit_code == str(documented.exit_code), name


def _find_error_class(name: str) -> type[BuildguardError] | None:
    """The error class of that name anywhere in buildguard (the registry's too)."""
    import buildguard._attest.attest
    import buildguard._attest.keys
    import buildguard._image.transport.errors
    import buildguard._verify.mark  # noqa: F401

    pending: list[type[BuildguardError]] = [BuildguardError]
    while pending:
        cls = pending.pop()
        if cls.__name__ == name:
            return cls
        pending += cls.__subclasses__()
    return None


def test_the_readme_links_the_table() -> None:
    assert "(docs/troubleshooting.md)" in README.read_text(encoding="utf-8")
