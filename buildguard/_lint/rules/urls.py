"""Lint rules: URL literals (BG-URL001, BG-URL002), read by :mod:`buildguard._lint.jsurls`."""

from __future__ import annotations

from collections.abc import Iterator

from buildguard._lint import webfacts
from buildguard._lint.rule import LintContext, Rule, finding
from buildguard._lint.urlshape import HOLE, loopback_host, path_of, repeated_segments
from buildguard._lint.workspace import Workspace
from buildguard._models.lintreport import LintFinding


def _check_repeated(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    for file in webfacts.script_files(workspace):
        seen: set[str] = set()
        for literal in webfacts.literals(workspace, file):
            text = literal.text(HOLE)
            run = repeated_segments(path_of(text))
            if run is None or text in seen:
                continue
            seen.add(text)
            twice = "/".join(run)
            how = (
                " (its parts joined, with the constants and env values this file and the "
                "project's env files give)"
                if literal.joined
                else ""
            )
            shown = literal.text("…")
            yield finding(
                URL001,
                file,
                literal.line,
                f"the URL `{shown}`{how} repeats the path segment(s) `{twice}/{twice}`: the "
                "server has no such route (a base URL that already ends with a segment joined "
                "to a path that starts with it)",
                f"drop one `{twice}`: keep it either in the base URL or in the path",
                column=literal.column,
            )


def _check_loopback(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    for file in webfacts.script_files(workspace):
        if file.kind != "bundle":
            continue
        seen: set[str] = set()
        for literal in webfacts.literals(workspace, file):
            host = loopback_host(literal)
            text = literal.text("…")
            if host is None or text in seen:
                continue
            seen.add(text)
            yield finding(
                URL002,
                file,
                literal.line,
                f"the built bundle calls `{text}`: `{host}` is the user's own machine, not "
                "your server (a development value that reached the production build)",
                "set the production API base (e.g. in .env.production) or use a relative URL",
                column=literal.column,
            )


URL001 = Rule(
    id="BG-URL001",
    severity="error",
    title="a URL with a repeated path segment (/api/v5/v5/…)",
    help="A base URL that already ends with a segment (`/api/v5`) joined to a path that "
    "starts with it (`/v5/sessions`) calls a route the server does not have. Keep the "
    "segment in one of the two.",
    check=_check_repeated,
)
URL002 = Rule(
    id="BG-URL002",
    severity="warning",
    title="a localhost, loopback or 0.0.0.0 URL in a built bundle",
    help="A bundle that calls localhost calls the visitor's own machine: a development "
    "fallback reached the production build. Set the production value or use a relative URL.",
    check=_check_loopback,
)

RULES: tuple[Rule, ...] = (URL001, URL002)
