"""Reading container images without a Docker daemon: sources, verification, flattening.

Public entry points: :func:`open_image` (returns an :class:`Image`; ``Image.read(paths)``
gives a :class:`FlatImage` with verified metadata and a flattened :class:`FileTree` of
:class:`TreeEntry`).
"""

from buildguard._image.flatten import FileTree, TreeEntry
from buildguard._image.imageinfo import FlatImage, ImageMeta, LayerMeta
from buildguard._image.open import open_image
from buildguard._image.platformmatch import Platform
from buildguard._image.reader import Image

__all__ = [
    "FileTree",
    "FlatImage",
    "Image",
    "ImageMeta",
    "LayerMeta",
    "Platform",
    "TreeEntry",
    "open_image",
]
