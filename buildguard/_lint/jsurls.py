"""URL literals in JavaScript/TypeScript sources and built bundles, read with tree-sitter.

Every string literal, template literal and ``+`` concatenation is evaluated as far as one
file tells: a ``const`` declared once in the file is replaced by its value,
``import.meta.env.VITE_*`` and ``process.env.REACT_APP_*`` by the value the project's env
files give (:func:`env_values`), ``a || "b"`` / ``a ?? "b"`` by ``a`` where it is known and
by ``"b"`` where ``a`` is an env variable no env file sets. What stays unknown is a hole
(None) in :attr:`UrlLiteral.parts`; nothing is guessed.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath

import tree_sitter
import tree_sitter_javascript
import tree_sitter_typescript

Part = str | None
"""Known text, or None for a hole (a value this file does not tell)."""

MAX_DEPTH = 12
ENV_FILES = (".env.production.local", ".env.local", ".env.production", ".env")
"""Vite's and Create React App's files for a production build, strongest first."""

_ENV_PREFIXES = ("VITE_", "REACT_APP_", "NEXT_PUBLIC_")
_URLISH = re.compile(
    r"^(?:(?:https?|wss?)://[^/\s\"'<>`]+(?:[/?#][^\s\"'<>`]*)?|/[^\s\"'<>`]*)$", re.I
)


@dataclass(frozen=True)
class UrlLiteral:
    path: str
    line: int
    """1-based"""
    column: int
    """1-based"""
    parts: tuple[Part, ...]
    joined: bool
    """Whether it joins more than one literal (a template or ``+`` with substitutions)."""

    @property
    def known_prefix(self) -> str:
        """The text up to the first hole."""
        out = []
        for part in self.parts:
            if part is None:
                break
            out.append(part)
        return "".join(out)

    @property
    def complete(self) -> bool:
        return None not in self.parts

    def text(self, hole: str = "…") -> str:
        return "".join(hole if p is None else p for p in self.parts)


_PATTERNS = """
[(string) (template_string)] @string
(binary_expression operator: "+") @concat
(variable_declarator name: (identifier) @declared)
(lexical_declaration kind: "const" (variable_declarator name: (identifier) @const value: (_)))
(variable_declarator name: [(object_pattern) (array_pattern)] @pattern)
(formal_parameters) @pattern
(catch_clause parameter: (_) @pattern)
(arrow_function parameter: (identifier) @pattern)
(function_declaration name: (identifier) @pattern)
(generator_function_declaration name: (identifier) @pattern)
(function_expression name: (identifier) @pattern)
(class_declaration name: (_) @pattern)
(import_clause) @pattern
"""
"""What the reader looks for, found by tree-sitter's query engine (in C: a Python walk over
every node of a megabyte bundle costs seconds)."""


@cache
def _language(dialect: str) -> tree_sitter.Language:
    if dialect == "ts":
        return tree_sitter.Language(tree_sitter_typescript.language_typescript())
    if dialect == "tsx":
        return tree_sitter.Language(tree_sitter_typescript.language_tsx())
    return tree_sitter.Language(tree_sitter_javascript.language())


@cache
def _parser(dialect: str) -> tree_sitter.Parser:
    return tree_sitter.Parser(_language(dialect))


@cache
def _query(dialect: str) -> tree_sitter.Query:
    return tree_sitter.Query(_language(dialect), _PATTERNS)


def dialect_of(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    return {".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx"}.get(suffix, "js")


def parse_env(text: str) -> dict[str, str]:
    """A dotenv file's ``KEY=value`` lines (quotes removed, ``#`` comments skipped)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def env_values(files: Mapping[str, str]) -> dict[str, str]:
    """The values a production build sees, from ``{file name: text}`` of the env files
    beside the project's ``package.json`` (:data:`ENV_FILES`, the first that sets a key
    wins)."""
    values: dict[str, str] = {}
    for name in reversed(ENV_FILES):
        if name in files:
            values.update(parse_env(files[name]))
    return values


def url_literals(path: str, text: str, env: Mapping[str, str] | None = None) -> list[UrlLiteral]:
    """Every URL-looking value (a path from ``/``, or an http(s)/ws(s) URL) the file's
    literals evaluate to, outermost expressions only."""
    source = text.encode("utf-8", errors="replace")
    dialect = dialect_of(path)
    tree = _parser(dialect).parse(source)
    captures = tree_sitter.QueryCursor(_query(dialect)).captures(tree.root_node)
    reader = _Reader(source, env or {})
    reader.collect_bindings(
        captures.get("declared", []), captures.get("const", []), captures.get("pattern", [])
    )
    found: list[UrlLiteral] = []
    for node in _outermost(captures.get("string", []), captures.get("concat", [])):
        parts = reader.value(node, 0)
        if parts is None:
            continue
        merged = _merge(parts)
        literal = UrlLiteral(
            path=path,
            line=node.start_point[0] + 1,
            column=node.start_point[1] + 1,
            parts=merged,
            joined=node.type != "string",
        )
        # a URL, or an unknown base joined to a path (`${base}/v5/sessions`)
        based = len(merged) > 1 and merged[0] is None and (merged[1] or "").startswith("/")
        shown = "".join(p or "x" for p in merged[1:]) if based else literal.text("x")
        if _URLISH.match(shown):
            found.append(literal)
    return found


def _merge(parts: list[Part]) -> tuple[Part, ...]:
    out: list[Part] = []
    for part in parts:
        if part is not None and out and out[-1] is not None:
            out[-1] = out[-1] + part
        elif part != "":
            out.append(part)
    return tuple(out)


