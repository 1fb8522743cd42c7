"""nginx configurations read with crossplane, and what nginx does with them.

crossplane (NGINX Inc's parser) turns a file into directives; this module adds what the lint
rules need on top: the context a ``conf.d`` snippet is written for (a file whose top level is a
``server`` or a ``location`` is valid, checked in the context it is included into), ``include``
resolved inside the repository, envsubst templates (``${VAR}`` in a ``*.template`` file is a
value filled at start-up, not an nginx variable). Which ``location`` answers a URI is
:mod:`.nginxlocations`; which hosts it proxies to, and when they are resolved,
:mod:`.nginxhosts`.
"""

from __future__ import annotations

import difflib
import glob
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import crossplane
from crossplane.analyzer import DIRECTIVES, analyze, enter_block_ctx
from crossplane.errors import NgxParserBaseException
from crossplane.lexer import lex

from buildguard._lint.errors import ParseFailure

TEMPLATE_SUFFIXES = (".template", ".tpl")
TEMPLATE_VALUE = "\x00"
"""Stands in a value for what envsubst fills at start-up (a ``${VAR}`` of a template)."""

_ENVSUBST = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Z_][A-Z0-9_]*)\b")
_HTTP_ONLY = frozenset({"server", "upstream", "map", "geo", "split_clients", "limit_req_zone"})
_MAX_INCLUDE_DEPTH = 8


@dataclass(frozen=True)
class Directive:
    name: str
    args: tuple[str, ...]
    line: int
    path: str
    """The file it is written in (relative to the lint root)."""
    block: tuple[Directive, ...] | None = None

    def children(self, name: str) -> Iterator[Directive]:
        for d in self.block or ():
            if d.name == name:
                yield d

    def first(self, name: str) -> Directive | None:
        return next(self.children(name), None)


@dataclass(frozen=True)
class NginxConfig:
    path: str
    context: tuple[str, ...]
    """What the file's top level is written for: () main, ("http",), ("http", "server")."""
    directives: tuple[Directive, ...]
    template: bool

    def walk(self) -> Iterator[tuple[Directive, tuple[Directive, ...]]]:
        """Every directive with its enclosing blocks (outermost first), includes inlined."""
        stack: list[tuple[Directive, tuple[Directive, ...]]] = [
            (d, ()) for d in reversed(self.directives)
        ]
        while stack:
            d, parents = stack.pop()
            yield d, parents
            inner = (*parents, d)
            stack += [(c, inner) for c in reversed(d.block or ())]

    def servers(self) -> list[Directive]:
        """``server`` blocks of the http context (a location-level snippet is one server)."""
        if self.context == ("http", "server"):
            return [Directive("server", (), 1, self.path, self.directives)]
        return [
            d
            for d, parents in self.walk()
            if d.name == "server" and all(p.name == "http" for p in parents)
        ]

    def upstream_names(self) -> set[str]:
        return {d.args[0] for d, _ in self.walk() if d.name == "upstream" and d.args}


def is_template(path: str) -> bool:
    return path.lower().endswith(TEMPLATE_SUFFIXES)


def template_values(text: str) -> str:
    """A template's ``${VAR}``s (and ``$UPPER``s) as :data:`TEMPLATE_VALUE` markers."""
    return _ENVSUBST.sub(TEMPLATE_VALUE, text)


def read_config(root: Path, rel: str) -> NginxConfig:
    """Parse ``root/rel`` (and what it includes from inside ``root``).

    Raises :class:`ParseFailure` for what nginx would refuse: a syntax error, a directive in
    a context it is not allowed in, a wrong count of arguments.
    """
    payload = _crossplane(root, rel)
    top = [_to_directive(s, rel) for s in payload]
    context = _context_of(top)
    template = is_template(rel)
    directives = tuple(_expand(root, rel, top, context, template, 0))
    return NginxConfig(rel, context, directives, template)


def _crossplane(root: Path, rel: str) -> list[dict[str, Any]]:
    file = root / rel
    try:
        result: dict[str, Any] = crossplane.parse(
            str(file), comments=True, single=True, check_ctx=False, check_args=False
        )
    except (NgxParserBaseException, OSError, StopIteration, ValueError) as e:  # pragma: no cover
        raise ParseFailure(rel, getattr(e, "lineno", None) or 1, str(e)) from e
    config = result["config"][0]
    if config["errors"]:
        error = config["errors"][0]
        message = str(error.get("error", "cannot be parsed"))
        # crossplane names the file absolutely in its messages; we name it relatively
        message = message.replace(f" in {file}:{error.get('line')}", "")
        raise ParseFailure(rel, int(error.get("line") or 1), message)
    _check_terminators(file, rel)
    parsed: list[dict[str, Any]] = config["parsed"]
    return parsed


