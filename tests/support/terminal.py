"""Status lines on the terminal, outside pytest's output capture: services started, figures
measured (install sizes, image sizes)."""

from __future__ import annotations

import contextlib

import pytest


def report(config: pytest.Config, message: str, *, tag: str = "services") -> None:
    """Print ``[tag] message`` as its own line, even while output is captured."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    ctx = capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext()
    with ctx:
        reporter.ensure_newline()
        reporter.write_line(f"[{tag}] {message}")