_STRINGISH = ("string", "template_string")


def _key(node: tree_sitter.Node) -> tuple[int, int, str]:
    return node.start_byte, node.end_byte, node.type


def _outermost(
    strings: list[tree_sitter.Node], concats: list[tree_sitter.Node]
) -> list[tree_sitter.Node]:
    """Strings, templates and ``+`` chains holding one, not inside such a chain, in the order
    of the file (by byte ranges: asking tree-sitter for a node's parent costs its depth)."""
    joins = sorted(
        (c for c in concats if _has_string(c)), key=lambda n: (n.start_byte, -n.end_byte)
    )
    spans: list[tree_sitter.Node] = []
    end = -1
    for join in joins:
        if join.start_byte >= end:
            spans.append(join)
            end = join.end_byte
    starts = [span.start_byte for span in spans]
    found = list(spans)
    for node in strings:
        i = bisect.bisect_right(starts, node.start_byte) - 1
        if i < 0 or node.end_byte > spans[i].end_byte:
            found.append(node)
    return sorted(found, key=lambda n: n.start_byte)


def _is_concat(node: tree_sitter.Node) -> bool:
    op = node.child_by_field_name("operator")
    return node.type == "binary_expression" and op is not None and op.type == "+"


def _has_string(node: tree_sitter.Node) -> bool:
    left = node.child_by_field_name("left")
    right = node.child_by_field_name("right")
    return any(
        n is not None and (n.type in _STRINGISH or (_is_concat(n) and _has_string(n)))
        for n in (left, right)
    )


class _Reader:
    def __init__(self, source: bytes, env: Mapping[str, str]) -> None:
        self.source = source
        self.env = env
        self.consts: dict[str, tree_sitter.Node] = {}
        self.bound: dict[str, int] = {}

    def _text(self, node: tree_sitter.Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")

    def collect_bindings(
        self,
        declared: list[tree_sitter.Node],
        consts: list[tree_sitter.Node],
        patterns: list[tree_sitter.Node],
    ) -> None:
        """Count every name bound anywhere in the file; a ``const`` bound once (and by
        nothing else: no parameter, function or other declaration of the same name) is the
        only kind resolved, so a minifier's reused short names are never mixed up."""
        for name in declared:
            key = self._text(name)
            self.bound[key] = self.bound.get(key, 0) + 1
        for name in consts:
            declarator = name.parent
            value = declarator.child_by_field_name("value") if declarator is not None else None
            key = self._text(name)
            if value is not None and self.bound.get(key) == 1:
                self.consts[key] = value
        for pattern in patterns:
            self._bind_all(pattern)

    def _bind_all(self, node: tree_sitter.Node) -> None:
        stack = [node]
        while stack:
            n = stack.pop()
            if n.type in ("identifier", "shorthand_property_identifier_pattern"):
                key = self._text(n)
                self.bound[key] = self.bound.get(key, 0) + 2
            stack += n.children

    def value(self, node: tree_sitter.Node, depth: int) -> list[Part] | None:
        """The parts of a string-valued expression; None where it is not one at all."""
        if depth > MAX_DEPTH:
            return [None]
        kind = node.type
        if kind == "string":
            return ["".join(self._text(c) for c in node.named_children if c.type != "comment")]
        if kind == "template_string":
            parts: list[Part] = []
            for child in node.named_children:
                if child.type == "template_substitution":
                    inner = child.named_children
                    got = self.value(inner[0], depth + 1) if inner else None
                    parts += got if got is not None else [None]
                else:
                    parts.append(self._text(child))
            return parts
        if kind == "parenthesized_expression" and node.named_children:
            return self.value(node.named_children[-1], depth + 1)
        if _is_concat(node):
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            if left is None or right is None:
                return [None]
            return (self.value(left, depth + 1) or [None]) + (
                self.value(right, depth + 1) or [None]
            )
        if kind == "identifier":
            name = self._text(node)
            target = self.consts.get(name)
            if target is None or self.bound.get(name) != 1:
                return None
            return self.value(target, depth + 1)
        if kind == "member_expression":
            env = self._env_name(node)
            if env is not None and env in self.env:
                return [self.env[env]]
            return None
        if kind == "binary_expression":
            op = node.child_by_field_name("operator")
            if op is not None and op.type in ("||", "??"):
                return self._fallback(node, depth)
        if kind in ("as_expression", "satisfies_expression", "non_null_expression"):
            inner = node.named_children
            return self.value(inner[0], depth + 1) if inner else None
        return None

    def _fallback(self, node: tree_sitter.Node, depth: int) -> list[Part] | None:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        if left is None or right is None:
            return None
        got = self.value(left, depth + 1)
        if got is not None and got != [""]:
            return got
        env = self._env_name(left) if left.type == "member_expression" else None
        if got == [""] or (env is not None and env not in self.env):
            return self.value(right, depth + 1)
        return [None]

    def _env_name(self, node: tree_sitter.Node) -> str | None:
        """``X`` of ``import.meta.env.X`` / ``process.env.X`` (public prefixes only)."""
        prop = node.child_by_field_name("property")
        obj = node.child_by_field_name("object")
        if prop is None or obj is None:
            return None
        name = self._text(prop)
        if not name.startswith(_ENV_PREFIXES):
            return None
        holder = self._text(obj).replace(" ", "")
        return name if holder in ("import.meta.env", "process.env") else None