def _check_terminators(file: Path, rel: str) -> None:
    """A directive ended by ``}`` instead of ``;`` (nginx refuses it; crossplane checks it
    only for directives of a context it knows, and a snippet's top level is not one)."""
    directive: tuple[str, int] | None = None
    for token, line, quoted in lex(str(file)):
        if not quoted and token in ("{", ";"):
            directive = None
        elif not quoted and token == "}":
            if directive is not None:
                name, at = directive
                raise ParseFailure(rel, at, f'directive "{name}" is not terminated by ";"')
        elif directive is None and not (token.startswith("#") and not quoted):
            directive = (token, line)


def _to_directive(stmt: dict[str, Any], path: str) -> Directive:
    block = stmt.get("block")
    return Directive(
        name=str(stmt["directive"]),
        args=tuple(str(a) for a in stmt.get("args", ())),
        line=int(stmt.get("line", 1)),
        path=path,
        block=None
        if block is None
        else tuple(_to_directive(s, path) for s in block if s["directive"] != "#"),
    )


def _context_of(top: list[Directive]) -> tuple[str, ...]:
    names = {d.name for d in top}
    if names & {"http", "events", "stream", "worker_processes", "user", "load_module"}:
        return ()
    if "location" in names:
        return ("http", "server")
    if names & _HTTP_ONLY:
        return ("http",)
    return ()


def _expand(
    root: Path,
    rel: str,
    directives: list[Directive] | tuple[Directive, ...],
    ctx: tuple[str, ...],
    template: bool,
    depth: int,
) -> Iterator[Directive]:
    """Check each directive in its context and replace ``include`` by what it names."""
    for d in directives:
        if d.name == "#":
            continue
        _check(d, ctx, rel)
        if d.name == "include" and d.args and depth < _MAX_INCLUDE_DEPTH:
            for inc in _include_targets(root, rel, d.args[0]):
                yield from _expand(root, inc, _read_included(root, inc), ctx, template, depth + 1)
            continue
        if d.block is None:
            yield d
            continue
        inner = enter_block_ctx({"directive": d.name, "args": list(d.args)}, ctx)
        block = tuple(_expand(root, rel, d.block, inner, template, depth))
        yield Directive(d.name, d.args, d.line, d.path, block)


def _check(d: Directive, ctx: tuple[str, ...], rel: str) -> None:
    """The directive in its context (crossplane's analyzer; the arguments were checked by
    the parse), and a misspelt directive name (nginx refuses an unknown directive; one that
    is not a typo of a known one may be a third-party module's and is left alone)."""
    stmt = {"directive": d.name, "line": d.line, "args": list(d.args)}
    try:
        analyze(rel, stmt, "{" if d.block is not None else ";", ctx=ctx, check_args=False)
    except NgxParserBaseException as e:
        raise ParseFailure(rel, d.line, str(e.strerror)) from e
    if d.name not in DIRECTIVES:
        typo = _typo_of(d.name)
        if typo is not None:
            raise ParseFailure(
                rel, d.line, f'unknown directive "{d.name}" (is it "{typo}"?): nginx refuses it'
            )


def _typo_of(name: str) -> str | None:
    if len(name) < 5 or TEMPLATE_VALUE in name or "$" in name:
        return None
    for known in difflib.get_close_matches(name, DIRECTIVES, n=3, cutoff=0.8):
        if _distance(name, known) <= 2:
            return str(known)
    return None


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (short strings only)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def _read_included(root: Path, rel: str) -> list[Directive]:
    return [_to_directive(s, rel) for s in _crossplane(root, rel)]


def _include_targets(root: Path, rel: str, pattern: str) -> list[str]:
    """Files an ``include`` names, found inside the lint root: a relative pattern beside the
    including file or at the root; an absolute one (``/etc/nginx/conf.d/*.conf``) by its tail
    (``conf.d/*.conf``, then the file name) beside the including file or at the root. A file
    that is not in the repository (``mime.types`` of the image) is left out."""
    here = PurePosixPath(rel).parent
    pattern_path = PurePosixPath(pattern)
    tails = [pattern_path]
    if pattern_path.is_absolute():
        parts = pattern_path.parts[1:]
        tails = [PurePosixPath(*parts[i:]) for i in range(max(len(parts) - 2, 0), len(parts))]
    resolved_root = root.resolve()
    for tail in tails:
        for base in (here, PurePosixPath(".")):
            found = sorted(glob.glob(str(root / base / tail)))
            inside = [
                f
                for f in found
                if os.path.isfile(f) and Path(f).resolve().is_relative_to(resolved_root)
            ]
            if inside:
                return [Path(f).resolve().relative_to(resolved_root).as_posix() for f in inside]
    return []
