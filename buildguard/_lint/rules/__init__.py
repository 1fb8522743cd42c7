"""Every lint rule, one family per module; ``ALL_RULES`` in a fixed order (ids unique)."""

from __future__ import annotations

from buildguard._lint.rule import Rule
from buildguard._lint.rules import dockerfile, ignore, ingress, kubernetes, nginx, pipeline, urls

ALL_RULES: tuple[Rule, ...] = (
    *dockerfile.RULES,
    *pipeline.RULES,
    *ignore.RULES,
    *kubernetes.RULES,
    *nginx.RULES,
    *ingress.RULES,
    *urls.RULES,
)
