"""YAML documents with the line of every value, for findings that point at the line.

PyYAML's composer gives nodes with their marks; mappings become :class:`YMap` and
sequences :class:`YList`, which keep the 1-based line of each key's value and each item.
Keys are the scalar's text as written (so GitHub's ``on:`` stays ``"on"``, not YAML 1.1's
``True``). Aliases are shared, not copied, so an alias bomb costs nothing; a recursive
alias is a parse failure.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from buildguard._lint.errors import ParseFailure
from buildguard._lint.workspace import WorkspaceFile


class YMap(dict[str, Any]):
    """A mapping; ``line`` is its own, ``lines[key]`` that of the key's value."""

    line: int = 1
    lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


class YList(list[Any]):
    """A sequence; ``line`` is its own, ``lines[i]`` that of item ``i``."""

    line: int = 1
    lines: list[int]

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, path: str) -> None:
        self.loader = loader
        self.path = path
        self.done: dict[int, Any] = {}
        self.busy: set[int] = set()
        self.kept: list[yaml.Node] = []
        """Every node built, kept alive: ``done`` is keyed by ``id()``, and a freed node's id
        is reused by the next document's nodes (which then read as the earlier document)."""

    def build(self, node: yaml.Node) -> Any:
        key = id(node)
        if key in self.done:
            return self.done[key]
        if key in self.busy:
            raise ParseFailure(self.path, node.start_mark.line + 1, "a recursive YAML alias")
        self.busy.add(key)
        self.kept.append(node)
        try:
            value = self._build(node)
        finally:
            self.busy.discard(key)
        self.done[key] = value
        return value

    def _build(self, node: yaml.Node) -> Any:
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            mapping = YMap()
            mapping.line, mapping.lines = line, {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    name = str(key_node.value)
                else:
                    name = f"<{type(key_node).__name__} at line {key_node.start_mark.line + 1}>"
                mapping[name] = self.build(value_node)
                mapping.lines[name] = value_node.start_mark.line + 1
            return mapping
        if isinstance(node, yaml.SequenceNode):
            items = YList()
            items.line, items.lines = line, []
            for item in node.value:
                items.append(self.build(item))
                items.lines.append(item.start_mark.line + 1)
            return items
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError, TypeError):
            return str(node.value)


def load_documents(file: WorkspaceFile) -> list[Any]:
    """Every document of ``file`` (YMap, YList or a scalar; None for an empty one)."""
    documents: list[Any] = []
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(file.text)
        builder = _Builder(loader, file.path)
        while loader.check_node():
            node = loader.get_node()
            documents.append(None if node is None else builder.build(node))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ParseFailure(file.path, line, f"not valid YAML: {problem}") from None
    except RecursionError:
        raise ParseFailure(file.path, 1, "YAML nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return documents


def load_one(file: WorkspaceFile) -> Any:
    """The first document of ``file`` (None when it has none)."""
    documents = load_documents(file)
    return documents[0] if documents else None


_ACTION = re.compile(r"\{\{-?.*?-?\}\}")
_ONLY_ACTIONS = re.compile(r"^\s*(\{\{-?.*?-?\}\}\s*)+$")
TEMPLATE_VALUE = "${TEMPLATE}"
"""What a Helm/Go template action becomes: a value lint knows not to judge."""


def untemplate(text: str) -> str:
    """Go-template actions (Helm's ``{{ ... }}``) made harmless for a YAML parser, lines
    kept: a line of actions only becomes blank, an action inside a line a placeholder."""
    if "{{" not in text:
        return text
    lines = []
    for line in text.split("\n"):
        if _ONLY_ACTIONS.match(line):
            lines.append("")
        else:
            lines.append(_ACTION.sub(TEMPLATE_VALUE, line))
    return "\n".join(lines)


def load_templated_documents(file: WorkspaceFile) -> list[Any]:
    """:func:`load_documents` of a file that may be a Helm template."""
    return load_documents(WorkspaceFile(file.path, file.kind, untemplate(file.text)))
