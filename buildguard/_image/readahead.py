"""Read an image's layers a few at a time and hand them back in order.

Layers are applied bottom to top; :class:`LayerReads` keeps up to :data:`LAYERS_IN_FLIGHT`
reads running ahead of the one being applied, and starts the next read as soon as any read
ends (not only when its turn comes). Results that arrive early wait, as compact
:class:`~buildguard._image.layerindex.LayerIndex` objects, until their turn; a failed read
raises only when its layer's turn comes, so which error a broken image reports does not
depend on timing.

Reads start bottom first. Starting the largest blob first was measured
(``bench/bench_verify.py``, 1 GB image, 2 cores) and gained nothing: a verify is already
CPU-bound on both cores (the tar walk and HTTP reading hold the GIL; inflating and hashing
do not), so the order only moves which layer waits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from types import TracebackType

from buildguard._image.imageinfo import LayerMeta, Progress
from buildguard._image.layers import LayerResult
from buildguard._image.tarwalk import Want

LAYERS_IN_FLIGHT = 2
"""Layers read at once. Inflating one layer is the longest stage of its read, and it runs on
one core; reading another layer meanwhile keeps both cores busy (measured in
``bench/bench_verify.py``)."""

OpenLayer = Callable[[LayerMeta, Want], LayerResult]


def read_order(layers: Sequence[LayerMeta]) -> list[LayerMeta]:
    """Bottom first (see the module's note on trying the largest first)."""
    return sorted(layers, key=lambda layer: layer.index)


class LayerReads:
    """Reads ``layers`` in :func:`read_order` with up to ``in_flight`` running at once.

    :meth:`result` blocks until the named layer has been read; while it waits, every read
    that ends frees its slot for the next one in the order. Use as a context manager: leaving
    it cancels the reads not yet started and waits for the running ones.
    """

    def __init__(
        self,
        open_layer: OpenLayer,
        layers: Sequence[LayerMeta],
        want: Want,
        *,
        total: int,
        progress: Progress | None = None,
        in_flight: int = LAYERS_IN_FLIGHT,
    ) -> None:
        self._open_layer = open_layer
        self._queue = read_order(layers)
        self._want = want
        self._total = total
        self._progress = progress
        self._in_flight = in_flight
        self._reads: dict[int, Future[LayerResult]] = {}
        self._pool = ThreadPoolExecutor(
            max_workers=in_flight, thread_name_prefix="buildguard-layer"
        )

    def result(self, layer: LayerMeta) -> LayerResult:
        """The read of ``layer`` (one of the layers given), raising what the read raised."""
        while True:
            self._start_reads()
            read = self._reads.get(layer.index)
            if read is not None and read.done():
                del self._reads[layer.index]
                return read.result()
            running = [pending for pending in self._reads.values() if not pending.done()]
            if not running:
                raise ValueError(f"layer {layer.index} is not one of the layers to read")
            wait(running, return_when=FIRST_COMPLETED)

    def _start_reads(self) -> None:
        running = sum(not pending.done() for pending in self._reads.values())
        while self._queue and running < self._in_flight:
            layer = self._queue.pop(0)
            if self._progress is not None:
                self._progress(layer.index + 1, self._total, layer.digest, layer.size)
            self._reads[layer.index] = self._pool.submit(self._open_layer, layer, self._want)
            running += 1

    def close(self) -> None:
        self._queue.clear()
        for pending in self._reads.values():
            pending.cancel()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> LayerReads:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
