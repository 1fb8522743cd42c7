"""Which reading rules a cached layer index was made under.

A cached index answers for its layer only as long as the code that made it would make the
same index today: the tar walker (Go's rules and our refusals), the header fields, the
compression sniffing and the index's columns and encoding. Instead of a version number that
someone must remember to bump, the cache keys its entries by a fingerprint of those modules'
source, so any change to them (a tightened rule, a new refusal) starts a fresh cache and an
index made under laxer rules is never used.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

RULE_MODULES = (
    "decompress",
    "indexcodec",
    "layerindex",
    "layers",
    "tarfields",
    "tarsparse",
    "tarwalk",
)
"""The modules of :mod:`buildguard._image` whose code decides what an index holds."""


@functools.cache
def reading_rules() -> str:
    """The fingerprint of this buildguard's reading rules (16 hex digits)."""
    return rules_fingerprint(Path(__file__).parent)


def rules_fingerprint(folder: Path) -> str:
    """A short fingerprint of the source of :data:`RULE_MODULES` in ``folder``."""
    fingerprint = hashlib.sha256()
    for name in RULE_MODULES:
        fingerprint.update(name.encode() + b"\0")
        try:
            fingerprint.update((folder / f"{name}.py").read_bytes())
        except OSError:  # no source shipped (a frozen build): key by the version instead
            from buildguard import __version__

            fingerprint.update(f"buildguard {__version__}".encode())
        fingerprint.update(b"\0")
    return fingerprint.hexdigest()[:16]
