"""The house's shape (docs/design.md): no import cycle between the package's parts, a public
surface of ``buildguard``, ``buildguard.models`` and ``buildguard.errors``, no public
function named like a module, and at most 8 parameters per public function."""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import buildguard

PACKAGE = Path(buildguard.__file__).resolve().parent
MAX_PARAMETERS = 8


def _part(module: str) -> str:
    """The part of the package a module belongs to: ``_image`` for ``buildguard._image.x``,
    ``models`` for ``buildguard.models``; the root package (``__version__`` only) is ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def import_graph() -> dict[str, set[str]]:
    """Which parts each part imports (every import, also those inside functions)."""
    graph: dict[str, set[str]] = {}
    for name, path in _modules():
        source = _part(name)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                if target.split(".")[0] != "buildguard":
                    continue
                part = _part(target)
                if source and part and part != source:  # the root package: __version__
                    graph.setdefault(source, set()).add(part)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as a path that ends where it starts, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_no_import_cycle_between_the_parts_of_the_package() -> None:
    graph = import_graph()
    assert "_image" in graph and "models" in graph  # the scan found the imports
    assert find_cycle(graph) is None, find_cycle(graph)


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


def test_only_init_models_and_errors_are_public() -> None:
    public = {
        name
        for name, _ in _modules()
        if not any(part.startswith("_") for part in name.split(".")[1:])
    }
    assert public == {"buildguard", "buildguard.models", "buildguard.errors"}


def test_no_public_function_is_named_like_a_module() -> None:
    names = {name.split(".")[-1] for name, _ in _modules()}
    assert not names & set(buildguard.__all__), names & set(buildguard.__all__)
    assert "inspect" not in {path.stem for path in PACKAGE.glob("*.py")}  # the stdlib's


def test_public_functions_take_at_most_8_parameters() -> None:
    checked = 0
    for name in buildguard.__all__:
        value = getattr(buildguard, name)
        if inspect.isfunction(value):
            count = len(inspect.signature(value).parameters)
            assert count <= MAX_PARAMETERS, f"buildguard.{name} takes {count} parameters"
            checked += 1
    assert checked >= 10


def test_the_public_names_stay_themselves_after_importing_every_module() -> None:
    """No ``sys.modules`` class swap is needed: importing every implementation module leaves
    ``buildguard.verify`` (etc.) the functions."""
    for name, _ in _modules():
        if "_cli" not in name:
            importlib.import_module(name)
    for name in ("inspect", "record", "run", "seal", "verify"):
        assert inspect.isfunction(getattr(buildguard, name)), name
    assert type(sys.modules["buildguard"]).__name__ == "module"
