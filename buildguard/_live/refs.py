"""What a served file references: the entry page's assets, and the chunks a JS file imports.

Both scanners are fed the decoded body chunk by chunk (memory stays bounded):

- :class:`HtmlRefs` (stdlib ``html.parser``, incremental): ``<script src>``, ``<link href>``
  with ``rel`` stylesheet, modulepreload, preload, prefetch, icon (and its variants) or
  manifest, and ``<base href>``, which browsers resolve every reference against.
- :class:`TokenScanner`: URL-like tokens in JS, CSS and web manifests (``import("./x.js")``,
  Vite's ``__vite__mapDeps(["assets/x.js", …])``, ``url(./font.woff2)``). A token counts only
  when its last segment is a file name the bundle's manifest lists; the caller resolves it
  and keeps it only when the manifest lists the resolved path.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote_to_bytes

from buildguard._internal.pathescape import decode_name, escape

LINK_RELS = frozenset(
    {
        "stylesheet",
        "modulepreload",
        "preload",
        "prefetch",
        "icon",
        "apple-touch-icon",
        "apple-touch-icon-precomposed",
        "mask-icon",
        "manifest",
    }
)
SCANNED_SUFFIXES = (".js", ".mjs", ".cjs", ".css", ".webmanifest")
MODULE_SUFFIXES = (b".js", b".mjs", b".cjs", b".css")
MAX_TOKEN = 2048
MAX_TOKENS = 20_000

_TOKEN = re.compile(rb"[A-Za-z0-9_\-./~%@+:\x80-\xff]+")


@dataclass(frozen=True)
class PageRef:
    value: str
    """The attribute value as the page has it (entities decoded)."""
    what: str
    """E.g. ``script src``, ``link rel=stylesheet``."""


class HtmlRefs(HTMLParser):
    """Collects the asset references of an HTML page fed in chunks of bytes (UTF-8)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.references: list[PageRef] = []
        self.base_href: str | None = None

    def feed_bytes(self, chunk: bytes) -> None:
        self.feed(self._text.decode(chunk))

    def finish(self) -> None:
        self.feed(self._text.decode(b"", final=True))
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v for k, v in attrs if v is not None}
        if tag == "script" and values.get("src"):
            self.references.append(PageRef(values["src"], "script src"))
        elif tag == "link" and values.get("href"):
            rels = {r.lower() for r in values.get("rel", "").split()}
            wanted = sorted(rels & LINK_RELS)
            if wanted:
                self.references.append(PageRef(values["href"], f"link rel={' '.join(wanted)}"))
        elif tag == "base" and values.get("href") and self.base_href is None:
            self.base_href = values["href"]

    handle_startendtag = handle_starttag


def file_key(name: str) -> str:
    """A URL path segment (percent-encoded or not) in the escaped form manifests use."""
    return escape(decode_name(unquote_to_bytes(name)))


class TokenScanner:
    """URL-like tokens whose last segment is one of ``names`` (escaped manifest basenames).

    With ``foreign=True`` (a file exempt from the digest check) also the relative module
    specifiers (``./x.js``, ``../x.css``) whose file name is not one of ``names``: what the
    file would load that this build does not have.
    """

    def __init__(self, names: frozenset[str], *, foreign: bool = False) -> None:
        self._names = names
        self._foreign = foreign
        self._carry = b""
        self.tokens: dict[str, None] = {}
        self.foreign: dict[str, None] = {}

    def _take(self, token: bytes) -> None:
        if len(token) > MAX_TOKEN or len(self.tokens) >= MAX_TOKENS or b"." not in token:
            return
        last = token.rsplit(b"/", 1)[-1]
        text = last.decode("utf-8", "replace")
        if file_key(text) in self._names:
            self.tokens[token.decode("utf-8", "replace")] = None
        elif (
            self._foreign
            and token.startswith((b"./", b"../"))
            and token.lower().endswith(MODULE_SUFFIXES)
            and len(self.foreign) < MAX_TOKENS
        ):
            self.foreign[token.decode("utf-8", "replace")] = None

    def feed(self, chunk: bytes) -> None:
        window = self._carry + chunk
        self._carry = b""
        end = len(window)
        for match in _TOKEN.finditer(window):
            if match.end() == end:
                # may go on in the next chunk
                if end - match.start() <= MAX_TOKEN:
                    self._carry = window[match.start() :]
                break
            self._take(match.group())

    def finish(self) -> None:
        if self._carry:
            self._take(self._carry)
            self._carry = b""


def scanned(path: str) -> bool:
    """Whether a bundle file's references are followed (JS, CSS, web manifests)."""
    return path.lower().endswith(SCANNED_SUFFIXES)
