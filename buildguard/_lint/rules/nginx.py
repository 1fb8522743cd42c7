"""Lint rules: nginx (filled in by its owner; see LINT_API.md)."""

from __future__ import annotations

from buildguard._lint.rule import Rule

RULES: tuple[Rule, ...] = ()
