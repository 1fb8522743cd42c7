"""Media types of bundle files: from the extension, else sniffed by libmagic (informational).

The table is ours, not ``mimetypes``: that module reads the machine's ``/etc/mime.types``
and its built-in defaults change between Python versions, and a manifest must not depend on
where it was sealed. libmagic (python-magic) is loaded only for a file whose extension the
table does not know, and sees the first 4 KiB read while hashing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

EMPTY = "inode/x-empty"
SYMLINK = "inode/symlink"

BY_EXTENSION: dict[str, str] = {
    # code and markup
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "application/xhtml+xml",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    # images
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".apng": "image/apng",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    # fonts
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
    # media and documents
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".aac": "audio/aac",
    ".pdf": "application/pdf",
    # precompressed and archives
    ".gz": "application/gzip",
    ".br": "application/x-brotli",
    ".zst": "application/zstd",
    ".zip": "application/zip",
}


def from_name(name: str) -> str | None:
    """The media type the file name's last extension gives, or None."""
    base = name.rpartition("/")[2]
    dot = base.rfind(".")
    if dot <= 0:  # no extension, or a dotfile such as .htaccess
        return None
    return BY_EXTENSION.get(base[dot:].lower())


@lru_cache(maxsize=1)
def _magic() -> Any:
    import magic  # python-magic; loads libmagic and its database once per process

    return magic.Magic(mime=True)


def sniff(head: bytes) -> str | None:
    """The media type libmagic sees in the first bytes of a file."""
    if not head:
        return EMPTY
    try:
        result = _magic().from_buffer(head)
    except Exception:  # libmagic can fail on odd input; the type is informational only
        return None
    return str(result) if result else None


def media_type(name: str, head: bytes) -> str | None:
    """Extension first; libmagic only when the extension says nothing."""
    return from_name(name) or sniff(head)
